"""A citizen's session acted out on the real widgets, with a screenshot per screen.

The offscreen demo, the docs' screenshots and the UI tests all walk the kiosk
this way: taps on the buttons a person would touch, the PIN typed on the pad,
the card put in and taken out through :class:`Devices` (given by the composition
root: simulated readers in the demo and tests, never anything in here).

:class:`HumanTime` models how long a person takes (2 s per tap, key press or card
in or out, 0.25 s per character of text on each screen, read once when it
appears): :meth:`ScriptedCitizen.first_time_bill` is a first-time citizen paying
a bill, held to two minutes (docs/ui.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the harness imports Kivy: tests name the bills before it starts
    from terminal_ui.harness import Driver

__all__ = [
    "CHAR_S",
    "FIRST_TIME_BILLS",
    "FIRST_TIME_LIMIT_S",
    "TAP_S",
    "Devices",
    "HumanTime",
    "ScriptedCitizen",
    "screen_chars",
    "screen_texts",
]

TAP_S = 2.0  # a tap, a key press, a card put in or taken out
CHAR_S = 0.25  # reading one character of a screen's text
FIRST_TIME_LIMIT_S = 120.0  # a first-time citizen pays a bill in two minutes (issue 14)

# (language, demo citizen, bill, account) of the first-time citizens the bench and
# the tests script: one per language, each paying their own household's bill, so
# the optional account field is left empty ("" types nothing; the confirm screen
# shows the account the kiosk found). Bills the journeys' tests (same world) leave.
FIRST_TIME_BILLS = (("zh-Hans", "3", "water_bill", ""),
                    ("zh-Hant", "5", "gas_bill", ""),
                    ("en", "1", "gas_bill", ""))  # fmt: skip

_MARKUP = re.compile(r"\[/?[a-z_]+(=[^\]]*)?\]")


def _shown(widget: Any) -> bool:
    """Drawn: neither it nor any parent faded out, and not collapsed to no size."""
    w = widget
    while w is not None:
        if getattr(w, "opacity", 1) <= 0:
            return False
        w = w.parent if w.parent is not w else None
    return bool(widget.width > 0 and widget.height > 0)


def _plain(text: str) -> str:
    plain = _MARKUP.sub("", text)
    plain = plain.replace("&bl;", "[").replace("&br;", "]").replace("&amp;", "&")
    return "".join(ch for ch in plain if not ch.isspace())


def screen_texts(driver: Driver) -> list[tuple[int, str]]:
    """Every text drawn in the window now, as (widget id, text without markup and
    spaces): the current screen's labels and buttons, the language bar, the notice
    banner and the timeout banner when they show (a widget faded out, or whose
    parent is, or collapsed to no size, is not drawn)."""
    screens = driver.kiosk.screen_manager
    out: list[tuple[int, str]] = []
    for w in driver.kiosk.walk(restrict=True):
        text = getattr(w, "text", None)
        if not isinstance(text, str) or not text or not _shown(w):
            continue
        if _inside(w, screens) and not _inside(w, screens.current_screen):
            continue  # a screen sliding out, or built and not current
        plain = _plain(text)
        if plain:
            out.append((id(w), plain))
    return out


def _inside(widget: Any, ancestor: Any) -> bool:
    w = widget
    while w is not None:
        if w is ancestor:
            return True
        w = w.parent if w.parent is not w else None
    return False


def screen_chars(driver: Driver, seen: set[tuple[int, str]] | None = None) -> int:
    """Characters a person reads on the screen now (:func:`screen_texts`); with
    ``seen``, a text already read on the same widget (the language bar on every
    screen) is not read again, and what is read now is added to it."""
    total = 0
    for key in screen_texts(driver):
        if seen is not None:
            if key in seen:
                continue
            seen.add(key)
        total += len(key[1])
    return total


@dataclass
class HumanTime:
    """A person's modelled time: taps (and card moves) and characters read."""

    taps: int = 0
    chars: int = 0
    screens: list[tuple[str, int]] = field(default_factory=list)  # (screen, characters)
    seen: set[tuple[int, str]] = field(default_factory=set)  # (widget, text) read already

    @property
    def seconds(self) -> float:
        return self.taps * TAP_S + self.chars * CHAR_S


@dataclass(frozen=True)
class Devices:
    """What the script needs from the world outside the screen."""

    insert: Callable[[str], None]  # put this demo citizen's card in the reader
    remove: Callable[[], None]  # take the card out
    pin_of: Callable[[str], str]  # the citizen's TEST ONLY PIN (typed on the pad)


