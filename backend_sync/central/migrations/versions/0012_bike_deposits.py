"""Public-bike deposits held at the central for a card; a refunded bus fare returned
to the card by a load.

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bike_deposits",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("load_id", sa.String(length=32), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("resolved_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bike_deposits_asn", "bike_deposits", ["asn"])
    op.create_index("ix_bike_deposits_load", "bike_deposits", ["load_id"])
    op.add_column("bus_tickets", sa.Column("refund_status", sa.String(length=12), nullable=True))
    op.add_column("bus_tickets", sa.Column("refund_load_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bus_tickets") as batch:
        batch.drop_column("refund_load_id")
        batch.drop_column("refund_status")
    op.drop_index("ix_bike_deposits_load", table_name="bike_deposits")
    op.drop_index("ix_bike_deposits_asn", table_name="bike_deposits")
    op.drop_table("bike_deposits")
