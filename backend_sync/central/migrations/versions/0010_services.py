"""City services: query audit, biller notices of paid orders, bus tickets and boardings.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "service_audit",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=True),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_service_audit_asn", "service_audit", ["asn"])
    op.create_table(
        "department_notices",
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_table(
        "bus_tickets",
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("departure", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("time", sa.String(length=5), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("fare", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
        sa.UniqueConstraint("terminal_id", "request_id", name="uq_bus_ticket_request"),
    )
    op.create_table(
        "bus_boardings",
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("departure", sa.String(length=64), nullable=False),
        sa.Column("validator_id", sa.String(length=12), nullable=False),
        sa.Column("reported_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )


def downgrade() -> None:
    op.drop_table("bus_boardings")
    op.drop_table("bus_tickets")
    op.drop_table("department_notices")
    op.drop_index("ix_service_audit_asn", table_name="service_audit")
    op.drop_table("service_audit")
