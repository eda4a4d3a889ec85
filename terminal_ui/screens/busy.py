"""The card, the network or the printer is working: what, how far, and cancel."""

from __future__ import annotations

from kivy.animation import Animation
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.core.views import Progress, Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen

__all__ = ["BusyScreen"]


class BusyScreen(KioskScreen):
    """Every busy state: its step in words, a progress bar, cancel if allowed."""

    step = StringProperty("")  # message id of the step
    fraction = NumericProperty(-1.0)  # -1: unknown (the bar sweeps)
    sweep = NumericProperty(0.0)
    cancellable = BooleanProperty(False)

    def update(self, view: Screen) -> None:
        self.step = texts.lookup(texts.BUSY, view.busy, texts.BUSY_UNKNOWN)
        self.fraction = -1.0
        self.cancellable = view.cancellable

    def progress(self, event: Progress) -> None:
        self.step = texts.lookup(texts.BUSY, event.step, self.step or texts.BUSY_UNKNOWN)
        self.fraction = -1.0 if event.fraction is None else max(0.0, min(1.0, event.fraction))

    def on_enter(self, *_args: object) -> None:
        if self.ctx.options.get("animate", True):
            anim = Animation(sweep=1.0, duration=1.2) + Animation(sweep=0.0, duration=0)
            anim.repeat = True
            anim.start(self)

    def on_leave(self, *_args: object) -> None:
        Animation.cancel_all(self, "sweep")
        self.sweep = 0.0
