"""PIN entry: dots for the digits typed, the pad, tries left."""

from __future__ import annotations

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.core.views import Screen
from terminal_ui import texts
from terminal_ui.i18n import N_
from terminal_ui.screens.base import KioskScreen, short_mask

__all__ = ["PinScreen"]


class PinScreen(KioskScreen):
    """The core tells only how many digits were typed; so does this screen."""

    prompt = StringProperty(texts.PIN_LABELS["pin"])
    length = NumericProperty(0)
    max_length = NumericProperty(6)
    wrong = BooleanProperty(False)
    tries = StringProperty("")  # message id, formatted in tries_text
    tries_left = NumericProperty(-1)
    complete = BooleanProperty(False)
    holder = StringProperty("")

    def update(self, view: Screen) -> None:
        pin = view.pin
        if pin is None:
            return
        self.prompt = texts.lookup(texts.PIN_LABELS, pin.label, texts.PIN_LABELS["pin"])
        self.length, self.max_length = pin.length, pin.max_length
        self.wrong = pin.wrong
        self.complete = pin.length == pin.max_length
        self.tries_left = -1 if pin.tries_left is None else pin.tries_left
        self.holder = self.fx(short_mask(view.card.holder_masked)) if view.card else ""

    def tries_text(self, tries_left: int, wrong: bool, *_bind: object) -> str:
        """Tries left, e.g. "Wrong PIN. Tries left: 2" (a warning before the last try)."""
        if tries_left < 0:
            return ""
        if tries_left == 1:
            msg = self.t(N_("Wrong PIN. Last try: if it is wrong again, the PIN is blocked."))
            return msg if wrong else self.t(N_("Careful: one try left before the PIN is blocked."))
        left = self.t(N_("Tries left: {n}")).format(n=tries_left)
        return f"{self.t(N_('Wrong PIN.'))} {left}" if wrong else left

    def on_pre_enter(self, *_args: object) -> None:
        # A new PIN entry begins: a shuffled pad takes a fresh layout.
        self.ids.pad.reshuffle()
