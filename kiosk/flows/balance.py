"""``balance``: the purse's balance (GET BALANCE), shown; nothing to confirm."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kiosk.core.worker import JobContext
from kiosk.flows.base import Answer, BaseFlow, FlowEnv, Quote

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry

__all__ = ["BalanceFlow"]


class BalanceFlow(BaseFlow):
    name = "balance"

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        return Answer(entry.id, entry.names, balance_fen=card.purse.balance(), printable=True)
