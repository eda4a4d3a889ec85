"""Core: terminals, cards and hotlist, double-entry ledger (append-only), records.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table}
    BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
    for table in ("ledger_entries", "ledger_txns")
    for verb in ("update", "delete")
]

_PG_TRIGGERS = [
    """CREATE FUNCTION civicard_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$""",
    *[
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION civicard_append_only()"""
        for table in ("ledger_entries", "ledger_txns")
    ],
    *[
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION civicard_append_only()"""
        for table in ("ledger_entries", "ledger_txns")
    ],
]


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "anomalies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("terminal_id", sa.String(length=12), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("asn", sa.String(length=20), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "hotlist_events",
        sa.Column(
            "version",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "ledger_txns",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("ref", sa.String(length=80), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rejections",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("terminal_id", sa.String(length=12), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "terminal_records",
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("ttype", sa.SmallInteger(), nullable=True),
        sa.Column("atc", sa.Integer(), nullable=True),
        sa.Column("ttc", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("balance_before", sa.BigInteger(), nullable=True),
        sa.Column("balance_after", sa.BigInteger(), nullable=True),
        sa.Column("card_date", sa.String(length=8), nullable=True),
        sa.Column("card_time", sa.String(length=6), nullable=True),
        sa.Column("tac", sa.String(length=8), nullable=True),
        sa.Column("payee", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("load_id", sa.String(length=64), nullable=True),
        sa.Column("ref_seq", sa.BigInteger(), nullable=True),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("ledger_txn_id", sa.BigInteger(), nullable=True),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", "seq"),
    )
    op.create_index(
        "uq_card_txn",
        "terminal_records",
        ["asn", "atc", "ttype"],
        unique=True,
        sqlite_where=sa.text("status IN ('posted', 'suspended')"),
        postgresql_where=sa.text("status IN ('posted', 'suspended')"),
    )
    op.create_index(
        "uq_terminal_ttc",
        "terminal_records",
        ["terminal_id", "ttc"],
        unique=True,
        sqlite_where=sa.text("ttype = 6 AND status IN ('posted', 'suspended')"),
        postgresql_where=sa.text("ttype = 6 AND status IN ('posted', 'suspended')"),
    )
    op.create_table(
        "terminals",
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acked_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("enrolled_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id"),
    )
    op.create_table(
        "cards",
        sa.Column("asn", sa.String(length=20), nullable=False),
        sa.Column("algorithm", sa.SmallInteger(), nullable=False),
        sa.Column("key_version", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("registered_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("asn"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("txn_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        # No foreign keys on the hottest table: a per-row RI trigger costs more
        # than the insert. Only ledger.post writes entries, with its transaction
        # row in the same statement batch; reconcile() counts orphans (always 0).
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_ledger_entries_account_id"), "ledger_entries", ["account_id"], unique=False
    )
    # The ledger is append-only by the database itself, not only by the code.
    triggers = _PG_TRIGGERS if op.get_bind().dialect.name == "postgresql" else _SQLITE_TRIGGERS
    for ddl in triggers:
        op.execute(ddl)
    # Fixed accounts every posting rule refers to.
    op.bulk_insert(
        sa.table("accounts", sa.column("code", sa.String), sa.column("kind", sa.String)),
        [
            {"code": "funding", "kind": "funding"},
            {"code": "settlement", "kind": "settlement"},
            {"code": "suspense", "kind": "suspense"},
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("the ledger is never downgraded")
