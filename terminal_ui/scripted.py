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

from terminal_ui.harness import Driver

__all__ = ["CHAR_S", "TAP_S", "Devices", "HumanTime", "ScriptedCitizen", "screen_chars"]

TAP_S = 2.0  # a tap, a key press, a card put in or taken out
CHAR_S = 0.25  # reading one character of a screen's text

_MARKUP = re.compile(r"\[/?[a-z_]+(=[^\]]*)?\]")


def screen_chars(driver: Driver) -> int:
    """Characters a person reads on the screen now: every visible text (labels and
    buttons, the notice banner), markup and spaces left out."""
    k = driver.kiosk
    texts = [str(w.text) for w in k.screen().walk(restrict=True)
             if getattr(w, "text", None) and getattr(w, "opacity", 1) > 0]  # fmt: skip
    texts.append(str(k.notice))
    plain = _MARKUP.sub("", "".join(texts))
    plain = plain.replace("&bl;", "[").replace("&br;", "]").replace("&amp;", "&")
    return sum(1 for ch in plain if not ch.isspace())


@dataclass
class HumanTime:
    """A person's modelled time: taps (and card moves) and characters read."""

    taps: int = 0
    chars: int = 0
    screens: list[tuple[str, int]] = field(default_factory=list)  # (screen, characters)

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

    def read(self, name: str) -> None:
        """Screen ``name`` shows: a person reads it once (counted in :attr:`human`)."""
        self.driver.wait_screen(name)
        chars = screen_chars(self.driver)
        self.human.chars += chars
        self.human.screens.append((name, chars))

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
