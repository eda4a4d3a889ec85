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
        # The staff line: each reason code, with the technician's words where the
        # reason has them (the outbox's: docs/sync.md, "Outbox recovery").
        parts = []
        for code in view.notices:
            words = texts.OUT_OF_SERVICE_REASONS.get(code)
            parts.append(f"{code}: {self.t(words)}" if words else str(code))
        self.code = ", ".join(parts)
