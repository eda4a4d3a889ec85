"""Payment orders, load authorizations (suspense), signed documents.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("published_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", "version"),
    )
    op.create_table(
        "load_auths",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("atc", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_before", sa.BigInteger(), nullable=False),
        sa.Column("mac1", sa.String(length=8), nullable=False),
        sa.Column("mac2", sa.String(length=8), nullable=False),
        sa.Column("card_date", sa.String(length=8), nullable=False),
        sa.Column("card_time", sa.String(length=6), nullable=False),
        sa.Column("funding", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("resolved_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_load_auth_card", "load_auths", ["asn", "atc"], unique=False)
    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("payee", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("paid_terminal_id", sa.String(length=12), nullable=True),
        sa.Column("paid_seq", sa.BigInteger(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("terminal_id", "request_id", name="uq_order_request"),
    )
    # A bill (payee, reference) is held or paid by at most one order at a time.
    op.create_index(
        "uq_order_open_reference",
        "orders",
        ["payee", "reference"],
        unique=True,
        sqlite_where=sa.text("status IN ('held', 'paid')"),
        postgresql_where=sa.text("status IN ('held', 'paid')"),
    )


def downgrade() -> None:
    op.drop_table("documents")
    op.drop_table("load_auths")
    op.drop_table("orders")
