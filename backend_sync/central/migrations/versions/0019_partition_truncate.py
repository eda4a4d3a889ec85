"""Each partition of the append-only ledger tables refuses TRUNCATE, as the table does.

PostgreSQL clones a partitioned table's row triggers onto its partitions, but not
its statement triggers: ``TRUNCATE ledger_entries`` was refused while
``TRUNCATE ledger_entries_p202612`` (or ``_history``, ``_default``) emptied a
month. Every partition of ledger_txns and ledger_entries held now gets the
parent's BEFORE TRUNCATE trigger; partitions made later get it where they are
made (partitions._guard). SQLite has no TRUNCATE (its DELETE triggers refuse).

Self-contained (no imports from the application): renumbering it is changing
``revision`` and ``down_revision``.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_LEDGER = ("ledger_txns", "ledger_entries")
_PARTITIONS = (
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s"
    " AND p.relnamespace = current_schema()::regnamespace ORDER BY 1"
)


def _partitions(table: str) -> list[str]:
    return [str(r[0]) for r in op.get_bind().exec_driver_sql(_PARTITIONS, (table,))]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _LEDGER:
        for part in _partitions(table):  # names from the catalog, quoted
            op.execute(
                f'CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON "{part}"'
                " FOR EACH STATEMENT EXECUTE FUNCTION civicard_append_only()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _LEDGER:
        for part in _partitions(table):
            op.execute(f'DROP TRIGGER IF EXISTS {table}_no_truncate ON "{part}"')
