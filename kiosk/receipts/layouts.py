"""Receipt layouts: business data in, a device-independent :class:`Document` out.

Every receipt shows the terminal, the local date and time, the masked card number
(never the full card number nor any identity number), the amount, the balance
after, the transaction id, and a QR code with the transaction reference signed by
the terminal key. The driver decides how each line reaches paper.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric import ec

from drivers.printer.document import (
    Align,
    Barcode,
    Block,
    Document,
    Feed,
    Field,
    QRCode,
    Rule,
    Size,
    Text,
)
from kiosk.receipts.formatting import format_fen, local_time, mask_card_number, mask_name
from kiosk.receipts.i18n import label
from kiosk.receipts.signing import TransactionReference, sign_reference

Signer = Callable[[TransactionReference], str]


def key_signer(key: ec.EllipticCurvePrivateKey) -> Signer:
    """A :data:`Signer` over a terminal private key held in memory."""
    return lambda ref: sign_reference(ref, key)


class ReceiptKind(StrEnum):
    PURCHASE = "purchase"
    TOP_UP = "top_up"
    BILL_PAYMENT = "bill_payment"
    FINE_PAYMENT = "fine_payment"
    TEST_PAGE = "test_page"


class Utility(StrEnum):
    WATER = "water"
    ELECTRICITY = "electricity"
    GAS = "gas"


@dataclass(frozen=True)
class Terminal:
    """Where the receipt was printed."""

    terminal_id: str
    location: str


@dataclass(frozen=True)
class CardHolder:
    """The card as the receipt shows it: both fields are masked when printed."""

    card_number: str
    name: str


@dataclass(frozen=True)
class Purchase:
    merchant: str
    item: str
    amount_fen: int
    balance_after_fen: int
    transaction_id: str
    ttc: int
    at: dt.datetime


@dataclass(frozen=True)
class TopUp:
    amount_fen: int
    balance_before_fen: int
    balance_after_fen: int
    transaction_id: str
    at: dt.datetime
    funding_account: str = ""  # who paid: the linked bank and its account, masked


@dataclass(frozen=True)
class BillPayment:
    utility: Utility
    biller: str
    account: str
    period: str
    amount_fen: int
    balance_after_fen: int
    transaction_id: str
    at: dt.datetime


@dataclass(frozen=True)
class FinePayment:
    decision_number: str
    plate: str
    violation: str
    fine_fen: int
    late_fee_fen: int
    balance_after_fen: int
    transaction_id: str
    at: dt.datetime

    @property
    def amount_fen(self) -> int:
        return self.fine_fen + self.late_fee_fen


@dataclass(frozen=True)
class TestPage:
    profile_name: str
    test_id: str
    at: dt.datetime


Receipt = Purchase | TopUp | BillPayment | FinePayment


def _kind(receipt: Receipt) -> ReceiptKind:
    return {
        Purchase: ReceiptKind.PURCHASE,
        TopUp: ReceiptKind.TOP_UP,
        BillPayment: ReceiptKind.BILL_PAYMENT,
        FinePayment: ReceiptKind.FINE_PAYMENT,
    }[type(receipt)]


def header(title: str, terminal: Terminal, at: dt.datetime, lang: str) -> list[Block]:
    """The lines every receipt and slip starts with (``title``: a label key)."""
    return [
        Text(label("issuer", lang), align=Align.CENTER, bold=True),
        Text(label(title, lang), align=Align.CENTER, size=Size.DOUBLE),
        Rule("="),
        Field(label("terminal", lang), terminal.terminal_id),
        Field(label("location", lang), terminal.location),
        Field(label("time", lang), local_time(at)),
    ]


def footer(
    ref: TransactionReference, signer: Signer, lang: str, *, keep: bool = True
) -> list[Block]:
    """The transaction id and the QR of the signed reference every receipt ends with."""
    blocks: list[Block] = [
        Rule("-"),
        Field(label("transaction", lang), ref.transaction_id),
        Feed(1),
        QRCode(signer(ref), module_dots=4),
        Text(label("verify", lang), align=Align.CENTER),
    ]
    if keep:
        blocks.append(Text(label("keep", lang), align=Align.CENTER))
    return blocks


def build_receipt(
    receipt: Receipt, *, terminal: Terminal, card: CardHolder, signer: Signer, language: str
) -> Document:
    """The document for a purchase, top-up, bill or fine payment receipt."""
    lang = language
    kind = _kind(receipt)
    blocks = header(f"title.{kind.value}", terminal, receipt.at, lang)
    blocks += [
        Field(label("card", lang), mask_card_number(card.card_number)),
        Field(label("holder", lang), mask_name(card.name)),
        Rule("-"),
    ]
    if isinstance(receipt, Purchase):
        blocks += [
            Field(label("merchant", lang), receipt.merchant),
            Field(label("item", lang), receipt.item),
            Field(label("ttc", lang), f"{receipt.ttc:08d}"),
            Field(label("amount", lang), format_fen(receipt.amount_fen), bold=True),
        ]
    elif isinstance(receipt, TopUp):
        blocks += [
            Field(label("balance_before", lang), format_fen(receipt.balance_before_fen)),
            Field(label("top_up_amount", lang), format_fen(receipt.amount_fen), bold=True),
        ]
        if receipt.funding_account:
            blocks.append(Field(label("funding_account", lang), receipt.funding_account))
    elif isinstance(receipt, BillPayment):
        blocks += [
            Field(label("item", lang), label(receipt.utility.value, lang)),
            Field(label("biller", lang), receipt.biller),
            Field(label("account", lang), receipt.account),
            Field(label("period", lang), receipt.period),
            Field(label("amount_paid", lang), format_fen(receipt.amount_fen), bold=True),
        ]
    else:
        blocks += [
            Field(label("biller", lang), label("fine_biller", lang)),
            Field(label("decision", lang), receipt.decision_number),
            Field(label("plate", lang), receipt.plate),
            Text(label("violation", lang) + receipt.violation),
            Field(label("fine", lang), format_fen(receipt.fine_fen)),
            Field(label("late_fee", lang), format_fen(receipt.late_fee_fen)),
            Field(label("amount_paid", lang), format_fen(receipt.amount_fen), bold=True),
        ]
    blocks.append(Field(label("balance_after", lang), format_fen(receipt.balance_after_fen)))
    ref = TransactionReference(
        terminal_id=terminal.terminal_id,
        transaction_id=receipt.transaction_id,
        kind=kind.value,
        amount_fen=receipt.amount_fen,
        balance_after_fen=receipt.balance_after_fen,
        at=receipt.at,
    )
    blocks += footer(ref, signer, lang)
    return Document(kind.value, receipt.transaction_id, lang, tuple(blocks))


# Characters the test page prints: CJK punctuation, full-width forms, traditional
# characters and rare name characters, which python-escpos would turn into '?'.
TEST_CHARACTERS = "，。、；：？！「」『』（）《》【】…—￥１２３ＡＢＣ 龑堃喆赟 體驗"


def build_test_page(
    page: TestPage, *, terminal: Terminal, signer: Signer, language: str
) -> Document:
    """The diagnostics test page: character set, columns, styles, barcode, signed QR."""
    lang = language
    blocks = header("title.test_page", terminal, page.at, lang)
    blocks += [
        Field(label("printer_profile", lang), page.profile_name),
        Rule("-"),
        Text(label("charset", lang)),
        Text(TEST_CHARACTERS),
        Text("ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 ¥$%&@#"),
        Text(label("columns", lang)),
        Field("1234567890", "¥0.01"),
        Field("一二三四五", "¥12,345.67"),
        Field("Ｗｉｄｅ ｆｏｒｍｓ", "¥-"),
        Text(label("styles", lang)),
        Text(label("bold", lang), bold=True),
        Text(label("underline", lang), underline=True),
        Text(label("double", lang), size=Size.DOUBLE, align=Align.CENTER),
        Text(label("barcode", lang)),
        Barcode(page.test_id),
    ]
    ref = TransactionReference(
        terminal_id=terminal.terminal_id,
        transaction_id=page.test_id,
        kind=ReceiptKind.TEST_PAGE.value,
        amount_fen=0,
        balance_after_fen=0,
        at=page.at,
    )
    blocks += footer(ref, signer, lang, keep=False)
    blocks.append(Text(label("test_ok", lang), align=Align.CENTER))
    return Document(ReceiptKind.TEST_PAGE.value, page.test_id, lang, tuple(blocks))
