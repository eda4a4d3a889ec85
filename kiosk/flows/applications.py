"""``application_progress``: where the card holder's applications stand — steps done,
the current step, the department, the expected date — all of them, or the one whose
number was typed. The central looks a number up among the holder's own only, so
another person's number reads as unknown (``application_not_found``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kiosk.codes import FieldError
from kiosk.core.worker import JobContext
from kiosk.flows.base import Answer, FlowEnv, FormError, Quote
from kiosk.flows.city import CityQueryFlow, ask

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry

__all__ = ["ApplicationProgressFlow"]

_NUMBER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


class ApplicationProgressFlow(CityQueryFlow):
    name = "application_progress"
    fields = ("number",)  # may be left empty: then every application of the holder

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        number = values.get("number", "").strip().upper()
        if number and (len(number) > 32 or not set(number) <= _NUMBER_CHARS):
            raise FormError(FieldError.APPLICATION_NOT_FOUND, "number")
        not_found = {"application_not_found": (FieldError.APPLICATION_NOT_FOUND, "number")}
        got = ask(env, ctx, lambda c: c.application_progress(asn=card.asn_hex,
                                                             number=number or None),
                  not_found=not_found)  # fmt: skip
        rows: list[tuple[str, str]] = []
        for a in got.applications:
            rows += [
                ("application", a.number),
                ("matter", a.title),
                ("department", a.department),
                ("steps_done", " → ".join(a.steps_done) or "v.none"),
                ("current_step", a.current_step),
                ("expected_date", a.expected_date),
            ]
        if not rows:
            rows = [("applications", "v.none")]
        return Answer(entry.id, entry.names, details=tuple(rows), printable=True)
