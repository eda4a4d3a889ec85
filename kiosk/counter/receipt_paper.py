"""A counter operation's receipt on paper: the rows the screen showed, the clerk, the
time, the reference and (for the core's :class:`CounterReceipt`) its signed QR code, as
a printer :class:`Document`. The words are message ids; ``translate`` picks the
language (the composition root passes the station's catalog)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from cardlib.bcd import CARD_TZ
from drivers.printer.document import Document, Field, QRCode, Rule, Text
from kiosk.counter.receipts import CounterReceipt
from kiosk.counter.station_ports import Op

__all__ = ["LINE_LABELS", "OP_NAMES", "VALUE_WORDS", "ReceiptPrinter", "receipt_document"]

# The receipt lines' codes (kiosk.counter) as the screens' row labels (message ids).
LINE_LABELS: dict[str, str] = {
    "card_number": "Card number",
    "deposit_fen": "Deposit",
    "Deposit carried": "Deposit carried from the old card",
    "fee_fen": "Card fee",
    "opening_fen": "Opening balance",
    "replaces": "Replaces card",
    "shadow_fen": "Balance at the transfer",
    "late_debits_fen": "Late debits (already in it)",
    "carried_fen": "Carried to the new card",
    "cash_out_fen": "Paid out in cash",
    "balance_fen": "Balance paid out",
    "hotlist_version": "Hotlist version",
}
# Row values that are words, not data (translated on paper as on the screen).
VALUE_WORDS = frozenset({"active", "blocked", "terminated", "reset with the PUK",
                         "reloaded by the central", "reversed"})  # fmt: skip
# The same message ids as the screens' titles (terminal_ui.counter.texts.OP_TITLES).
OP_NAMES: dict[Op, str] = {
    Op.ISSUE: "Issue a new card", Op.TOP_UP: "Top up in cash",
    Op.REPORT_LOSS: "Report a card lost", Op.BLOCK: "Block a card",
    Op.UNBLOCK: "Unblock a card", Op.REPLACE: "Replace a card", Op.RESET_PIN: "Reset the PIN",
    Op.REFUND: "Refund and close", Op.LOOKUP: "Look up a card or citizen",
    Op.RENEW: "Renew a card", Op.SHIFT_OPEN: "Open the shift", Op.SHIFT_CLOSE: "Close the shift",
}  # fmt: skip


class ReceiptPrinter(Protocol):
    """What the adapter prints on (``drivers.printer.printer.Printer``)."""

    def print_document(self, document: Document) -> object: ...


def receipt_document(
    op: Op,
    rows: list[tuple[str, str]],
    receipt: CounterReceipt | None,
    reference: str,
    *,
    operator: Any,
    translate: Callable[[str], str],
    header: str,
    language: str,
) -> Document:
    """The receipt of ``op``; ``operator``: the signed-in card (``name``, ``number``)."""
    t = translate
    blocks: list[Text | Field | Rule | QRCode] = [
        Text(header, bold=True), Text(t(OP_NAMES[op])), Rule()]  # fmt: skip
    blocks += [Field(t(label), t(v) if v in VALUE_WORDS else v) for label, v in rows]
    number = receipt.operator_number if receipt is not None else getattr(operator, "number", "")
    at = receipt.at if receipt is not None else dt.datetime.now(dt.UTC)
    who = f"{operator.name} {number}" if operator is not None else number
    blocks += [Rule(), Field(t("Clerk"), who),
               Field(t("Time"), at.astimezone(CARD_TZ).strftime("%Y-%m-%d %H:%M")),
               Field(t("Reference"), reference)]  # fmt: skip
    if receipt is not None:
        blocks.append(QRCode(receipt.qr))
    return Document(f"counter_{op.value}", reference, language, tuple(blocks))
