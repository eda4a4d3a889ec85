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
from kiosk.codes import Notice, OutcomeCode
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
from kiosk.flows.payment import load_onto_purse, load_receipt
from kiosk.receipts.layouts import Receipt

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
        def refused(exc: CentralRefused) -> OutcomeCode:
            if exc.reason != "funding_refused":
                return OutcomeCode.from_central(exc.reason)
            return (OutcomeCode.BANK_INSUFFICIENT_FUNDS if "insufficient_funds" in exc.detail
                    else OutcomeCode.BANK_REFUSED)  # fmt: skip

        funding = str(quote.data.get("funding", "bank"))
        return load_onto_purse(env, quote, funding, OutcomeCode.LOADED, refused=refused)

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        return load_receipt(quote, outcome, at, str(quote.data.get("funding_account", "")))
