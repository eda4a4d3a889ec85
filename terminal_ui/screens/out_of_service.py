"""Sales are stopped (no PSAM, full disk, broken config): say so, and where to go."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.core.views import Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen

__all__ = ["OutOfServiceScreen"]


class OutOfServiceScreen(KioskScreen):
    what = StringProperty(texts.OUT_OF_SERVICE[0])
    next_step = StringProperty(texts.OUT_OF_SERVICE[1])
    code = StringProperty("")

    def update(self, view: Screen) -> None:
        self.code = ",".join(view.notices)
