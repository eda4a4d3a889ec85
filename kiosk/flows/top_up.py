"""``top_up``: money onto the purse from the citizen's linked funding account.

Before the citizen confirms, the central names the account that pays (its bank
and the account's last four digits, ``POST /v1/funding/linked``): the confirm
screen and the receipt show it.

INITIALIZE FOR LOAD → the central checks MAC1, charges the funding account and
answers MAC2 → the load intent → CREDIT FOR LOAD
(:meth:`kiosk.services.transactions.Transactions.load`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from backend_sync.terminal.client import CentralRefused, CentralUnavailable
from backend_sync.terminal.outbox import SalesStopped
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
from kiosk.receipts.layouts import Receipt, TopUp

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry
    from kiosk.receipts.slips import Slip

__all__ = ["TopUpFlow"]


class TopUpFlow(BaseFlow):
    name = "top_up"
    fields = ("amount",)
    payee = PayeeSource.FUNDING
    always_online = True

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        funding = entry.payment.funding if entry.payment else "bank"
        balance = card.purse.balance()
        if env.client is None:
            raise ServiceUnavailable(Notice.NEEDS_NETWORK)
        try:
            linked = env.client.linked_funding(asn=card.asn_hex, funding=funding)
        except CentralRefused as exc:
            if exc.reason == "no_linked_account":
                raise ServiceUnavailable(Notice.NO_LINKED_ACCOUNT) from exc
            raise ServiceUnavailable(Notice.SERVICE_UNAVAILABLE) from exc
        except CentralUnavailable as exc:
            env.central_down()
            raise ServiceUnavailable(Notice.NEEDS_NETWORK) from exc
        source = " ".join(p for p in (linked.provider, linked.account_masked) if p)
        details = (("funding_account", source),) if source else ()
        return Quote(entry.id, entry.names, self.name, QuoteKind.LOAD, int(values["amount"]),
                     "bank", details, balance,
                     payee_ref=PayeeRef(PayeeSource.FUNDING, entry.id, env.catalog_version),
                     data={"funding": funding, "funding_account": source})  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        card, tx = env.need_card(), env.need_tx()
        if env.client is None:
            return Outcome(False, OutcomeCode.NEEDS_NETWORK, OutcomeKind.LOAD)
        try:
            done = tx.load(card.purse, env.client, quote.amount_fen,
                           funding=str(quote.data.get("funding", "bank")))  # fmt: skip
        except CentralRefused as exc:
            code = OutcomeCode.from_central(exc.reason)
            if exc.reason == "funding_refused":
                code = (OutcomeCode.BANK_INSUFFICIENT_FUNDS if "insufficient_funds" in exc.detail
                        else OutcomeCode.BANK_REFUSED)  # fmt: skip
            return Outcome(False, code, OutcomeKind.LOAD)
        except CentralUnavailable:
            env.central_down()
            return Outcome(False, OutcomeCode.NEEDS_NETWORK, OutcomeKind.LOAD)
        except SalesStopped:
            return Outcome(False, OutcomeCode.SALES_STOPPED, OutcomeKind.LOAD)
        env.on_record()  # a record to upload now
        return Outcome(True, OutcomeCode.LOADED, OutcomeKind.LOAD, quote.amount_fen,
                       done.balance_after, done.transaction_id)  # fmt: skip

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        after = outcome.balance_after_fen or 0
        before = quote.balance_fen if quote.balance_fen is not None else after - quote.amount_fen
        return TopUp(quote.amount_fen, before, after, outcome.transaction_id or "-", at,
                     funding_account=str(quote.data.get("funding_account", "")))  # fmt: skip
