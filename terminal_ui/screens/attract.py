"""Waiting for a card: what the kiosk does and where the card goes."""

from __future__ import annotations

from kivy.animation import Animation
from kivy.properties import BooleanProperty

from kiosk.core.views import Screen
from terminal_ui.screens.base import KioskScreen

__all__ = ["AttractScreen"]


class AttractScreen(KioskScreen):
    """Attract: "Please insert your citizen card", with the card sliding into the slot;
    and, where the hall's queue is offered, a queue number without a card."""

    queue = BooleanProperty(False)

    def update(self, view: Screen) -> None:
        self.queue = "queue" in view.extra.get("card_less", "").split(",")

    def on_enter(self, *_args: object) -> None:
        if self.ctx.options.get("animate", True):
            art = self.ids.art
            anim = (
                Animation(phase=1.0, duration=1.4, t="in_out_quad")
                + Animation(phase=0.0, duration=0.01)
                + Animation(duration=0.8)
            )
            anim.repeat = True
            anim.start(art)

    def on_leave(self, *_args: object) -> None:
        Animation.cancel_all(self.ids.art)
        self.ids.art.phase = 0.35
