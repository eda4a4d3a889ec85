"""The outcome: paid / topped up / PIN changed, or why not; the receipt."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.core.views import Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen
from terminal_ui.screens.confirm import LineRow

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
    has_lines = BooleanProperty(False)
    card_less = BooleanProperty(False)  # a queue number: no card to take, no other service
    reference = StringProperty("")  # the number the citizen keeps (booking, ticket, queue)
    reference_label = StringProperty("")  # message id: what that number is

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
        self.card_less = view.card is None
        lines = []
        name = texts.REFERENCE_LABELS.get(r.kind, "") if r.reference else ""
        self.reference_label, self.reference = name, (r.reference or "") if name else ""
        if "ahead" in view.extra:
            lines.append((self.t(texts.DETAIL_LABELS["ahead"]), view.extra["ahead"]))
        if self.balance_after:
            lines.append((self.t("Balance after"), self.balance_after))
        if self.transaction:
            lines.append((self.t("Transaction"), self.transaction))
        if r.ok and r.kind == "tracking_number" and r.reference:
            # Four groups of four, as on the receipt: the citizen copies it from here too.
            number = "-".join(r.reference[i : i + 4] for i in range(0, len(r.reference), 4))
            lines.append((self.t("Tracking number"), number))
        rows = self.ids.rows
        rows.clear_widgets()
        for label, value in lines:
            rows.add_widget(LineRow(label=label, value=value))
        self.has_lines = bool(lines)
