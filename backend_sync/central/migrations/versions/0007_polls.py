"""Polls: the poll documents and keys, tokens issued per card, spent-token ballots.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("poll_id", sa.String(length=32), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("poll_id"),
    )
    op.create_table(
        "poll_tokens",
        sa.Column("poll_id", sa.String(length=32), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("blinded_sha256", sa.String(length=64), nullable=False),
        sa.Column("blind_sig", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("poll_id", "asn"),
    )
    op.create_table(
        "poll_ballots",
        sa.Column("poll_id", sa.String(length=32), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("choice", sa.SmallInteger(), nullable=False),
        sa.Column("release_slot", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("poll_id", "token_sha256"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("poll_ballots")
    op.drop_table("poll_tokens")
    op.drop_table("polls")
