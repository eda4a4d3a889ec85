"""``history``: the card's own transaction log (SFI 18) and its balance, shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kiosk.core.views import HistoryLine
from kiosk.core.worker import JobContext
from kiosk.flows.base import Answer, BaseFlow, FlowEnv, Quote

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry

__all__ = ["HistoryFlow"]

_KINDS = {6: "purchase", 2: "load", 9: "ride"}  # 09: a bus ride (composite purchase)


class HistoryFlow(BaseFlow):
    name = "history"

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        ctx.progress("reading_history", None)
        tz = env.clock.now().tzinfo
        lines = tuple(
            HistoryLine(rec.when.replace(tzinfo=tz), _KINDS.get(rec.ttype, f"type_{rec.ttype:02X}"),
                        rec.amount, rec.terminal_id.hex().upper())
            for rec in card.purse.log()
        )  # fmt: skip
        return Answer(entry.id, entry.names, balance_fen=card.purse.balance(), history=lines,
                      printable=True)  # fmt: skip
