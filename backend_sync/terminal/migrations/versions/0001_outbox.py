"""Kiosk outbox: intents and hash-chained records, chain head and ack.

Revision ID: k0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "k0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_meta",
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "outbox_records",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("intent", sa.Text, nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("hash", sa.String(64)),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("closed_ms", sa.BigInteger),
    )
    # At most one open intent: the kiosk settles a torn one before selling again.
    op.create_index(
        "uq_one_open_intent",
        "outbox_records",
        ["state"],
        unique=True,
        sqlite_where=sa.text("state = 'open'"),
    )


def downgrade() -> None:
    op.drop_table("outbox_records")
    op.drop_table("outbox_meta")
