"""The outcome: paid / topped up / PIN changed, or why not; the receipt."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.core.views import Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen

__all__ = ["DoneScreen"]


class DoneScreen(KioskScreen):
    ok = BooleanProperty(True)
    headline = StringProperty("")
    next_step = StringProperty("")
    title = StringProperty("")
    amount = StringProperty("")
    balance_after = StringProperty("")
    transaction = StringProperty("")
    receipt = StringProperty("")

    def update(self, view: Screen) -> None:
        r = view.result
        if r is None:
            return
        self.ok = r.ok
        self.headline, self.next_step = texts.lookup(texts.RESULTS, r.code, texts.RESULT_UNKNOWN)
        self.title = self.fx(r.title)
        self.amount = self.money(r.amount_fen) if r.amount_fen else ""
        self.balance_after = self.money(r.balance_after_fen)
        self.transaction = r.transaction_id or ""
        self.receipt = texts.RECEIPT.get(r.receipt, "")
