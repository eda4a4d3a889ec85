"""Public bikes: ``bike_enable`` holds a deposit at the central, ``bike_disable``
returns it to the purse, ``bike_status`` tells the card's rental state.

The deposit is the central's word (``bike_status`` says what enabling holds). On
yes the central holds an order of it for the card; the purse is debited citing the
order, so the money goes to ``payee:bike_deposit`` at the central
(:mod:`backend_sync.central.deposits`). Disabling is an online load funded by that
held deposit: the card's MAC1 to the central, MAC2 back from it (the kiosk holds no
load key), CREDIT FOR LOAD, as a top-up is.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from backend_sync.terminal.client import CentralRefused, CentralUnavailable
from cardlib.purse import DebitOutcomeUnknown
from kiosk.codes import Notice, OutcomeCode
from kiosk.core.views import Language
from kiosk.core.worker import JobContext
from kiosk.flows.base import (
    Answer,
    BaseFlow,
    FlowEnv,
    Outcome,
    OutcomeKind,
    PayeeRef,
    PayeeSource,
    Quote,
    QuoteKind,
    ServiceUnavailable,
)
from kiosk.flows.bill import BillFlow
from kiosk.flows.online import ask, need_client, upload_now
from kiosk.flows.payment import load_onto_purse, load_receipt, pay_from_purse, purchase_receipt
from kiosk.receipts.layouts import Receipt

if TYPE_CHECKING:
    from backend_sync.services_wire import BikeDeposit
    from kiosk.catalog import ServiceEntry
    from kiosk.receipts.slips import Slip

__all__ = ["DEPOSIT_FUNDING", "BikeDisableFlow", "BikeEnableFlow", "BikeStatusFlow"]

DEPOSIT_FUNDING = "bike_deposit"  # the load's funding: the card's deposit at the central
_ENABLED = ("pending", "held", "returning")


def _status(env: FlowEnv) -> BikeDeposit:
    card, client = env.need_card(), need_client(env)
    return ask(lambda: client.bike_status(asn=card.asn_hex))


class BikeEnableFlow(BaseFlow):
    """The deposit held at the central, paid from the purse."""

    name = "bike_enable"
    payee = PayeeSource.PAYMENT_ORDER
    always_online = True

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        ctx.progress("preparing", None)
        now = _status(env)
        if now.status in _ENABLED:
            raise ServiceUnavailable(Notice.BIKE_ALREADY_ENABLED)
        balance = card.purse.balance()
        if balance < now.amount:
            raise ServiceUnavailable(Notice.INSUFFICIENT_BALANCE)
        return Quote(entry.id, entry.names, self.name, QuoteKind.DEBIT, now.amount,
                     "bike_deposit", (("deposit", "bike"),), balance,
                     payee_ref=PayeeRef(PayeeSource.PAYMENT_ORDER, entry.id, env.catalog_version),
                     data={"request_id": uuid.uuid4().hex})  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        card, client = env.need_card(), need_client(env)
        ctx.progress("holding_order", None)
        try:
            held = client.hold_bike_deposit(asn=card.asn_hex,
                                            request_id=str(quote.data["request_id"]))  # fmt: skip
        except CentralUnavailable:
            return Outcome(False, OutcomeCode.TRY_LATER)
        except CentralRefused as exc:
            return Outcome(False, OutcomeCode.from_central(exc.reason))
        if held.amount != quote.amount_fen:  # the central's deposit changed meanwhile
            BillFlow().release_order(env, held.order_id, "amount_changed")
            return Outcome(False, OutcomeCode.REFUSED)
        try:
            paid = pay_from_purse(quote, env, ctx, order_id=held.order_id)
        except Exception as exc:
            if not isinstance(exc, DebitOutcomeUnknown):  # the card decides a lost DEBIT
                BillFlow().release_order(env, held.order_id, type(exc).__name__)
            raise
        if not paid.ok:
            BillFlow().release_order(env, held.order_id, paid.code)
            return paid
        upload_now(env)  # held at the central as soon as it can be
        return Outcome(True, OutcomeCode.DEPOSIT_HELD, OutcomeKind.PAYMENT, paid.amount_fen,
                       paid.balance_after_fen, paid.transaction_id, ttc=paid.ttc)  # fmt: skip

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        return purchase_receipt(quote, outcome, language, at)


class BikeDisableFlow(BaseFlow):
    """The held deposit back onto the purse: a load funded by it, MAC2 from the central."""

    name = "bike_disable"
    payee = PayeeSource.FUNDING
    always_online = True

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        ctx.progress("preparing", None)
        now = _status(env)
        if now.status == "pending" and env.upload is not None:
            env.upload()  # the enabling purchase may still be in this kiosk's outbox
            now = _status(env)
        if now.status != "held":
            raise ServiceUnavailable(Notice.BIKE_NOT_ENABLED)
        return Quote(entry.id, entry.names, self.name, QuoteKind.LOAD, now.amount,
                     "bike_deposit", (("deposit", "bike"),), card.purse.balance(),
                     payee_ref=PayeeRef(PayeeSource.FUNDING, entry.id, env.catalog_version),
                     data={"funding": DEPOSIT_FUNDING})  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        return load_onto_purse(env, quote, DEPOSIT_FUNDING, OutcomeCode.DEPOSIT_RETURNED)

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        return load_receipt(quote, outcome, at)


class BikeStatusFlow(BaseFlow):
    """Whether public bikes are enabled on this card, and the deposit held."""

    name = "bike_status"
    always_online = True

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        env.need_card()
        ctx.progress("preparing", None)
        now = _status(env)
        state = now.status if now.status in _ENABLED else "none"
        details: tuple[tuple[str, str], ...] = (("bike_status", state),)
        if state != "none":
            from kiosk.money import format_fen

            details += (("deposit", format_fen(now.amount)),)
        return Answer(entry.id, entry.names, details=details)
