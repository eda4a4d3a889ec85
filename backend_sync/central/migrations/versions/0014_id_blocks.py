"""Ledger ids in blocks: the id sequences of ledger_txns and ledger_entries advance
by ledger.ID_BLOCK, so one nextval reserves a block of ids (PostgreSQL only;
SQLite numbers rows under its write lock).

Revision ID: 0014
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0010"
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


def downgrade() -> None:
    _set_increment(1)
