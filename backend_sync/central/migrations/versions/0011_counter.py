"""The counter station: operator nonces, counter operations, shifts, audit.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "operator_nonces",
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("used_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_table(
        "counter_ops",
        sa.Column("op_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("operator_asn", sa.String(length=20), nullable=False),
        sa.Column("operator_number", sa.String(length=32), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("drawer", sa.String(length=48), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("load_id", sa.String(length=32), nullable=True),
        sa.Column("funding", sa.String(length=64), nullable=True),
        sa.Column("ref_op", sa.String(length=32), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("op_id"),
    )
    op.create_index("ix_counter_ops_asn", "counter_ops", ["asn"])
    op.create_table(
        "counter_shifts",
        sa.Column("shift_id", sa.String(length=32), nullable=False),
        sa.Column("drawer", sa.String(length=48), nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("operator_asn", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("float_fen", sa.BigInteger(), nullable=False),
        sa.Column("ledger_mark", sa.BigInteger(), nullable=False),
        sa.Column("counted_fen", sa.BigInteger(), nullable=True),
        sa.Column("opened_ms", sa.BigInteger(), nullable=False),
        sa.Column("closed_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("shift_id"),
    )
    op.create_table(
        "counter_audit",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("operator_asn", sa.String(length=20), nullable=False),
        sa.Column("operator_number", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=True),
        sa.Column("op_id", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_counter_audit_operator", "counter_audit", ["operator_asn"])
    op.create_table(
        "issued_cards",
        sa.Column("op_id", sa.String(length=32), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("chip_serial", sa.String(length=16), nullable=True),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("step", sa.String(length=12), nullable=False),
        sa.Column("posted", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("op_id"),
        sa.UniqueConstraint("asn"),
    )
    op.create_table(
        "puk_mailers",
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("puk", sa.String(length=8), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("printed_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("asn"),
    )


def downgrade() -> None:
    op.drop_table("puk_mailers")
    op.drop_table("issued_cards")
    op.drop_index("ix_counter_audit_operator", table_name="counter_audit")
    op.drop_table("counter_audit")
    op.drop_table("counter_shifts")
    op.drop_index("ix_counter_ops_asn", table_name="counter_ops")
    op.drop_table("counter_ops")
    op.drop_table("operator_nonces")
