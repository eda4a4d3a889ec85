"""``housing_fund``: the card holder's housing provident fund — balance, loan status
and the monthly deposits — from the fund centre through the central; printable as a
statement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kiosk.core.worker import JobContext
from kiosk.flows.base import Answer, FlowEnv, Quote
from kiosk.flows.city import CityQueryFlow, ask, money, plain_money

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry

__all__ = ["HousingFundFlow"]

# The fund centre's loan states this kiosk has words for; another is shown as sent.
_LOAN = {"none": "v.loan_none", "repaying": "v.loan_repaying", "applied": "v.loan_applied"}


class HousingFundFlow(CityQueryFlow):
    name = "housing_fund"

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        got = ask(env, ctx, lambda c: c.housing_fund(asn=card.asn_hex))
        rows: list[tuple[str, str]] = [
            ("fund_balance", money(got.balance)),
            ("loan_status", _LOAN.get(got.loan_status, got.loan_status)),
            ("deposits", ""),
        ]
        rows += [(d.month, plain_money(d.amount)) for d in got.deposits]
        return Answer(entry.id, entry.names, details=tuple(rows), printable=True)
