"""``traffic``: the traffic violations of the card holder's vehicles, and paying the
oldest unpaid fine from the purse.

The fines come from the traffic police through the central
(``CentralClient.traffic_fines``), which leaves out every fine whose order is held
or paid there. Paying one holds it at the central as an order (payee ``traffic``,
the fine's decision number as reference) and debits the purse citing it, as a bill
is paid (:class:`~kiosk.flows.bill.BillFlow`); the central tells the police once the
purchase is posted. No fine left: the vehicles are shown, with nothing to pay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from kiosk.core.views import Language
from kiosk.core.worker import JobContext
from kiosk.flows.base import (
    Answer,
    FlowEnv,
    Outcome,
    PayeeRef,
    PayeeSource,
    Quote,
    QuoteKind,
)
from kiosk.flows.bill import BillFlow
from kiosk.flows.city import CityQueryFlow, ask, money
from kiosk.receipts.layouts import FinePayment, Receipt

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry
    from kiosk.receipts.slips import Slip

__all__ = ["TrafficFlow"]


class TrafficFlow(BillFlow):
    name = "traffic"
    fields = ()

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        assert entry.payment is not None  # check() holds it
        balance = card.purse.balance()
        got = ask(env, ctx, lambda c: c.traffic_fines(asn=card.asn_hex))
        # The oldest fine first (then by decision number: the same order every time).
        fines = sorted(((v.plate, f) for v in got.vehicles for f in v.fines),
                       key=lambda pf: (pf[1].day, pf[1].reference))  # fmt: skip
        if not fines:
            rows = (*(("plate", v.plate) for v in got.vehicles), ("fines", "v.none"))
            return Answer(entry.id, entry.names, details=rows, printable=bool(got.vehicles))
        plate, fine = fines[0]
        total = sum(f.amount for _, f in fines)
        details = (("plate", plate), ("day", fine.day), ("place", fine.place),
                   ("violation", fine.offence), ("points", str(fine.points)),
                   ("reference", fine.reference), ("fines", str(len(fines))),
                   ("fines_total", money(total)))  # fmt: skip
        if balance < fine.amount:
            # Not enough to pay here: the citizen still sees the violations.
            return Answer(entry.id, entry.names, details=(*details, ("fine", money(fine.amount)),
                          ("payable", "v.balance_short")), printable=True)  # fmt: skip
        ref = PayeeRef(PayeeSource.PAYMENT_ORDER, entry.id, env.catalog_version, fine.reference)
        return Quote(entry.id, entry.names, self.name, QuoteKind.DEBIT, fine.amount,
                     entry.payment.payee, details, balance, payee_ref=ref,
                     data={"reference": fine.reference, "plate": plate,
                           "violation": fine.offence})  # fmt: skip

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        data = quote.data
        return FinePayment(str(data["reference"]), str(data["plate"]), str(data["violation"]),
                           quote.amount_fen, 0, outcome.balance_after_fen or 0,
                           outcome.transaction_id or "-", at)  # fmt: skip

    def answer_slip(self, answer: Answer, language: Language, at: dt.datetime) -> Slip | None:
        return CityQueryFlow.answer_slip(self, answer, language, at)  # type: ignore[arg-type]
