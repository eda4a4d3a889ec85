"""Payee derivation: the catalog item a purchase names; the disputed-payments account.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The catalog version and service a purchase was sold from: the central derives
    # the payee of a sale without an order from them (also for an unsettled record
    # a later proof settles).
    # Plain ADD COLUMN (both engines): no table rebuild, indexes and data stay.
    op.add_column("terminal_records", sa.Column("catalog_version", sa.BigInteger(), nullable=True))
    op.add_column("terminal_records", sa.Column("service_id", sa.String(length=64), nullable=True))
    op.bulk_insert(
        sa.table("accounts", sa.column("code", sa.String), sa.column("kind", sa.String)),
        [{"code": "disputed", "kind": "disputed"}],
    )


def downgrade() -> None:
    raise NotImplementedError("the ledger is never downgraded")
