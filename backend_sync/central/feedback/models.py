"""Tables of the feedback domain (migration 0009).

A case row keeps both clocks: ``submitted_ms`` (the kiosk's signed time, where the
citizen's wait starts) and ``arrived_ms`` (when the central stored it, where the
department's deadline starts). The first answer's figures (at once, within two
working days, on time) are fixed on the row when it is given, so the weekly
figures are plain aggregates over an index, whatever the number of cases.
"""

from __future__ import annotations

import sqlalchemy as sa

from backend_sync.central.models import BigId, metadata

__all__ = [
    "OPEN_STATES",
    "STATES",
    "feedback_cases",
    "feedback_categories",
    "feedback_events",
    "feedback_settings",
]

STATES = (
    "accepted",  # stored at the central, not yet routed
    "dispatched",  # in a department's queue
    "in_progress",  # a staff member took it
    "answered",  # the department answered; the citizen may rate it
    "closed",  # rated satisfied, or left unrated past the rating window
    "returned",  # the department says it is not theirs (with a reason): back to dispatch
    "reopened",  # the citizen was not satisfied: back in the department's queue
    "refused",  # never a case: a second open submission of the card for the category that day
)
# States a department still owes work on (the queue), and the "open" of the
# one-per-card-per-category-per-day rule.
OPEN_STATES = ("accepted", "dispatched", "in_progress", "returned", "reopened", "answered")

feedback_categories = sa.Table(
    "feedback_categories",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("department", sa.String(64), nullable=False),
    sa.Column("names", sa.Text, nullable=False),  # JSON {"zh-Hans":..., "zh-Hant":..., "en":...}
    sa.Column("deadline_days", sa.SmallInteger, nullable=False),  # working days
    sa.Column("importance", sa.SmallInteger, nullable=False),  # 1 low .. 3 high, the default
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),  # the publication that last changed it
)

feedback_cases = sa.Table(
    "feedback_cases",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("tracking", sa.String(16), nullable=False, unique=True),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("asn", sa.String(20), nullable=False),  # never shown to a department
    sa.Column("identified", sa.Boolean, nullable=False),
    sa.Column("citizen_name", sa.String(64)),  # only when identified
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("department", sa.String(64), nullable=False),
    sa.Column("ftype", sa.String(8), nullable=False),  # ask | report | suggest
    sa.Column("urgency", sa.SmallInteger, nullable=False),  # 1 normal .. 3 urgent
    sa.Column("importance", sa.SmallInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("place", sa.String(200)),
    sa.Column("lat_e6", sa.Integer),
    sa.Column("lon_e6", sa.Integer),
    sa.Column("publish_consent", sa.Boolean, nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("refusal", sa.String(40)),
    sa.Column("submitted_ms", sa.BigInteger, nullable=False),  # kiosk's signed clock
    sa.Column("submitted_day", sa.String(8), nullable=False),  # its Asia/Shanghai date
    sa.Column("arrived_ms", sa.BigInteger, nullable=False),  # central's clock
    sa.Column("arrived_week", sa.String(8), nullable=False),  # ISO week "2026W49"
    sa.Column("deadline_ms", sa.BigInteger, nullable=False),
    sa.Column("clock_skew_ms", sa.BigInteger),  # kiosk minus central, when known
    sa.Column("skew_flagged", sa.Boolean, nullable=False),
    sa.Column("escalated", sa.Boolean, nullable=False),
    sa.Column("answer", sa.Text),
    sa.Column("answered_ms", sa.BigInteger),
    sa.Column("answered_by", sa.String(64)),
    sa.Column("first_answered_ms", sa.BigInteger),
    sa.Column("at_once", sa.Boolean),
    sa.Column("within_2wd", sa.Boolean),
    sa.Column("on_time", sa.Boolean),
    sa.Column("satisfied", sa.Boolean),
    sa.Column("reopened", sa.SmallInteger, nullable=False),
    sa.Column("closed_ms", sa.BigInteger),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_feedback_queue", "department", "state", "deadline_ms"),
    sa.Index("ix_feedback_week", "arrived_week", "department"),
    sa.Index("ix_feedback_card", "asn", "submitted_ms"),
    # One open submission per card per category per day, kept by the database too.
    sa.Index(
        "uq_feedback_open_per_day",
        "asn",
        "category",
        "submitted_day",
        unique=True,
        sqlite_where=sa.text("state NOT IN ('closed', 'refused')"),
        postgresql_where=sa.text("state NOT IN ('closed', 'refused')"),
    ),
)

feedback_events = sa.Table(
    "feedback_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),  # staff username, "citizen", "central"
    sa.Column("action", sa.String(24), nullable=False),
    sa.Column("from_state", sa.String(12)),
    sa.Column("to_state", sa.String(12)),
    sa.Column("detail", sa.Text, nullable=False),
)

# Rules the city sets (at_once_hours, max_skew_s, rating_days), as text.
feedback_settings = sa.Table(
    "feedback_settings",
    metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("value", sa.String(64), nullable=False),
)
