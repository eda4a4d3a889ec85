"""A case's life after arrival: dispatch, take, answer, return, escalate, rate.

Every change is one transaction that moves the state (checked against the state
it came from, so two staff members cannot both act on one state) and writes a
``feedback_events`` line. Department staff act only on their department's
cases; :func:`visible` is the one check, used by every page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from backend_sync.central.feedback import rules as rules_mod
from backend_sync.central.feedback.intake import lenient_deadline
from backend_sync.central.feedback.models import feedback_cases, feedback_events
from backend_sync.central.service import Central, Refused

__all__ = [
    "Actor",
    "answer",
    "clocks",
    "close_unrated",
    "dispatch",
    "escalate",
    "escalate_overdue",
    "events",
    "get_case",
    "lookup",
    "queue",
    "rate",
    "return_case",
    "take",
    "visible",
]

c = feedback_cases.c
WAITING = ("dispatched", "in_progress", "reopened")  # a department owes an answer
# Called inside the change's transaction (the console audits there).
AuditHook = Callable[[sa.Connection], None]


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member's name, role and department (None: every one)."""

    username: str
    role: str
    department: str | None


def visible(actor: Actor, row: Any) -> bool:
    """Department staff see their department's cases only; supervisors see all."""
    if actor.role == "supervisor":
        return True
    return actor.role == "department_staff" and row.department == actor.department


def get_case(central: Central, actor: Actor, case_id: int) -> Any:
    """The case row, or 404 (also for a case of another department: its existence
    is not confirmed)."""
    with central.engine.connect() as conn:
        row = conn.execute(sa.select(feedback_cases).where(c.id == case_id)).first()
    if row is None or row.state == "refused" or not visible(actor, row):
        raise Refused(404, "no_such_case")
    return row


def events(central: Central, case_id: int) -> list[Any]:
    with central.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(feedback_events)
                .where(feedback_events.c.case_id == case_id)
                .order_by(feedback_events.c.id)
            )
        )


def queue(central: Central, actor: Actor, *, limit: int = 200) -> list[Any]:
    """Open cases of the actor's department (a supervisor: every department, and
    also the returned and undispatched ones), soonest deadline first."""
    states = ("accepted", "returned", *WAITING, "answered")
    q = sa.select(feedback_cases).where(c.state.in_(states))
    if actor.role != "supervisor":
        q = q.where(c.department == (actor.department or "\x00"), c.state != "returned")
    q = q.order_by(c.deadline_ms, c.urgency.desc(), c.importance.desc(), c.id).limit(limit)
    with central.engine.connect() as conn:
        return list(conn.execute(q))


def _move(
    central: Central,
    actor: Actor,
    case_id: int,
    *,
    from_states: tuple[str, ...],
    action: str,
    detail: str = "",
    to_state: str | None = None,
    values: dict[str, Any] | None = None,
    supervisor_only: bool = False,
    audit: AuditHook | None = None,
) -> None:
    if supervisor_only and actor.role != "supervisor":
        raise Refused(403, "supervisor_only")
    row = get_case(central, actor, case_id)
    if row.state not in from_states:
        raise Refused(409, "wrong_state", f"{row.state} -> {action}")
    now = central.now_ms()
    vals = dict(values or {})
    vals["updated_ms"] = now
    if to_state is not None:
        vals["state"] = to_state
    with central.engine.begin() as conn:
        done = conn.execute(
            feedback_cases.update().where(c.id == case_id, c.state == row.state).values(**vals)
        ).rowcount
        if done != 1:
            raise Refused(409, "changed_meanwhile")
        conn.execute(
            feedback_events.insert().values(
                case_id=case_id, at_ms=now, actor=actor.username[:64], action=action,
                from_state=row.state, to_state=to_state or row.state, detail=detail[:2000],
            )
        )  # fmt: skip
        if audit is not None:
            audit(conn)


def dispatch(
    central: Central, actor: Actor, case_id: int, department: str, audit: AuditHook | None = None
) -> None:
    """A supervisor routes an undispatched or returned case to a department."""
    if not department or len(department) > 64:
        raise Refused(422, "department_required")
    _move(central, actor, case_id, from_states=("accepted", "returned"), action="dispatch",
          detail=department, to_state="dispatched", values={"department": department},
          supervisor_only=True, audit=audit)  # fmt: skip


def take(central: Central, actor: Actor, case_id: int, audit: AuditHook | None = None) -> None:
    """A staff member starts on the case."""
    _move(central, actor, case_id, from_states=("dispatched", "reopened"), action="take",
          to_state="in_progress", audit=audit)  # fmt: skip


def return_case(
    central: Central, actor: Actor, case_id: int, reason: str, audit: AuditHook | None = None
) -> None:
    """Not this department's: back to dispatch, with the reason (required)."""
    if not reason.strip():
        raise Refused(422, "reason_required")
    _move(central, actor, case_id, from_states=WAITING, action="return", detail=reason.strip(),
          to_state="returned", audit=audit)  # fmt: skip


