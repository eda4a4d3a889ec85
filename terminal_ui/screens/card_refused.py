"""The card cannot be used: why, and what to do next."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.core.views import Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen

__all__ = ["CardRefusedScreen"]


class CardRefusedScreen(KioskScreen):
    """Refusal reason and next step; one button gives the card back."""

    what = StringProperty("")
    next_step = StringProperty("")
    code = StringProperty("")

    def update(self, view: Screen) -> None:
        self.what, self.next_step = texts.lookup(texts.REFUSALS, view.refusal,
                                                 texts.REFUSAL_UNKNOWN)  # fmt: skip
        self.code = view.refusal or ""
