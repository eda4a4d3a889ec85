"""``bill``: a utility bill looked up at the central (the biller behind it), held for
this card as a payment order, then paid from the purse. The payee is the order's.

Holding happens in :meth:`BillFlow.execute`, right before the debit, so a quote the
citizen declines holds nothing; an order held whose debit then did not happen is
let go through :meth:`BillFlow.release_order` (the hook the central's release
endpoint is wired into).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from backend_sync.terminal.client import CentralRefused, CentralUnavailable, DepartmentDown
from cardlib.purse import DebitOutcomeUnknown
from kiosk.codes import FieldError, Notice, OutcomeCode
from kiosk.core.views import Language
from kiosk.core.worker import JobContext
from kiosk.flows.base import (
    Answer,
    BaseFlow,
    FlowEnv,
    FormError,
    Outcome,
    PayeeRef,
    PayeeSource,
    Quote,
    QuoteKind,
    ServiceUnavailable,
)
from kiosk.flows.payment import pay_from_purse
from kiosk.receipts.layouts import BillPayment, Purchase, Receipt, Utility

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry
    from kiosk.receipts.slips import Slip

__all__ = ["BillFlow"]

log = logging.getLogger(__name__)


class BillFlow(BaseFlow):
    name = "bill"
    fields: ClassVar[tuple[str, ...]] = ("account",)
    payee = PayeeSource.PAYMENT_ORDER
    always_online = True

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        assert entry.payment is not None  # check() holds it
        balance = card.purse.balance()
        if env.client is None:
            raise ServiceUnavailable(Notice.NEEDS_NETWORK)
        ctx.progress("fetching_bill", None)
        try:
            bill = env.client.lookup_bill(payee=entry.payment.payee, account=values["account"])
        except CentralRefused as exc:
            if exc.reason == "bill_not_found":
                raise FormError(FieldError.BILL_NOT_FOUND, "account") from exc
            raise ServiceUnavailable(Notice.SERVICE_UNAVAILABLE) from exc
        except DepartmentDown as exc:  # the central answered: only the biller did not
            raise ServiceUnavailable(Notice.DEPARTMENT_UNAVAILABLE) from exc
        except CentralUnavailable as exc:
            env.central_down()
            raise ServiceUnavailable(Notice.NEEDS_NETWORK) from exc
        env.network.online = True
        ctx.check()
        if balance < bill.amount:
            raise ServiceUnavailable(Notice.INSUFFICIENT_BALANCE)
        details = (("biller", bill.biller), ("account", bill.account), ("period", bill.period))
        ref = PayeeRef(PayeeSource.PAYMENT_ORDER, entry.id, env.catalog_version, bill.reference)
        return Quote(entry.id, entry.names, self.name, QuoteKind.DEBIT, bill.amount, bill.payee,
                     details, balance, payee_ref=ref,
                     data={"reference": bill.reference, "utility": entry.payment.utility or "",
                           "biller": bill.biller, "account": bill.account,
                           "period": bill.period})  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        card = env.need_card()
        if env.client is None:
            return Outcome(False, OutcomeCode.NEEDS_NETWORK)
        ctx.progress("holding_order", None)
        try:
            held = env.client.hold_order(asn=card.asn_hex, payee=quote.payee,
                                         reference=str(quote.data["reference"]),
                                         amount=quote.amount_fen)  # fmt: skip
        except CentralRefused as exc:
            return Outcome(False, OutcomeCode.from_central(exc.reason))
        except CentralUnavailable:
            env.central_down()
            return Outcome(False, OutcomeCode.NEEDS_NETWORK)
        try:
            outcome = pay_from_purse(quote, env, ctx, order_id=held.order_id)
        except Exception as exc:
            # The card left before the intent (a DeviceError at INITIALIZE): no debit
            # can follow, free the bill. A lost DEBIT answer keeps it: the card decides.
            if not isinstance(exc, DebitOutcomeUnknown):
                self.release_order(env, held.order_id, type(exc).__name__)
            raise
        if not outcome.ok:
            # Refused before any intent was written: the card was not debited.
            self.release_order(env, held.order_id, outcome.code)
        return outcome

    def release_order(self, env: FlowEnv, order_id: str, why: str) -> None:
        """An order held for a debit that did not happen: released at the central at
        once (best effort: the central's hold expiry frees it anyway, docs/sync.md).
        Never while an open intent cites it: then the card's settlement decides."""
        if env.client is None or any(
            it.fields.get("order_id") == order_id for it in env.need_tx().outbox.unfinished()
        ):
            return
        try:
            env.client.release_order(order_id, reason=str(why))
        except (CentralRefused, CentralUnavailable) as exc:
            log.warning("hold %s not released (%s); it expires at the central", order_id, exc)

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        data, tid = quote.data, outcome.transaction_id or "-"
        balance = outcome.balance_after_fen or 0
        utility = str(data.get("utility", ""))
        if utility in {u.value for u in Utility}:
            return BillPayment(Utility(utility), str(data.get("biller", quote.payee)),
                               str(data.get("account", "")), str(data.get("period", "")),
                               quote.amount_fen, balance, tid, at)  # fmt: skip
        return Purchase(quote.payee, str(data.get("biller", quote.payee)), quote.amount_fen,
                        balance, tid, outcome.ttc or 0, at)  # fmt: skip
