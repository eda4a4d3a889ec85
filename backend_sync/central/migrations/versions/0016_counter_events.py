"""Refusals at the counter before an operator was proven (a wrong clerk PIN, a citizen
card as clerk card, a locked session...), sent by the station or decided by the
central, for the counter audit (docs/sync.md, "Station events").

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "counter_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("terminal_id", "seq", name="uq_counter_events_seq"),
    )
    op.create_index("ix_counter_events_asn", "counter_events", ["asn"])


def downgrade() -> None:
    op.drop_index("ix_counter_events_asn", table_name="counter_events")
    op.drop_table("counter_events")
