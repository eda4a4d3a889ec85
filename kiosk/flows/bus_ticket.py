"""``bus_ticket`` and ``bus_refund``: a long-distance bus ticket from the central's
timetable, paid from the purse, printed with the QR the central signs for one
departure; and giving the seat back before departure.

The form follows the timetable step by step (:class:`MoreFields`): the day, the
route (destinations with seats that day), the departure. On yes the station
reserves a seat and the central holds the fare as an order for this card
(``hold_bus_ticket``); the purse is debited citing the order, the record uploaded
at once, and the central signs the ticket's QR for the paid order. A debit that did
not happen releases the order (the central then gives the seat back). If the
central has not seen the payment yet, the ticket prints without its QR and says
what to do with its ticket number.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from backend_sync.terminal.client import CentralRefused, CentralUnavailable
from backend_sync.terminal.outbox import SalesStopped
from cardlib.purse import DebitOutcomeUnknown
from kiosk.codes import FieldError, Notice, OutcomeCode
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
    PayeeRef,
    PayeeSource,
    Quote,
    QuoteKind,
    ServiceUnavailable,
)
from kiosk.flows.bill import BillFlow
from kiosk.flows.online import ask, need_client, same_in_all, upload_now
from kiosk.flows.payment import load_receipt, pay_from_purse
from kiosk.money import format_fen
from kiosk.receipts.i18n import label
from kiosk.receipts.layouts import Receipt
from kiosk.receipts.slips import Slip

if TYPE_CHECKING:
    from backend_sync.services_wire import BusTicket
    from kiosk.catalog import ServiceEntry

__all__ = ["BusRefundFlow", "BusTicketFlow"]

log = logging.getLogger(__name__)
_TZ = ZoneInfo("Asia/Shanghai")
DAYS_AHEAD = 3  # today and the next two days
_LANGS = ("zh-Hans", "zh-Hant", "en")
_FIELDS: Mapping[str, Mapping[str, str]] = {
    "day": {"zh-Hans": "日期", "zh-Hant": "日期", "en": "Date"},
    "route": {"zh-Hans": "到达", "zh-Hant": "到達", "en": "To"},
    "departure": {"zh-Hans": "班次", "zh-Hant": "班次", "en": "Departure"},
}
_DAY_WORDS = ({"zh-Hans": "今天", "zh-Hant": "今天", "en": "today"},
              {"zh-Hans": "明天", "zh-Hant": "明天", "en": "tomorrow"},
              {"zh-Hans": "后天", "zh-Hant": "後天", "en": "day after"})  # fmt: skip
_SEATS = {"zh-Hans": "余{n}座", "zh-Hant": "餘{n}座", "en": "{n} seats"}


def _now_local(env: FlowEnv) -> dt.datetime:
    return env.clock.now().astimezone(_TZ)


def _days(env: FlowEnv) -> tuple[tuple[str, Mapping[str, str]], ...]:
    today = _now_local(env).date()
    out = []
    for k in range(DAYS_AHEAD):
        d = today + dt.timedelta(days=k)
        out.append((d.isoformat(), {lang: f"{d:%m-%d} {_DAY_WORDS[k][lang]}" for lang in _LANGS}))
    return tuple(out)


class BusTicketFlow(BaseFlow):
    """Day → route → departure → pay → the ticket with the central's QR."""

    name = "bus_ticket"
    payee = PayeeSource.PAYMENT_ORDER
    always_online = True

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        client = need_client(env)
        days = _days(env)
        fields = [FieldSpec("day", _FIELDS["day"], "choice", choices=days)]
        day = values.get("day", "")
        if day not in {d for d, _ in days}:
            raise MoreFields(entry.names, tuple(fields))
        ctx.progress("preparing", None)
        now = _now_local(env).strftime("%Y-%m-%dT%H:%M")
        deps = [d for d in ask(lambda: client.bus_timetable(day=day)).departures
                if d.seats_left > 0 and f"{d.day}T{d.time}" > now]  # fmt: skip
        if not deps:
            raise FormError(FieldError.NO_DEPARTURE, "day")
        routes = list(dict.fromkeys(d.destination for d in deps))
        fields.append(FieldSpec("route", _FIELDS["route"], "choice",
                                choices=tuple((r, same_in_all(r)) for r in routes)))  # fmt: skip
        route = values.get("route", "")
        if route not in routes:
            raise MoreFields(entry.names, tuple(fields))
        mine = [d for d in deps if d.destination == route]
        fields.append(FieldSpec("departure", _FIELDS["departure"], "choice", max_length=64,
                                choices=tuple((d.id, {lang: f"{d.time} · {format_fen(d.fare)} · "
                                               f"{_SEATS[lang].format(n=d.seats_left)}"
                                               for lang in _LANGS}) for d in mine)))  # fmt: skip
        dep = next((d for d in mine if d.id == values.get("departure")), None)
        if dep is None:
            raise MoreFields(entry.names, tuple(fields))
        balance = card.purse.balance()
        if balance < dep.fare:
            raise ServiceUnavailable(Notice.INSUFFICIENT_BALANCE)
        details = (("route", f"{dep.origin} → {dep.destination}"),
                   ("departure", f"{dep.day} {dep.time}"))  # fmt: skip
        return Quote(entry.id, entry.names, self.name, QuoteKind.DEBIT, dep.fare, "bus", details,
                     balance, payee_ref=PayeeRef(PayeeSource.PAYMENT_ORDER, entry.id,
                                                 env.catalog_version),
                     data={"departure": dep.id, "route": details[0][1], "when": details[1][1],
                           "request_id": uuid.uuid4().hex})  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        card, client = env.need_card(), need_client(env)
        ctx.progress("holding_order", None)
        try:
            hold = client.hold_bus_ticket(asn=card.asn_hex, departure=str(quote.data["departure"]),
                                          request_id=str(quote.data["request_id"]))  # fmt: skip
        except CentralUnavailable:
            return Outcome(False, OutcomeCode.TRY_LATER, OutcomeKind.TICKET)
        except CentralRefused as exc:
            return Outcome(False, OutcomeCode.from_central(exc.reason), OutcomeKind.TICKET)
        try:
            paid = pay_from_purse(quote, env, ctx, order_id=hold.order_id)
        except Exception as exc:
            if not isinstance(exc, DebitOutcomeUnknown):  # the card decides a lost DEBIT
                BillFlow().release_order(env, hold.order_id, type(exc).__name__)
            raise
        if not paid.ok:
            BillFlow().release_order(env, hold.order_id, paid.code)
            return paid
        ticket = _issue(env, card.asn_hex, hold.ticket_id)
        code = OutcomeCode.TICKET_ISSUED if ticket is not None else OutcomeCode.TICKET_PENDING
        return Outcome(True, code, OutcomeKind.TICKET, paid.amount_fen, paid.balance_after_fen,
                       paid.transaction_id, ttc=paid.ttc, reference=hold.ticket_id,
                       details=(("seat", str(hold.seat)),
                                ("qr", ticket.qr if ticket else "")))  # fmt: skip

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        d, extra = quote.data, dict(outcome.details)
        return ticket_slip(pick(quote.titles, language), language.value,
                           outcome.reference or "-", str(d["route"]), str(d["when"]),
                           extra.get("seat", ""), quote.amount_fen, extra.get("qr", ""),
                           outcome.transaction_id or "", at)  # fmt: skip


