"""Terminal revocation: when and why a terminal was revoked (a stolen kiosk).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.add_column(sa.Column("revoked_ms", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("revoked_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.drop_column("revoked_reason")
        batch.drop_column("revoked_ms")
