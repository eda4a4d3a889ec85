"""Receipts for the kiosk's services: check the printer, lay out, queue, print.

Every receipt goes through the durable print queue, so one that fails to print is
kept and reprinted (marked) when the printer is back; the citizen is told
``queued`` rather than ``printed``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from cardlib.bcd import unpack_datetime
from cardlib.layout import Holder
from drivers.printer.errors import PrinterUnreachable
from drivers.printer.printer import Printer
from drivers.printer.queue import JobState, PrintQueue
from kiosk.core.ports import Outcome, PrinterCheck, Quote
from kiosk.core.views import Language, pick
from kiosk.receipts.layouts import (
    BillPayment,
    CardHolder,
    Purchase,
    Receipt,
    Signer,
    Terminal,
    TopUp,
    Utility,
    build_receipt,
)
from kiosk.services.transactions import transaction_id

__all__ = ["ReceiptDesk"]

log = logging.getLogger(__name__)


class ReceiptDesk:
    """The kiosk's printer, its queue, and the terminal's receipt signer."""

    def __init__(self, printer: Printer, queue: PrintQueue, signer: Signer, location: str):
        self.printer = printer
        self.queue = queue
        self.signer = signer
        self.location = location

    def check(self) -> PrinterCheck:
        """Can a receipt be printed now? (asked before a debit, DESIGN.md step 3)"""
        try:
            status = self.printer.status()
        except PrinterUnreachable:
            return PrinterCheck(False, "no_answer")
        if status.ready:
            return PrinterCheck(True)
        problems = status.problems()
        return PrinterCheck(False, problems[0] if problems else "offline")

    def receipt_for(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt:
        tid = outcome.transaction_id or "-"
        balance = outcome.balance_after_fen if outcome.balance_after_fen is not None else 0
        if quote.kind == "load":
            before = (
                quote.balance_fen if quote.balance_fen is not None else balance - quote.amount_fen
            )
            return TopUp(quote.amount_fen, before, balance, tid, at)
        data = quote.data
        utility = str(data.get("utility", ""))
        if data.get("reference") and utility in {u.value for u in Utility}:
            return BillPayment(Utility(utility), str(data.get("biller", quote.payee)),
                               str(data.get("account", "")), str(data.get("period", "")),
                               quote.amount_fen, balance, tid, at)  # fmt: skip
        return Purchase(quote.payee, pick(quote.titles, language), quote.amount_fen, balance, tid,
                        outcome.ttc or 0, at)  # fmt: skip

    def print_settled(
        self,
        kind: str,
        fields: Mapping[str, Any],
        seq: int,
        holder: Holder,
        terminal_id: str,
        language: Language,
    ) -> str:
        """The receipt of a purchase or load completed on the card's return (its
        answer had been lost): what the outbox intent and the card's proof say."""
        at = unpack_datetime(bytes.fromhex(str(fields["date"])), bytes.fromhex(str(fields["time"])))
        amount = int(fields["amount"])
        before = int(fields["balance_before"])
        tid = transaction_id(terminal_id, str(fields["date"]), seq)
        receipt: Receipt
        if kind == "load":
            receipt = TopUp(amount, before, before + amount, tid, at)
        else:
            payee = str(fields.get("payee") or "-")
            receipt = Purchase(payee, payee, amount, before - amount, tid, int(fields["ttc"]), at)
        return self._print(receipt, holder, terminal_id, language)

    def print_for(
        self,
        quote: Quote,
        outcome: Outcome,
        holder: Holder,
        terminal_id: str,
        language: Language,
        at: dt.datetime,
    ) -> str:
        """Queue and print the receipt; "printed", or "queued" when the printer failed."""
        return self._print(self.receipt_for(quote, outcome, language, at), holder, terminal_id,
                           language)  # fmt: skip

    def _print(self, receipt: Receipt, holder: Holder, terminal_id: str, language: Language) -> str:
        doc = build_receipt(
            receipt,
            terminal=Terminal(terminal_id, self.location),
            card=CardHolder(holder.card_number, holder.name),
            signer=self.signer,
            language=language.value,
        )
        job_id = self.queue.submit(doc)
        try:
            self.queue.run(self.printer)
        except Exception:  # the record is safe; the receipt waits in the queue
            log.exception("printing receipt job %s", job_id)
        return "printed" if self.queue.job(job_id).state == JobState.DONE else "queued"