def _issue(env: FlowEnv, asn: str, ticket_id: str) -> BusTicket | None:
    """The signed ticket, once the central has the payment: upload now, then ask."""
    client = need_client(env)
    upload_now(env)
    try:
        return client.bus_ticket(asn=asn, ticket_id=ticket_id)
    except (CentralRefused, CentralUnavailable) as exc:
        log.info("ticket %s without its QR for now: %s", ticket_id, exc)
        return None


def ticket_slip(
    title: str, lang: str, ticket_id: str, route: str, when: str, seat: str, fare: int,
    qr: str, transaction: str, at: dt.datetime,
) -> Slip:  # fmt: skip
    """The printed ticket: route, departure, seat, fare and the central's QR."""
    lines = [
        (label("bus.route", lang), route),
        (label("bus.departure", lang), when),
        (label("bus.seat", lang), seat),
        (label("bus.fare", lang), format_fen(fare)),
    ]
    if transaction:
        lines.append((label("transaction", lang), transaction))
    notes = () if qr else (label("bus.pending", lang),)
    return Slip("ticket", title, ticket_id, tuple(lines), at, notes=notes, code=qr,
                code_caption=label("bus.board", lang) if qr else "")  # fmt: skip


class BusRefundFlow(BaseFlow):
    """The ticket number → the ticket shown → the seat given back (until departure)
    and the fare back onto the purse: a load funded by the refunded fare, which the
    central holds in ``payee:bus`` (MAC2 from the central, as a top-up). A refund
    whose load did not happen is finished by asking again with the same number."""

    name = "bus_refund"
    fields = ("ticket",)
    payee = PayeeSource.FUNDING
    always_online = True

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        client = need_client(env)
        number = values["ticket"].strip().lower()
        try:
            try:
                t = client.bus_ticket(asn=card.asn_hex, ticket_id=number)
            except CentralRefused as exc:
                if exc.reason != "ticket_refunded":
                    raise
                # The seat is back already: is the fare too? (asking again changes nothing)
                t = client.refund_bus_ticket(asn=card.asn_hex, ticket_id=number)
        except CentralUnavailable as exc:
            raise ServiceUnavailable(Notice.DEPARTMENT_UNAVAILABLE) from exc
        except CentralRefused as exc:
            if exc.reason in ("ticket_not_found", "bad_param"):
                raise FormError(FieldError.TICKET_NOT_FOUND, "ticket") from exc
            raise ServiceUnavailable(Notice.SERVICE_UNAVAILABLE) from exc
        if t.status == "fare_returned":
            raise FormError(FieldError.TICKET_REFUNDED, "ticket")
        details = (("route", f"{t.origin} → {t.destination}"), ("departure", f"{t.day} {t.time}"),
                   ("seat", str(t.seat)))  # fmt: skip
        return Quote(entry.id, entry.names, self.name, QuoteKind.LOAD, t.fare, "bus", details,
                     card.purse.balance(),
                     payee_ref=PayeeRef(PayeeSource.FUNDING, entry.id, env.catalog_version),
                     data={"ticket": t.ticket_id,
                           "seat_back": t.status == "refunded"})  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        card, tx, client = env.need_card(), env.need_tx(), need_client(env)
        ctx.progress("submitting", None)
        number = str(quote.data["ticket"])
        try:
            if not quote.data.get("seat_back"):
                client.refund_bus_ticket(asn=card.asn_hex, ticket_id=number)
            done = tx.load(card.purse, client, quote.amount_fen, funding=f"bus_refund:{number}")
        except CentralUnavailable:
            return Outcome(False, OutcomeCode.TRY_LATER, OutcomeKind.TICKET)
        except CentralRefused as exc:
            return Outcome(False, OutcomeCode.from_central(exc.reason), OutcomeKind.TICKET)
        except SalesStopped:
            return Outcome(False, OutcomeCode.SALES_STOPPED, OutcomeKind.LOAD)
        env.on_record()
        return Outcome(True, OutcomeCode.TICKET_REFUNDED, OutcomeKind.LOAD, quote.amount_fen,
                       done.balance_after, done.transaction_id, reference=number)  # fmt: skip

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        return load_receipt(quote, outcome, at)
