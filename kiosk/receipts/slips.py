"""Slips: the printable outcome of a service that moved no money.

An answer, a case's tracking number, a ticket or a queue number is printed with
the same header and signed QR footer as a money receipt (amount and balance 0),
so a slip can be verified like a receipt. The card is optional: a queue number
is taken without one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from drivers.printer.document import Align, Block, Document, Feed, Field, QRCode, Rule, Size, Text
from kiosk.receipts.formatting import format_fen, local_time, mask_card_number, mask_name
from kiosk.receipts.i18n import label
from kiosk.receipts.layouts import CardHolder, Signer, Terminal, footer, header
from kiosk.receipts.signing import TransactionReference

__all__ = ["SLIP_KINDS", "Slip", "answer_slip", "build_slip"]

SLIP_KINDS = ("answer", "tracking_number", "ticket", "queue_number", "vote", "booking")


@dataclass(frozen=True)
class Slip:
    """``kind`` is one of :data:`SLIP_KINDS`; ``reference`` what the citizen keeps
    (1-40 of A-Z a-z 0-9 . _ -); ``lines`` (label, value) already in the slip's
    language (the catalog's words)."""

    kind: str
    service: str
    reference: str
    lines: tuple[tuple[str, str], ...]
    at: dt.datetime
    notes: tuple[str, ...] = ()  # sentences for the citizen, printed after the lines
    # A code someone else signed, printed big (a bus ticket's QR, signed by the
    # central for one departure), with its caption; the footer's QR stays the
    # terminal's signature of the slip.
    code: str = ""
    code_caption: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SLIP_KINDS:
            raise ValueError(f"slip kind must be one of {SLIP_KINDS}")


def build_slip(
    slip: Slip, *, terminal: Terminal, card: CardHolder | None, signer: Signer, language: str
) -> Document:
    """The document for a slip."""
    lang = language
    blocks: list[Block] = header(f"title.{slip.kind}", terminal, slip.at, lang)
    if card is not None:
        blocks += [
            Field(label("card", lang), mask_card_number(card.card_number)),
            Field(label("holder", lang), mask_name(card.name)),
        ]
    blocks += [Rule("-"), Field(label("service", lang), slip.service)]
    blocks += [Field(k, v) for k, v in slip.lines]
    blocks += [Text(n) for n in slip.notes]
    if slip.code:
        blocks += [Feed(1), QRCode(slip.code, module_dots=5),
                   Text(slip.code_caption, align=Align.CENTER, bold=True)]  # fmt: skip
    blocks += [
        Text(label(f"ref.{slip.kind}", lang), align=Align.CENTER),
        Text(slip.reference, align=Align.CENTER, size=Size.DOUBLE, bold=True),
    ]
    ref = TransactionReference(terminal_id=terminal.terminal_id, transaction_id=slip.reference,
                               kind=slip.kind, amount_fen=0, balance_after_fen=0,
                               at=slip.at)  # fmt: skip
    blocks += footer(ref, signer, lang)
    return Document(slip.kind, slip.reference, lang, tuple(blocks))


def answer_slip(
    title: str,
    balance_fen: int | None,
    history: tuple[tuple[dt.datetime, str, int], ...],
    details: tuple[tuple[str, str], ...],
    language: str,
    at: dt.datetime,
) -> Slip:
    """A query's answer as a slip: the balance, then (when, kind, amount) lines of
    the card's history, then the answer's details; referenced by its time."""
    lines: list[tuple[str, str]] = []
    if balance_fen is not None:
        lines.append((label("balance", language), format_fen(balance_fen)))
    for when, kind, amount in history:
        sign = "-" if kind == "purchase" else "+"
        word = label(f"hist.{kind}", language) if kind in ("purchase", "load") else kind
        lines.append((f"{local_time(when)} {word}", f"{sign}{format_fen(amount)}"))
    lines += list(details)
    return Slip("answer", title, f"Q{at:%Y%m%d%H%M%S}", tuple(lines), at)
