"""Feedback: categories routed to departments, cases with both clocks, case events.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feedback_categories",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("deadline_days", sa.SmallInteger(), nullable=False),
        sa.Column("importance", sa.SmallInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "feedback_cases",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tracking", sa.String(length=16), nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("identified", sa.Boolean(), nullable=False),
        sa.Column("citizen_name", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("ftype", sa.String(length=8), nullable=False),
        sa.Column("urgency", sa.SmallInteger(), nullable=False),
        sa.Column("importance", sa.SmallInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("lat_e6", sa.Integer(), nullable=True),
        sa.Column("lon_e6", sa.Integer(), nullable=True),
        sa.Column("publish_consent", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("refusal", sa.String(length=40), nullable=True),
        sa.Column("submitted_ms", sa.BigInteger(), nullable=False),
        sa.Column("submitted_day", sa.String(length=8), nullable=False),
        sa.Column("arrived_ms", sa.BigInteger(), nullable=False),
        sa.Column("arrived_week", sa.String(length=8), nullable=False),
        sa.Column("deadline_ms", sa.BigInteger(), nullable=False),
        sa.Column("clock_skew_ms", sa.BigInteger(), nullable=True),
        sa.Column("skew_flagged", sa.Boolean(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_ms", sa.BigInteger(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("first_answered_ms", sa.BigInteger(), nullable=True),
        sa.Column("at_once", sa.Boolean(), nullable=True),
        sa.Column("within_2wd", sa.Boolean(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("reopened", sa.SmallInteger(), nullable=False),
        sa.Column("closed_ms", sa.BigInteger(), nullable=True),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tracking"),
    )
    op.create_index("ix_feedback_queue", "feedback_cases", ["department", "state", "deadline_ms"])
    op.create_index("ix_feedback_week", "feedback_cases", ["arrived_week", "department"])
    op.create_index("ix_feedback_card", "feedback_cases", ["asn", "submitted_ms"])
    op.create_index(
        "uq_feedback_open_per_day",
        "feedback_cases",
        ["asn", "category", "submitted_day"],
        unique=True,
        sqlite_where=sa.text("state NOT IN ('closed', 'refused')"),
        postgresql_where=sa.text("state NOT IN ('closed', 'refused')"),
    )
    op.create_table(
        "feedback_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_state", sa.String(length=12), nullable=True),
        sa.Column("to_state", sa.String(length=12), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_events_case_id", "feedback_events", ["case_id"])
    op.create_table(
        "feedback_settings",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    for t in ("feedback_settings", "feedback_events", "feedback_cases", "feedback_categories"):
        op.drop_table(t)
