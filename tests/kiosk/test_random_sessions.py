"""Random citizens: any input, in any state, at any time, with the card pulled and
time passing at random. The machine never breaks its table, never hangs, never
leaves an intent open once a card is back, and the card and ledger agree."""

from __future__ import annotations

import random

import pytest

from cardlib.layout import Ins
from kiosk.journeys.citizen_states import State
from tests.kiosk.conftest import Kiosk, core_errors

SERVICES = ("balance", "history", "bike_enable", "water_bill", "top_up", "change_pin", "nope")


def _noise(k: Kiosk, rng: random.Random, pin: str) -> None:
    """Any input at all, whatever the screen shows."""
    m = k.m
    choice = rng.randrange(16)
    if choice == 0:
        k.world.remove()
    elif choice == 1:
        for d in pin if rng.random() < 0.9 else "000000":
            m.pin_digit(int(d))
        m.pin_submit()
    elif choice == 2:
        m.choose_service(rng.choice(SERVICES))
    elif choice == 3:
        m.set_field("account", rng.choice(("1000003", "42", "")))
        m.set_field("amount", rng.choice(("10", "20.5", "x", "1000")))
    elif choice == 4:
        m.submit_form()
    elif choice == 5:
        m.confirm()
    elif choice == 6:
        m.back()
    elif choice == 7:
        m.cancel()
    elif choice == 8:
        m.finish()
    elif choice == 9:
        m.more_time()
    elif choice == 10:
        m.set_language(rng.choice(("zh-Hans", "zh-Hant", "en")))
        m.set_elder_mode(rng.random() < 0.5)
    elif choice == 11:
        k.clock.advance(rng.choice((5, 15, 35, 100)))
    elif choice == 12:
        m.continue_without_receipt()
    elif choice == 13 and k.world.printer_sim is not None:
        from simulators.printer.interpreter import PaperState

        k.world.printer_sim.set_faults(paper=rng.choice((PaperState.OUT, PaperState.ADEQUATE)))
    elif choice == 14:
        k.world.card_reader.arm_pull(rng.choice((Ins.DEBIT_FOR_PURCHASE, Ins.CREDIT_FOR_LOAD)),
                                     after=rng.random() < 0.5)  # fmt: skip
    else:
        for d in "123456":
            m.pin_digit(int(d))
        m.submit_form()


def _sensible(k: Kiosk, rng: random.Random, pin: str) -> None:
    """What a citizen would most likely do on this screen."""
    m, s = k.m, k.m.state
    if s is State.PIN_ENTRY:
        for d in pin:
            m.pin_digit(int(d))
        m.pin_submit()
    elif s is State.MENU:
        m.choose_service(rng.choice(SERVICES[:-1]))
    elif s is State.FORM:
        form = m.screen().form
        names = [f.name for f in form.fields] if form else []
        if "account" in names:
            m.set_field("account", "1000003")
        if "amount" in names:
            m.set_field("amount", rng.choice(("10", "20")))
        if "old_pin" in names:
            for name, digits in (("old_pin", pin), ("new_pin", pin), ("new_pin_again", pin)):
                m.focus_field(name)
                for d in digits:
                    m.pin_digit(int(d))
        m.submit_form()
    elif s is State.CONFIRM:
        m.confirm()
    elif s is State.NO_PAPER:
        m.continue_without_receipt() if rng.random() < 0.7 else m.back()
    elif s in (State.DONE, State.INFO):
        m.back() if rng.random() < 0.7 else m.finish()
    elif s in (State.TAKE_CARD, State.CARD_REFUSED):
        k.world.remove()
    else:
        k.clock.advance(1)


def _step(k: Kiosk, rng: random.Random, citizen: int) -> None:
    pin = k.world.citizen(citizen).pin
    if not k.world.card_reader.present:
        if rng.random() < 0.8:
            k.world.insert(k.world.citizen(citizen).asn)
        else:
            k.clock.advance(rng.choice((1, 10, 40)))
    elif rng.random() < 0.3:
        _noise(k, rng, pin)
    else:
        _sensible(k, rng, pin)
    # Sometimes inputs pile up before the core runs: a fast finger, a slow card.
    if rng.random() < 0.8:
        k.settle()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sessions(kiosk: Kiosk, seed: int) -> None:
    k = kiosk
    rng = random.Random(seed)
    citizen = 3  # the largest balance; PIN blocks happen too, and are refused cleanly
    for _ in range(250):
        _step(k, rng, citizen)
        if k.world.card_reader.present is False and k.state is not State.ATTRACT:
            k.settle()
            # A card that left without the kiosk noticing cannot be: the event was posted.
            assert k.state in (State.ATTRACT, State.OUT_OF_SERVICE), k.state
    k.settle()
    if k.world.card_reader.present:
        k.world.remove()
        k.settle()
    assert k.state is State.ATTRACT
    assert core_errors(k.world) == []
    assert k.world.outbox.status().head_seq > 0  # money did move in this walk
    k.world.card_reader._pull = None
    k.insert(citizen)  # the card back once more: whatever was torn is settled now
    assert k.world.outbox.status().open_intents == 0
    k.world.remove()
    k.settle()
    assert k.world.sync().ok
    c = k.world.citizen(citizen)
    ledger = k.world.ledger_balances().get(f"card:{c.asn}", 0)
    # The central's shadow purse is what the card holds, its opening balance included.
    assert k.world.card_balance(c.asn) == ledger