def escalate(
    central: Central, actor: Actor, case_id: int, reason: str, audit: AuditHook | None = None
) -> None:
    """Put the case before a supervisor (it stays where it is)."""
    _move(central, actor, case_id, from_states=("accepted", "returned", *WAITING),
          action="escalate", detail=reason.strip(), values={"escalated": True},
          audit=audit)  # fmt: skip


def answer(
    central: Central, actor: Actor, case_id: int, text: str, audit: AuditHook | None = None
) -> None:
    """The department's answer; the first one fixes the case's figures."""
    text = text.strip()
    if not text or len(text) > 4000:
        raise Refused(422, "answer_required")
    row = get_case(central, actor, case_id)
    now = central.now_ms()
    vals: dict[str, Any] = {"answer": text, "answered_ms": now, "answered_by": actor.username}
    if row.first_answered_ms is None:
        with central.engine.connect() as conn:
            r = rules_mod.rules(conn)
        worked = r.calendar.working_ms_between(row.arrived_ms, now)
        two_days, _ = lenient_deadline(r.calendar, row.arrived_ms, 2)
        vals.update(
            first_answered_ms=now,
            at_once=worked <= r.at_once_hours * 3_600_000,
            within_2wd=now <= two_days,
            on_time=now <= row.deadline_ms,
        )
    _move(central, actor, case_id, from_states=WAITING, action="answer", detail=text,
          to_state="answered", values=vals, audit=audit)  # fmt: skip


def escalate_overdue(central: Central) -> int:
    """Every case past its deadline without an answer goes to the supervisors;
    returns how many were escalated now."""
    now = central.now_ms()
    with central.engine.begin() as conn:
        ids = list(
            conn.execute(
                sa.select(c.id).where(
                    c.state.in_(("accepted", "returned", *WAITING)),
                    c.deadline_ms < now,
                    ~c.escalated,
                )
            ).scalars()
        )
        if ids:
            conn.execute(feedback_cases.update().where(c.id.in_(ids)).values(escalated=True))
            conn.execute(
                feedback_events.insert(),
                [{"case_id": i, "at_ms": now, "actor": "central", "action": "overdue",
                  "from_state": None, "to_state": None, "detail": ""} for i in ids],
            )  # fmt: skip
    return len(ids)


def close_unrated(central: Central) -> int:
    """Answered cases nobody rated within the rating window close."""
    now = central.now_ms()
    with central.engine.begin() as conn:
        window = rules_mod.rules(conn).rating_days * 86_400_000
        res = conn.execute(
            feedback_cases.update()
            .where(c.state == "answered", c.answered_ms < now - window)
            .values(state="closed", closed_ms=now, updated_ms=now)
        )
    return int(res.rowcount)


def lookup(central: Central, *, tracking: str | None = None, asn: str | None = None) -> list[Any]:
    """Cases by receipt number (one) or by card (the last 20)."""
    q = sa.select(feedback_cases)
    if tracking is not None:
        q = q.where(c.tracking == tracking)
    elif asn is not None:
        q = q.where(c.asn == asn).order_by(c.submitted_ms.desc()).limit(20)
    else:
        return []
    with central.engine.connect() as conn:
        return list(conn.execute(q))


def rate(central: Central, *, tracking: str, asn: str, satisfied: bool) -> str:
    """The citizen's verdict on the answer (their card must be the case's):
    satisfied closes the case, not satisfied reopens it with a fresh deadline."""
    rows = lookup(central, tracking=tracking)
    if not rows or rows[0].asn != asn:
        raise Refused(404, "no_such_case")
    row = rows[0]
    if row.state != "answered":
        raise Refused(409, "not_answered")
    now = central.now_ms()
    actor = Actor("citizen", "supervisor", None)  # the card proved it is theirs
    if satisfied:
        _move(central, actor, row.id, from_states=("answered",), action="rated_satisfied",
              to_state="closed", values={"satisfied": True, "closed_ms": now})  # fmt: skip
        return "closed"
    with central.engine.connect() as conn:
        r = rules_mod.rules(conn)
        cat = rules_mod.categories(conn).get(row.category)
    deadline, _ = lenient_deadline(r.calendar, now, cat.deadline_days if cat else 10)
    _move(central, actor, row.id, from_states=("answered",), action="rated_unsatisfied",
          to_state="reopened", values={"satisfied": False, "deadline_ms": deadline,
                                       "reopened": row.reopened + 1})  # fmt: skip
    return "reopened"


def clocks(row: Any, now: int) -> tuple[int, int]:
    """(citizen's wait, department's time) in ms, to the answer or to ``now``. The
    wait starts at the kiosk's signed time, but never after arrival (a kiosk clock
    running ahead does not shorten it below the department's)."""
    end = row.answered_ms if row.state in ("answered", "closed") and row.answered_ms else now
    start = min(row.submitted_ms, row.arrived_ms)
    return max(0, end - start), max(0, end - row.arrived_ms)
