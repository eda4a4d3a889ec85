"""The maintenance journey's home: which operator card is in, and the way out.

The technician's tools (device status, self-tests, test print, outbox, sync) are
added here as the maintenance journey grows (kiosk/journeys/maintenance.py).
"""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.core.views import Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen

__all__ = ["MaintenanceScreen"]


class MaintenanceScreen(KioskScreen):
    """The role of the card (words from texts.ROLES) and an exit button."""

    role = StringProperty("")
    holder = StringProperty("")

    def update(self, view: Screen) -> None:
        self.role = texts.lookup(texts.ROLES, view.role, texts.ROLE_UNKNOWN)
        self.holder = self.fx(view.card.holder_masked) if view.card else ""
