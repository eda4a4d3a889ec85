"""The "please take your card" screen: the whole screen, bright, moving, and impossible to miss."""

from __future__ import annotations

from kivy.animation import Animation
from kivy.properties import BooleanProperty, NumericProperty

from kiosk.core.views import Screen
from terminal_ui.screens.base import KioskScreen

__all__ = ["TakeCardScreen"]


class TakeCardScreen(KioskScreen):
    """Amber background that pulses, the card sliding out of the slot, huge words."""

    forgotten = BooleanProperty(False)  # the reminder came back: say it louder
    pulse = NumericProperty(1.0)

    def update(self, view: Screen) -> None:
        self.forgotten = "card_forgotten" in view.notices

    def on_enter(self, *_args: object) -> None:
        if self.ctx.options.get("animate", True):
            anim = (
                Animation(phase=1.0, duration=0.01)
                + Animation(phase=0.0, duration=1.0, t="out_quad")
                + Animation(duration=0.6)
            )
            anim.repeat = True
            anim.start(self.ids.art)
            beat = Animation(pulse=0.75, duration=0.5) + Animation(pulse=1.0, duration=0.5)
            beat.repeat = True
            beat.start(self)

    def on_leave(self, *_args: object) -> None:
        Animation.cancel_all(self.ids.art)
        Animation.cancel_all(self, "pulse")
        self.pulse = 1.0
