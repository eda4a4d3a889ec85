"""``appointment`` and ``appointment_cancel``: a slot at the service hall, booked for
the card holder, and its cancellation.

The form is built step by step from what the central says now (:class:`MoreFields`):
the hall's departments, that department's services, the service's free slots. The
booking is made only on the citizen's yes, with a request id fixed when the quote
was made, so a retry books once; the department keeps one open booking per card
per service (``already_booked``). The slip carries the booking number, which
cancels it at any kiosk.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from backend_sync.terminal.client import CentralRefused, CentralUnavailable
from kiosk.codes import FieldError, OutcomeCode
from kiosk.core.forms import FieldSpec
from kiosk.core.views import Language, pick
from kiosk.core.worker import JobContext
from kiosk.flows.base import (
    Answer,
    BaseFlow,
    FlowEnv,
    FormError,
    MoreFields,
    Outcome,
    OutcomeKind,
    Quote,
    QuoteKind,
)
from kiosk.flows.online import ask, need_client, same_in_all
from kiosk.receipts.i18n import label
from kiosk.receipts.slips import Slip

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry
    from kiosk.receipts.layouts import Receipt

__all__ = ["DEPARTMENTS", "AppointmentCancelFlow", "AppointmentFlow", "slot_label"]

MAX_SLOTS = 8  # the next free slots offered: one screen of buttons

# The hall's departments by the code their systems use, in the kiosk's languages.
DEPARTMENTS: Mapping[str, Mapping[str, str]] = {
    "social_security": {"zh-Hans": "社会保障", "zh-Hant": "社會保障", "en": "Social security"},
    "housing_fund": {"zh-Hans": "住房公积金", "zh-Hant": "住房公積金", "en": "Housing fund"},
    "public_security": {"zh-Hans": "公安户政", "zh-Hant": "公安戶政", "en": "Public security"},
}
_FIELDS: Mapping[str, Mapping[str, str]] = {
    "department": {"zh-Hans": "部门", "zh-Hant": "部門", "en": "Department"},
    "service": {"zh-Hans": "事项", "zh-Hant": "事項", "en": "Service"},
    "slot": {"zh-Hans": "时间", "zh-Hant": "時間", "en": "Time"},
}
_FREE = {"zh-Hans": "余{n}", "zh-Hant": "餘{n}", "en": "{n} left"}


def _department(code: str) -> Mapping[str, str]:
    return DEPARTMENTS.get(code) or same_in_all(code)


def slot_label(start: str, free: int) -> dict[str, str]:
    """``2026-12-03T09:30`` with 3 free → ``12-03 09:30 · 余3`` (per language)."""
    when = start[5:16].replace("T", " ")
    return {lang: f"{when} · {fmt.format(n=free)}" for lang, fmt in _FREE.items()}


class AppointmentFlow(BaseFlow):
    """Department → service → a free slot → book (no money)."""

    name = "appointment"
    always_online = True

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        env.need_card()
        client = need_client(env)
        ctx.progress("preparing", None)
        services = ask(client.hall_services).services
        departments = list(dict.fromkeys(s.department for s in services))
        fields = [FieldSpec("department", _FIELDS["department"], "choice",
                            choices=tuple((d, _department(d)) for d in departments))]  # fmt: skip
        dept = values.get("department", "")
        if dept not in departments:
            raise MoreFields(entry.names, tuple(fields))
        mine = {s.code: s.name for s in services if s.department == dept}
        named = tuple((c, same_in_all(n)) for c, n in mine.items())
        fields.append(FieldSpec("service", _FIELDS["service"], "choice", choices=named))
        code = values.get("service", "")
        if code not in mine:
            raise MoreFields(entry.names, tuple(fields))
        ctx.check()
        slots = [s for s in ask(lambda: client.appointment_slots(service=code)).slots if s.free]
        if not slots:
            raise FormError(FieldError.NO_FREE_SLOT, "service")
        slots = slots[:MAX_SLOTS]
        fields.append(FieldSpec("slot", _FIELDS["slot"], "choice",
                                choices=tuple((s.id, slot_label(s.start, s.free))
                                              for s in slots)))  # fmt: skip
        slot = next((s for s in slots if s.id == values.get("slot")), None)
        if slot is None:
            raise MoreFields(entry.names, tuple(fields))
        when = slot.start.replace("T", " ")
        by_lang = {lang: (("department", _department(dept)[lang]), ("service", mine[code]),
                          ("slot", when)) for lang in ("zh-Hans", "zh-Hant", "en")}  # fmt: skip
        return Quote(entry.id, entry.names, self.name, QuoteKind.SUBMIT,
                     details=by_lang["en"], details_by_language=by_lang,
                     data={"service": code, "slot": slot.id, "start": slot.start,
                           "department": dept, "service_name": mine[code],
                           # fixed now: a retried booking is the same booking
                           "request_id": uuid.uuid4().hex[:12]})  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        card, client = env.need_card(), need_client(env)
        ctx.progress("submitting", None)
        d = quote.data
        try:
            b = client.book_appointment(asn=card.asn_hex, service=str(d["service"]),
                                        slot=str(d["slot"]),
                                        request_id=str(d["request_id"]))  # fmt: skip
        except CentralUnavailable:
            return Outcome(False, OutcomeCode.TRY_LATER, OutcomeKind.BOOKING)
        except CentralRefused as exc:
            code = {"slot_past": OutcomeCode.SLOT_FULL}.get(exc.reason)
            code = code or OutcomeCode.from_central(exc.reason)
            return Outcome(False, code, OutcomeKind.BOOKING)
        start = (b.start or str(d["start"])).replace("T", " ")
        return Outcome(True, OutcomeCode.BOOKED, OutcomeKind.BOOKING, reference=b.booking,
                       details=(("slot", start),))  # fmt: skip

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        lang, d = language.value, quote.data
        lines = (
            (label("appt.department", lang), _department(str(d["department"]))[lang]),
            (label("appt.item", lang), str(d["service_name"])),
            (label("appt.time", lang), str(d["start"]).replace("T", " ")),
        )
        return Slip("booking", pick(quote.titles, language), outcome.reference or "-", lines, at,
                    notes=(label("appt.bring", lang),))  # fmt: skip


class AppointmentCancelFlow(BaseFlow):
    """The booking number from the slip → cancel (the card's own bookings only)."""

    name = "appointment_cancel"
    fields = ("booking",)
    always_online = True

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        env.need_card()
        need_client(env)
        number = values["booking"].strip()
        return Quote(entry.id, entry.names, self.name, QuoteKind.SUBMIT,
                     details=(("booking", number),), needs_receipt=False,
                     data={"booking": number})  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        card, client = env.need_card(), need_client(env)
        ctx.progress("submitting", None)
        number = str(quote.data["booking"])
        try:
            client.cancel_appointment(asn=card.asn_hex, booking=number)
        except CentralUnavailable:
            return Outcome(False, OutcomeCode.TRY_LATER, OutcomeKind.BOOKING)
        except CentralRefused as exc:
            # A booking already cancelled reads as not found: nothing to cancel.
            code = OutcomeCode.from_central(exc.reason)
            if exc.reason.startswith("booking_") or exc.reason == "bad_param":
                code = OutcomeCode.BOOKING_NOT_FOUND
            return Outcome(False, code, OutcomeKind.BOOKING)
        return Outcome(True, OutcomeCode.BOOKING_CANCELLED, OutcomeKind.BOOKING, reference=number)
