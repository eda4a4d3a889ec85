"""Keep unsettled records past pruning until the card's proof is appended.

Revision ID: k0002
Revises: k0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "k0002"
down_revision = "k0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox_records", sa.Column("proved_by", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_records") as batch:
        batch.drop_column("proved_by")
