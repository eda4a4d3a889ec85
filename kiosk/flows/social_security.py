"""``social_security``: the card holder's contributions by month (pension, medical,
unemployment) and the medical insurance account's balance, from the social security
department through the central; printable as a statement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kiosk.core.worker import JobContext
from kiosk.flows.base import Answer, FlowEnv, Quote
from kiosk.flows.city import CityQueryFlow, ask, money, plain_money

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry

__all__ = ["SocialSecurityFlow"]


class SocialSecurityFlow(CityQueryFlow):
    name = "social_security"

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        got = ask(env, ctx, lambda c: c.social_security(asn=card.asn_hex))
        rows: list[tuple[str, str]] = [
            ("medical_balance", money(got.medical_balance)),
            ("pension_total", money(sum(m.pension for m in got.months))),
            ("contributions", "v.pension_medical_unemployment"),
        ]
        rows += [
            (m.month, " / ".join(plain_money(x) for x in (m.pension, m.medical, m.unemployment)))
            for m in got.months
        ]
        return Answer(entry.id, entry.names, details=tuple(rows), printable=True)
