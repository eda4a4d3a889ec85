"""Ledger ids in blocks, and shadow balances kept as postings are written.

- The id sequences of ledger_txns and ledger_entries advance by ledger.ID_BLOCK,
  so one nextval reserves a block of ids (PostgreSQL only; SQLite numbers rows
  under its write lock).
- account_balances: each account's balance and entry count, striped over a few
  rows per account, maintained by ledger.post_legs in the posting's own
  transaction; filled here from the entries already written.

Revision ID: 0014
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

BLOCK = 1024  # ledger.ID_BLOCK when this was written (a migration never imports it)
_TABLES = ("ledger_txns", "ledger_entries")


def _set_increment(by: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        # Table names are this migration's constants, never input.
        op.execute(
            "DO $$ BEGIN EXECUTE 'ALTER SEQUENCE ' ||"
            f" pg_get_serial_sequence('{table}', 'id') || ' INCREMENT BY {by}'; END $$"
        )


def upgrade() -> None:
    _set_increment(BLOCK)
    op.create_table(
        "account_balances",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("stripe", sa.SmallInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "stripe"),
    )
    op.execute(
        "INSERT INTO account_balances (account_id, stripe, balance, entries)"
        " SELECT account_id, 0, SUM(amount), COUNT(*) FROM ledger_entries GROUP BY account_id"
    )


def downgrade() -> None:
    op.drop_table("account_balances")
    _set_increment(1)
