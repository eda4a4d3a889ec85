"""``change_pin``: CHANGE REFERENCE DATA with the form's three PIN fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from cardlib.errors import InvalidPinError, PinBlockedError
from kiosk.codes import OutcomeCode
from kiosk.core.worker import JobContext
from kiosk.flows.base import Answer, BaseFlow, FlowEnv, Outcome, OutcomeKind, Quote, QuoteKind

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry

__all__ = ["ChangePinFlow"]


class ChangePinFlow(BaseFlow):
    name = "change_pin"
    fields = ("old_pin", "new_pin", "new_pin_again")

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        env.need_card()
        return Quote(entry.id, entry.names, self.name, QuoteKind.CHANGE_PIN, needs_receipt=False)

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        card = env.need_card()
        kind = OutcomeKind.CARD_CHANGE
        try:
            card.identity.change_pin(pins["old_pin"], pins["new_pin"])
        except InvalidPinError as exc:
            code = OutcomeCode.PIN_BLOCKED if exc.tries_left == 0 else OutcomeCode.WRONG_PIN
            return Outcome(False, code, kind)
        except PinBlockedError:
            return Outcome(False, OutcomeCode.PIN_BLOCKED, kind)
        return Outcome(True, OutcomeCode.PIN_CHANGED, kind)
