"""The printer cannot print: go on without a receipt, or stop."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.core.views import Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen

__all__ = ["NoPaperScreen"]


class NoPaperScreen(KioskScreen):
    problem = StringProperty(texts.PRINTER_UNKNOWN)
    amount = StringProperty("")

    def update(self, view: Screen) -> None:
        self.problem = texts.lookup(texts.PRINTER_PROBLEMS, view.extra.get("printer_problem"),
                                    texts.PRINTER_UNKNOWN)  # fmt: skip
        c = view.confirm
        self.amount = self.money(c.amount_fen) if c and c.kind in ("debit", "load") else ""
