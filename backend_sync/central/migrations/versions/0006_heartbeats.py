"""Heartbeats (latest and history) and support bundles.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "heartbeats_latest",
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("boot_id", sa.String(length=32), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("kiosk_ts", sa.BigInteger(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("health", sa.String(length=8), nullable=False),
        sa.Column("faults", sa.Text(), nullable=False),
        sa.Column("backlog", sa.BigInteger(), nullable=False),
        sa.Column("oldest_unsent_s", sa.BigInteger(), nullable=True),
        sa.Column("paper", sa.String(length=16), nullable=False),
        sa.Column("out_of_service", sa.Boolean(), nullable=False),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id"),
    )
    op.create_table(
        "heartbeat_history",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("kiosk_ts", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=8), nullable=False),
        sa.Column("health", sa.String(length=8), nullable=False),
        sa.Column("faults", sa.Text(), nullable=False),
        sa.Column("backlog", sa.BigInteger(), nullable=False),
        sa.Column("paper", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_heartbeat_history_terminal", "heartbeat_history", ["terminal_id", "received_ms"]
    )
    op.create_table(
        "support_bundles",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("terminal_id", "sha256", name="uq_support_bundle"),
    )


def downgrade() -> None:
    op.drop_table("support_bundles")
    op.drop_index("ix_heartbeat_history_terminal", table_name="heartbeat_history")
    op.drop_table("heartbeat_history")
    op.drop_table("heartbeats_latest")
