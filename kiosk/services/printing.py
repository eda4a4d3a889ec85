"""Receipts for the kiosk's services: check the printer, lay out, queue, print.

Every receipt goes through the durable print queue, so one that fails to print is
kept and reprinted (marked) when the printer is back; the citizen is told
``queued`` rather than ``printed``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from cardlib.bcd import unpack_datetime
from cardlib.layout import Holder
from drivers.printer.errors import PrinterError, PrinterUnreachable
from drivers.printer.printer import Printer
from drivers.printer.queue import JobState, PrintQueue
from kiosk.codes import PrinterProblem, ReceiptState
from kiosk.core.views import Language
from kiosk.journeys.ports import PrinterCheck
from kiosk.receipts.layouts import (
    CardHolder,
    Purchase,
    Receipt,
    Signer,
    Terminal,
    TopUp,
    build_receipt,
)
from kiosk.receipts.slips import Slip, build_slip
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
            return PrinterCheck(False, PrinterProblem.NO_ANSWER)
        if status.ready:
            return PrinterCheck(True)
        problems = status.problems()
        return PrinterCheck(False, PrinterProblem.of(problems[0] if problems else "offline"))

    def print_settled(
        self,
        kind: str,
        fields: Mapping[str, Any],
        seq: int,
        holder: Holder,
        terminal_id: str,
        language: Language,
    ) -> ReceiptState:
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

    def print_receipt(
        self, receipt: Receipt | Slip, holder: Holder | None, terminal_id: str, language: Language
    ) -> ReceiptState:
        """Queue and print a flow's receipt or slip: PRINTED, or QUEUED when the printer
        failed (the job is kept and reprinted)."""
        return self._print(receipt, holder, terminal_id, language)

    def print_unkept(self, slip: Slip, terminal_id: str, language: Language) -> ReceiptState:
        """Print a slip straight to the printer, naming no card and kept nowhere (a
        poll's slip: a kept copy of its token hash beside the audit log's card would
        join card and ballot). PRINTED, or NOT_PRINTED: it is not reprinted later."""
        doc = build_slip(slip, terminal=Terminal(terminal_id, self.location), card=None,
                         signer=self.signer, language=language.value)  # fmt: skip
        try:
            self.printer.print_document(doc)
        except (PrinterError, OSError) as exc:  # the vote stands; only its slip is lost
            log.warning("an unkept slip was not printed: %s", type(exc).__name__)
            return ReceiptState.NOT_PRINTED
        return ReceiptState.PRINTED

    def _print(
        self, receipt: Receipt | Slip, holder: Holder | None, terminal_id: str, language: Language
    ) -> ReceiptState:
        terminal = Terminal(terminal_id, self.location)
        card = CardHolder(holder.card_number, holder.name) if holder is not None else None
        if isinstance(receipt, Slip):
            doc = build_slip(receipt, terminal=terminal, card=card, signer=self.signer,
                             language=language.value)  # fmt: skip
        else:
            if card is None:
                raise ValueError("a money receipt names its card")
            doc = build_receipt(receipt, terminal=terminal, card=card, signer=self.signer,
                                language=language.value)  # fmt: skip
        job_id = self.queue.submit(doc)
        try:
            self.queue.run(self.printer)
        except Exception:  # the record is safe; the receipt waits in the queue
            log.exception("printing receipt job %s", job_id)
        done = self.queue.job(job_id).state == JobState.DONE
        return ReceiptState.PRINTED if done else ReceiptState.QUEUED
