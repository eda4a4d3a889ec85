"""Feedback records arriving in a batch: each becomes a case (or a refused one).

Called by :class:`backend_sync.central.posting.BatchPoster` inside the batch's
transaction, so a case exists exactly when its record is acknowledged. Rules:

- the record's terminal is the batch's, its tracking number is well formed and
  new, and its card is registered (else the record is ``rejected``, no case);
- identified cases carry a name, pseudonymous ones must not;
- a second open submission by the card for the category on the same (kiosk) day
  is stored as a ``refused`` case, so the citizen's receipt still finds an answer;
- the department's deadline counts from now (arrival), the citizen's wait from
  the kiosk's signed time; a kiosk clock off by more than the rule's skew is flagged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from backend_sync.central.feedback import rules as rules_mod
from backend_sync.central.feedback.calendar import TZ, UnknownYear, WorkCalendar
from backend_sync.central.feedback.models import OPEN_STATES, feedback_cases
from backend_sync.tracking import valid_tracking
from backend_sync.wire import FeedbackRecord

__all__ = ["FeedbackIntake", "iso_week", "local_day"]


def local_day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, TZ).strftime("%Y%m%d")


def iso_week(ms: int) -> str:
    y, w, _ = dt.datetime.fromtimestamp(ms / 1000, TZ).isocalendar()
    return f"{y}W{w:02d}"


def lenient_deadline(cal: WorkCalendar, arrived_ms: int, days: int) -> tuple[int, bool]:
    """The deadline, and False when the year's holidays are missing from the table
    (then only weekends are skipped, and the case is flagged for a person)."""
    try:
        return cal.deadline_ms(arrived_ms, days), True
    except UnknownYear:
        weekdays = WorkCalendar({}, cal.start_h, cal.end_h)
        day = dt.datetime.fromtimestamp(arrived_ms / 1000, TZ).date()
        d = day
        while days > 0:
            d += dt.timedelta(days=1)
            if d.weekday() < 5:
                days -= 1
        end = dt.datetime.combine(d, dt.time(weekdays.end_h), TZ)
        return int(end.timestamp() * 1000), False


class FeedbackIntake:
    """Turns one batch's feedback records into case rows, written in :meth:`write`."""

    def __init__(
        self,
        conn: sa.Connection,
        terminal_id: str,
        now: int,
        cards: dict[str, Any],
        records: list[FeedbackRecord],
    ) -> None:
        """Prefetches, in one query each, what the batch's records need: the rules,
        the categories, tracking numbers already used, and the cards' open cases."""
        self.conn = conn
        self.tid = terminal_id
        self.now = now
        self.cards = cards
        self.cases: list[dict[str, Any]] = []
        self.flags: list[dict[str, Any]] = []
        self.rules = rules_mod.rules(conn)
        self.deadlines: dict[int, tuple[int, bool]] = {}
        self.week = iso_week(now)
        self.categories = rules_mod.categories(conn)
        c = feedback_cases.c
        self.used_tracking: set[str] = set(
            conn.execute(
                sa.select(c.tracking).where(c.tracking.in_({r.tracking for r in records}))
            ).scalars()
        )
        days = {local_day(r.submitted_ms) for r in records}
        self.open_keys: set[tuple[str, str, str]] = {
            (a, b, d)
            for a, b, d in conn.execute(
                sa.select(c.asn, c.category, c.submitted_day).where(
                    c.asn.in_({r.asn for r in records}),
                    c.submitted_day.in_(days),
                    c.state.in_(OPEN_STATES),
                )
            )
        }

    def take(self, rec: FeedbackRecord, h: str) -> dict[str, Any]:
        """The terminal_records row for ``rec`` (status accepted / refused / rejected)."""
        status, reason = self._case(rec)
        return {
            "terminal_id": self.tid, "seq": rec.seq, "kind": "feedback", "status": status,
            "reason": reason, "asn": rec.asn, "ttype": None, "atc": None, "ttc": None,
            "amount": None, "balance_before": None, "balance_after": None, "card_date": None,
            "card_time": None, "tac": None, "payee": None, "order_id": None,
            "load_id": None, "ref_seq": None, "record_hash": h, "ledger_txn_id": None,
            "received_ms": self.now, "catalog_version": None, "service_id": None,
        }  # fmt: skip

    def _case(self, rec: FeedbackRecord) -> tuple[str, str | None]:
        if rec.terminal_id != self.tid:
            return "rejected", "foreign_terminal"
        if not valid_tracking(rec.tracking):
            return "rejected", "bad_tracking"
        if rec.asn not in self.cards:
            return "rejected", "unknown_card"
        if rec.identified != (rec.name is not None):
            return "rejected", "identity_mismatch"
        if rec.tracking in self.used_tracking:
            return "rejected", "duplicate_tracking"
        self.used_tracking.add(rec.tracking)
        cat = self.categories.get(rec.category)
        days = cat.deadline_days if cat else 10
        if days not in self.deadlines:  # one arrival time per batch: once per length
            self.deadlines[days] = lenient_deadline(self.rules.calendar, self.now, days)
        deadline, calendar_known = self.deadlines[days]
        day = local_day(rec.submitted_ms)
        key = (rec.asn, rec.category, day)
        duplicate = key in self.open_keys
        skew = rec.clock_skew_ms
        bound = self.rules.max_skew_s * 1000
        flagged = (skew is not None and abs(skew) > bound) or rec.submitted_ms > self.now + bound
        if duplicate:
            state, refusal = "refused", "one_per_card_category_day"
        elif cat is None or not cat.active:
            # A kiosk offline through a category change: a supervisor dispatches it.
            state, refusal = "accepted", None
        else:
            state, refusal = "dispatched", None
        if state != "refused":
            self.open_keys.add(key)
        if flagged:
            self._flag(rec, "kiosk_clock_skew", f"skew {skew} ms, kiosk {rec.submitted_ms}")
        if not calendar_known:
            self._flag(rec, "holiday_calendar_missing", local_day(self.now)[:4])
        self.cases.append({
            "tracking": rec.tracking, "terminal_id": self.tid, "seq": rec.seq, "asn": rec.asn,
            "identified": rec.identified, "citizen_name": rec.name, "category": rec.category,
            "department": cat.department if cat else "", "ftype": rec.ftype,
            "urgency": rec.urgency, "importance": cat.importance if cat else 2,
            "body": rec.body, "place": rec.place, "lat_e6": rec.lat_e6, "lon_e6": rec.lon_e6,
            "publish_consent": rec.publish_consent, "state": state, "refusal": refusal,
            "submitted_ms": rec.submitted_ms, "submitted_day": day, "arrived_ms": self.now,
            "arrived_week": self.week, "deadline_ms": deadline,
            "clock_skew_ms": skew, "skew_flagged": flagged, "escalated": False,
            "reopened": 0, "updated_ms": self.now,
        })  # fmt: skip
        return ("refused", refusal) if state == "refused" else ("accepted", None)

    def _flag(self, rec: FeedbackRecord, kind: str, detail: str) -> None:
        self.flags.append({"terminal_id": self.tid, "seq": rec.seq, "asn": rec.asn,
                           "kind": kind, "detail": detail, "at_ms": self.now})  # fmt: skip

    def write(self) -> list[dict[str, Any]]:
        """Insert the cases; returns the anomaly rows for the poster to write."""
        if self.cases:
            self.conn.execute(feedback_cases.insert(), self.cases)
        return self.flags
