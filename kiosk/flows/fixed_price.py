"""``fixed_price``: an item at the catalog's price, paid from the purse; may be sold
offline (``payment.offline``) within the offline limits. The payee is the catalog
item's, of the catalog version the kiosk sold on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from kiosk.codes import Notice, OutcomeCode, WhyNot
from kiosk.core.views import Language
from kiosk.core.worker import JobContext
from kiosk.flows.base import (
    Answer,
    BaseFlow,
    FlowEnv,
    Outcome,
    PayeeRef,
    PayeeSource,
    Quote,
    QuoteKind,
    ServiceUnavailable,
)
from kiosk.flows.payment import pay_from_purse, purchase_receipt
from kiosk.receipts.layouts import Receipt

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry
    from kiosk.receipts.slips import Slip

__all__ = ["FixedPriceFlow"]


class FixedPriceFlow(BaseFlow):
    name = "fixed_price"
    payee = PayeeSource.CATALOG_ITEM

    def check(self, entry: ServiceEntry) -> str | None:
        if entry.payment is None or not entry.payment.amount_fen:
            return "a fixed_price service needs payment.amount_fen"
        return super().check(entry)

    def why_not(self, entry: ServiceEntry, env: FlowEnv) -> WhyNot | None:
        # The catalog's needs.network does not apply: payment.offline says it.
        if env.online:
            return None
        if not (entry.payment and entry.payment.offline):
            return WhyNot.NEEDS_NETWORK
        return env.offline_refusal(entry.payment.amount_fen or 0)

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        assert entry.payment is not None  # check() holds it
        amount = entry.payment.amount_fen or 0
        balance = card.purse.balance()
        if balance < amount:
            raise ServiceUnavailable(Notice.INSUFFICIENT_BALANCE)
        ref = PayeeRef(PayeeSource.CATALOG_ITEM, entry.id, env.catalog_version)
        return Quote(entry.id, entry.names, self.name, QuoteKind.DEBIT, amount,
                     entry.payment.payee, tuple(values.items()), balance,
                     payee_ref=ref)  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        if not env.online:
            why = env.offline_refusal(quote.amount_fen)
            if why:
                return Outcome(False, OutcomeCode(why.value))
        return pay_from_purse(quote, env, ctx)

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        return purchase_receipt(quote, outcome, language, at)
