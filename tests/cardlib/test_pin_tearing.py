"""The PIN and PUK try counters against power cuts.

The card spends a try (committed to EEPROM) before it compares, and restores it on
success. So a tear before the decrement is committed comes before the comparison
(nothing learnt: a right and a wrong secret tear at the same point), and a tear after
it leaves the try spent: an attacker who cuts the power after every guess is still
blocked after 3 PIN (10 PUK) guesses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from cardlib.errors import CardRemovedError, InvalidPinError, PinBlockedError
from cardlib.identity import PIN_TRIES, PUK_TRIES, Identity
from tests.cardlib.rig import PIN, Rig

PUK = "12345678"  # make_card's default, TEST ONLY
NEW_PIN = "246810"


@dataclass(frozen=True)
class Command:
    """One PIN command presenting a secret (right or wrong) through cardlib."""

    name: str
    secret: str  # the reference it presents: "pin" or "puk"
    right: str
    wrong: str
    max_tries: int
    run: Callable[[Identity, str], None]

    def tries(self, rig: Rig) -> int:
        return int(rig.card.eeprom[f"{self.secret}_tries"])


COMMANDS = {
    c.name: c
    for c in (
        Command("verify", "pin", PIN, "000000", PIN_TRIES, lambda i, s: i.verify_pin(s)),
        Command(
            "change-reference-data", "pin", PIN, "000000", PIN_TRIES,
            lambda i, s: i.change_pin(s, NEW_PIN),
        ),
        Command(
            "reset-retry-counter", "puk", PUK, "00000000", PUK_TRIES,
            lambda i, s: i.unblock_pin(s, NEW_PIN),
        ),
    )
}  # fmt: skip


def _identity(rig: Rig) -> Identity:
    return Identity.of(rig.insert(pin=None))


def _points(command: Command, secret: str) -> list[str]:
    """The write points one run of ``command`` passes, found by running it once."""
    rig = Rig()
    ident = _identity(rig)
    rig.card.eeprom.points_seen.clear()
    with contextlib.suppress(InvalidPinError):
        command.run(ident, secret)
    return list(rig.card.eeprom.points_seen)


def _atomic(label: str, *fields: str) -> list[str]:
    """The write points of one journalled write (simulators.eeprom)."""
    return [
        *(f"{label}:journal:{f}" for f in fields),
        f"{label}:commit",
        *(f"{label}:apply:{f}" for f in fields),
        f"{label}:clear",
    ]


def _try_points(secret: str) -> list[str]:
    return _atomic(f"{secret}-try", f"{secret}_tries")


def test_write_points_are_enumerated_and_the_try_comes_first() -> None:
    """The first write of every presentation, right or wrong, is the spent try."""
    pin_try, puk_try = _try_points("pin"), _try_points("puk")
    assert _points(COMMANDS["verify"], "000000") == pin_try
    assert _points(COMMANDS["verify"], PIN) == [
        *pin_try,
        *_atomic("pin-restore", "pin_tries"),
    ]
    assert _points(COMMANDS["change-reference-data"], PIN) == [
        *pin_try,
        *_atomic("change-pin", "pin", "pin_tries"),
    ]
    assert _points(COMMANDS["reset-retry-counter"], PUK) == [
        *puk_try,
        *_atomic("reset-retry-counter", "pin", "pin_tries", "puk_tries"),
    ]
    for command in COMMANDS.values():
        wrong = _points(command, command.wrong)
        assert wrong == _try_points(command.secret)
        assert _points(command, command.right)[: len(wrong)] == wrong


@pytest.mark.parametrize("right", [True, False], ids=["right", "wrong"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_torn_at_every_write_point(name: str, right: bool) -> None:
    command = COMMANDS[name]
    secret = command.right if right else command.wrong
    points = _points(command, secret)
    assert points, "the command passed no write point"
    try_commit = points.index(f"{command.secret}-try:commit")
    for n, point in enumerate(points):
        rig = Rig()
        ident = _identity(rig)
        before = rig.card.eeprom.snapshot()
        rig.card.eeprom.arm_tear(point.__eq__)
        with pytest.raises(CardRemovedError):
            command.run(ident, secret)
        ident = _identity(rig)  # power-up settles the journal
        state = rig.card.eeprom
        if n <= try_commit:  # torn before the try was spent: before the comparison too
            assert state.snapshot() == before, point
            continue
        last_commit = max(i for i, p in enumerate(points) if p.endswith(":commit"))
        if not right or n <= last_commit:  # the try is spent, nothing else changed
            assert command.tries(rig) == command.max_tries - 1, point
            assert state["pin"] == before["pin"], point
            continue
        # Committed success: counters restored (and the new PIN set, if any).
        assert command.tries(rig) == command.max_tries, point
        if name == "verify":
            assert state.snapshot() == before, point
        else:
            assert state["pin"] != before["pin"] and int(state["pin_tries"]) == PIN_TRIES, point
        # The card goes on working with the PIN it now holds.
        ident.verify_pin(PIN if name == "verify" else NEW_PIN)


def _strategies(command: Command) -> list[int | None]:
    """Cut power at each write point of a wrong guess, or never."""
    return [*range(len(_points(command, command.wrong))), None]


@pytest.mark.parametrize(
    ("name", "tear_at"),
    [(name, k) for name, c in COMMANDS.items() for k in _strategies(c)],
)
def test_torn_brute_force_ends_blocked(name: str, tear_at: int | None) -> None:
    """An attacker cuts power at a fixed write point of every guess; the right secret
    comes after more wrong guesses than the card allows."""
    command = COMMANDS[name]
    n_wrong = command.max_tries + 2
    width = len(command.right)
    guesses = [f"{9 - (i % 10)}{i:0{width - 1}d}" for i in range(n_wrong)] + [command.right]
    assert command.right not in guesses[:-1]
    rig = Rig()
    ident = _identity(rig)
    seen: list[str] = []
    for guess in guesses:
        if tear_at is not None:
            rig.card.eeprom.arm_tear_at(tear_at)
        try:
            command.run(ident, guess)
            seen.append("9000")
        except InvalidPinError as exc:
            seen.append(f"63C{exc.tries_left}")
        except PinBlockedError:
            seen.append("6983")
        except CardRemovedError:
            seen.append(f"torn at {rig.card.eeprom.points_seen[-1]}")
            ident = _identity(rig)
        finally:
            rig.card.eeprom.arm_tear(None)
    assert "9000" not in seen, seen
    committed = tear_at is None or tear_at > _try_points(command.secret).index(
        f"{command.secret}-try:commit"
    )
    if committed:
        assert command.tries(rig) == 0
        assert seen[command.max_tries :] == ["6983"] * (len(guesses) - command.max_tries), seen
    else:
        # Every guess, the right one too, tore at the same point before any comparison.
        assert len(set(seen)) == 1, seen
        assert command.tries(rig) == command.max_tries
