"""What a counter receipt holds, signed like the kiosk's (``kiosk.receipts.signing``).

The layout on paper is the UI's and the printer's; this is the data: the operation,
its id, the card, amounts in fen, the operator's card number, lines of detail (a
calculation, a hotlist version) as (label code, value) pairs, and the QR payload
signed with the counter terminal's key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from kiosk.receipts.signing import TransactionReference, sign_reference

__all__ = ["CounterReceipt", "make_receipt"]


@dataclass(frozen=True)
class CounterReceipt:
    """One counter operation's receipt data."""

    kind: str  # counter_topup, counter_block, counter_unblock, counter_report_loss, ...
    op_id: str
    terminal_id: str
    card_asn: str
    amount_fen: int
    balance_after_fen: int
    operator_number: str
    at: dt.datetime
    qr: str  # CVR1|T=..|X=..|K=..|A=..|B=..|D=..|S=.. (verify_reference checks it)
    lines: tuple[tuple[str, str], ...] = field(default=())


def make_receipt(
    *,
    kind: str,
    op_id: str,
    terminal_id: str,
    card_asn: str,
    amount_fen: int,
    balance_after_fen: int,
    operator_number: str,
    key: ec.EllipticCurvePrivateKey,
    lines: tuple[tuple[str, str], ...] = (),
    at: dt.datetime | None = None,
) -> CounterReceipt:
    """The receipt with its QR payload signed by the terminal key."""
    when = at or dt.datetime.now(dt.UTC)
    ref = TransactionReference(terminal_id, op_id, kind, amount_fen, balance_after_fen, when)
    return CounterReceipt(kind, op_id, terminal_id, card_asn, amount_fen, balance_after_fen,
                          operator_number, when, sign_reference(ref, key), lines)  # fmt: skip