@dataclass
class ScriptedCitizen:
    """Walks ``driver`` through a session; ``shots`` (if set) gets ``NN-name.png``."""

    driver: Driver
    devices: Devices
    shots: Path | None = None
    taken: list[Path] = field(default_factory=list)
    prefix: str = ""  # put before each picture's name ("landscape-")
    human: HumanTime = field(default_factory=HumanTime)

    def read(self, name: str, *, as_name: str | None = None) -> None:
        """Screen ``name`` shows: a person reads what is new on it once (counted in
        :attr:`human` as ``as_name`` or ``name``)."""
        self.driver.wait_screen(name)
        chars = screen_chars(self.driver, self.human.seen)
        self.human.chars += chars
        self.human.screens.append((as_name or name, chars))

    def snap(self, label: str) -> None:
        """Screenshot of the window now, numbered in order."""
        if self.shots is None:
            return
        name = re.sub(r"[^a-z0-9_-]+", "-", (self.prefix + label).lower())
        path = self.shots / f"{len(self.taken) + 1:02d}-{name}.png"
        self.taken.append(self.driver.screenshot(path))

    # -- steps -------------------------------------------------------------------------
    def attract(self, *, snap: bool = True) -> None:
        self.driver.wait_screen("attract")
        if snap:
            self.snap("attract")

    def set_language(self, language: str) -> None:
        self.driver.press(f"language:{language}")
        self.driver.wait_for(lambda: self.driver.kiosk.language == language, what=language)

    def set_elder(self, on: bool) -> None:
        if self.driver.kiosk.elder != on:
            self.driver.press("elder")
            self.driver.wait_for(lambda: self.driver.kiosk.elder == on, what="elder mode")

    def insert_and_pin(self, who: str, *, pin: str | None = None) -> None:
        """Insert the card, wait for the PIN screen, type the PIN, press OK."""
        self.devices.insert(who)
        self.driver.wait_screen("pin")
        self.snap("pin")
        self.driver.type_pin(pin or self.devices.pin_of(who))
        self.snap("pin-typed")
        self.driver.press("pin_submit")

    def menu(self) -> None:
        self.driver.wait_screen("menu")
        self.snap("menu")

    def choose(self, service_id: str) -> None:
        """Tap the service; on the menu's groups, its group first (two taps)."""
        self.driver.wait_screen("menu")  # after "back", the menu may still be coming
        self.driver.open_service(service_id)
        self.driver.press("choose_service", service_id=service_id)

    def type_field(self, text: str) -> None:
        """Type on the on-screen keys of the focused field."""
        for ch in text:
            self.driver.press("type", char=ch)

    def pay_bill(self, service_id: str, account: str) -> None:
        """From the menu: choose the bill, type the account, confirm, see it paid."""
        self.choose(service_id)
        self.driver.wait_screen("form")
        self.type_field(account)
        self.snap("form")
        self.driver.press("submit_form")
        self.driver.wait_screen("confirm")
        self.snap("confirm")
        self.driver.press("confirm")
        self.driver.wait_screen("done")
        self.snap("done")

    def balance(self) -> None:
        self.choose("balance")
        self.driver.wait_screen("info")
        self.snap("info")
        self.driver.press("back")
        self.menu()

    def finish_and_take_card(self) -> None:
        self.driver.press("finish")
        self.driver.wait_screen("take_card")
        self.snap("take-card")
        self.devices.remove()
        self.driver.wait_screen("attract")

    def first_time_bill(self, who: str, service_id: str, account: str) -> HumanTime:
        """A first-time citizen pays a bill: reads each screen once, inserts the card,
        types the PIN, chooses the bill, types the account, confirms, takes the card
        back. Returns the modelled time (taps counted by the driver)."""
        taps = self.driver.taps
        self.human = HumanTime()
        self.read("attract")
        self.devices.insert(who)
        self.read("pin")
        self.driver.type_pin(self.devices.pin_of(who))
        self.driver.press("pin_submit")
        self.read("menu")
        if self.driver.find("choose_service", service_id=service_id) is None:
            self.driver.open_service(service_id)  # the menu's groups: tap the bill's
            self.read("menu", as_name="menu group")  # its services (new text only)
        self.choose(service_id)
        self.read("form")
        self.type_field(account)
        self.driver.press("submit_form")
        self.read("confirm")
        self.driver.press("confirm")
        self.read("done")
        self.driver.press("finish")
        self.read("take_card")
        self.devices.remove()
        self.driver.wait_screen("attract")
        self.human.taps += self.driver.taps - taps + 2  # and the card in and out
        return self.human

    def pay_water_bill(self, who: str, account: str, *, language: str = "zh-Hans") -> None:
        """The demo's session: card, PIN, balance, the water bill paid, card back."""
        if language != self.driver.kiosk.language:
            self.driver.wait_screen("attract")
            self.set_language(language)
        self.attract()
        self.insert_and_pin(who)
        self.menu()
        self.balance()
        self.pay_bill("water_bill", account)
        self.finish_and_take_card()
