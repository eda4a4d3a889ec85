"""The ledger partitioned by the central's ingest time; the exactly-once keys beside it.

- record_keys (both engines): one row per terminal record, (terminal, seq) its
  primary key, unique (ASN, ATC, type) and (terminal, TTC) for authentic records
  (the partial unique indexes of terminal_records move here, since a unique index
  on a partitioned table must include the partition key); filled from the records.
- ledger_entries.created_ms: the central's ingest time of the entry (its
  transaction's created_ms; filled from it).
- ledger_archives, archived_balances: months detached to signed archives
  (partitions.py).
- PostgreSQL: ledger_txns, ledger_entries and terminal_records become range-
  partitioned tables (created_ms, created_ms, received_ms); their primary keys
  include that column. The tables as they were become the partition
  ``<table>_history`` (attached, not copied, except the entries, written once
  with their new column: FROM MINVALUE to the start of the month after the latest
  row), or are dropped when empty; month partitions from
  then on are made by partitions.ensure (here: this month and two ahead), plus a
  default partition. The id sequences pass to the new tables. There are no
  foreign keys into or out of these tables (migration 0001), so none to move.

Self-contained (no imports from the application): renumbering it is changing
``revision`` and ``down_revision``.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import calendar
import time

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_KEY = {"ledger_txns": "created_ms", "ledger_entries": "created_ms",
        "terminal_records": "received_ms"}  # fmt: skip
_PK = {"ledger_txns": "id, created_ms", "ledger_entries": "id, created_ms",
       "terminal_records": "terminal_id, seq, received_ms"}  # fmt: skip
_OLD_PK = {"ledger_txns": "id", "ledger_entries": "id", "terminal_records": "terminal_id, seq"}
_NOW_MS = "(floor(extract(epoch FROM clock_timestamp()) * 1000))::bigint"
_AUTH = "status IN ('posted', 'suspended')"

_COLUMNS = {
    "ledger_txns": """id bigint NOT NULL DEFAULT nextval('ledger_txns_id_seq'),
        kind varchar(24) NOT NULL, ref varchar(80) NOT NULL, created_ms bigint NOT NULL""",
    "ledger_entries": f"""id bigint NOT NULL DEFAULT nextval('ledger_entries_id_seq'),
        txn_id bigint NOT NULL, account_id bigint NOT NULL, amount bigint NOT NULL,
        created_ms bigint NOT NULL DEFAULT {_NOW_MS}""",
    "terminal_records": """terminal_id varchar(12) NOT NULL, seq bigint NOT NULL,
        kind varchar(12) NOT NULL, status varchar(12) NOT NULL, reason varchar(40),
        asn varchar(20) NOT NULL, ttype smallint, atc integer, ttc bigint, amount bigint,
        balance_before bigint, balance_after bigint, card_date varchar(8),
        card_time varchar(6), tac varchar(8), payee varchar(64), order_id varchar(64),
        load_id varchar(64), ref_seq bigint, record_hash varchar(64) NOT NULL,
        ledger_txn_id bigint, received_ms bigint NOT NULL, catalog_version bigint,
        service_id varchar(64)""",
}
_LEDGER = ("ledger_txns", "ledger_entries")


def _month_ms(y: int, m: int) -> int:
    return calendar.timegm((y, m, 1, 0, 0, 0)) * 1000


def _next(y: int, m: int) -> tuple[int, int]:
    return (y + 1, 1) if m == 12 else (y, m + 1)


def _month_of(ms: int) -> tuple[int, int]:
    t = time.gmtime(ms // 1000)
    return t.tm_year, t.tm_mon


def _keys_table() -> None:
    op.create_table(
        "record_keys",
        sa.Column("terminal_id", sa.String(length=12), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("asn", sa.String(length=20), nullable=True),
        sa.Column("atc", sa.Integer(), nullable=True),
        sa.Column("ttype", sa.SmallInteger(), nullable=True),
        sa.Column("ttc", sa.BigInteger(), nullable=True),
        sa.Column("tac", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("terminal_id", "seq"),
    )
    keys = (  # this migration's constants only
        f"CASE WHEN {_AUTH} THEN asn END, CASE WHEN {_AUTH} THEN atc END,"
        f" CASE WHEN {_AUTH} THEN ttype END, CASE WHEN {_AUTH} AND ttype IN (6, 9) THEN ttc END,"
        f" CASE WHEN {_AUTH} THEN tac END"
    )
    cols = "terminal_id, seq, received_ms, asn, atc, ttype, ttc, tac"
    fill = f"INSERT INTO record_keys ({cols}) SELECT {cols[:29]}, {keys} FROM terminal_records"  # noqa: S608
    op.execute(fill)
    op.create_index("uq_record_card_txn", "record_keys", ["asn", "atc", "ttype"], unique=True)
    op.create_index("uq_record_ttc", "record_keys", ["terminal_id", "ttc"], unique=True)
    op.create_table(
        "ledger_archives",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("archived_ms", sa.BigInteger(), nullable=False),
        sa.Column("restored_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("month"),
    )
    op.create_table(
        "archived_balances",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "account_id"),
    )


def _triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION civicard_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION civicard_append_only()",
    ]


def _upgrade_sqlite() -> None:
    op.drop_index("uq_card_txn", table_name="terminal_records")
    op.drop_index("uq_terminal_ttc", table_name="terminal_records")
    op.execute(f"CREATE INDEX ix_terminal_records_card ON terminal_records (asn, atc, ttype)"
               f" WHERE {_AUTH}")  # fmt: skip
    # ADD COLUMN cannot take a non-constant default on SQLite; the central always
    # writes it. The append-only triggers are lifted for the one fill.
    op.execute("ALTER TABLE ledger_entries ADD COLUMN created_ms BIGINT NOT NULL DEFAULT 0")
    op.execute("DROP TRIGGER ledger_entries_no_update")
    op.execute(
        "UPDATE ledger_entries SET created_ms = COALESCE((SELECT created_ms FROM ledger_txns"
        " WHERE ledger_txns.id = ledger_entries.txn_id), 0)"
    )
    op.execute("CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries"
               " BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END")  # fmt: skip


def _upgrade_postgresql() -> None:
    bind = op.get_bind()
    op.execute("DROP INDEX uq_card_txn")
    op.execute("DROP INDEX uq_terminal_ttc")
    # The entries' ingest time: their transaction's (0 for an entry citing none).
    # Written once into a table of the history partition's shape, without its
    # indexes (built once below, from the rows): an UPDATE of every entry wrote
    # each row twice and maintained both indexes row by row, 75 % of the
    # migration's time (bench/bench_migrate.py at 10 M records: 486 s, now 106 s).
    op.execute("ALTER SEQUENCE ledger_entries_id_seq OWNED BY NONE")  # kept: passed on below
    op.execute("ALTER TABLE ledger_entries RENAME TO ledger_entries_0016")
    op.execute(
        "CREATE TABLE ledger_entries (id bigint NOT NULL, txn_id bigint NOT NULL,"
        " account_id bigint NOT NULL, amount bigint NOT NULL, created_ms bigint NOT NULL)"
    )
    op.execute("INSERT INTO ledger_entries (id, txn_id, account_id, amount, created_ms)"
               " SELECT e.id, e.txn_id, e.account_id, e.amount, COALESCE(t.created_ms, 0)"
               " FROM ledger_entries_0016 e LEFT JOIN ledger_txns t ON t.id = e.txn_id"
               " ORDER BY e.id")  # fmt: skip
    op.execute("DROP TABLE ledger_entries_0016")  # its triggers and indexes with it
    top = max(
        int(bind.exec_driver_sql(f"SELECT COALESCE(MAX({key}), -1) FROM {t}").scalar_one())  # noqa: S608
        for t, key in _KEY.items()
    )
    keep = top >= 0  # the old rows become the history partition; nothing: dropped
    y, m = _next(*_month_of(max(top, 0)))
    cut = _month_ms(y, m)  # the history ends at the start of the month after the latest row
    for table, key in _KEY.items():
        old = f"{table}_history"
        op.execute(f"ALTER TABLE {table} RENAME TO {old}")
        # A partition's primary key is the parent's (with the partition key); made
        # here so that attaching adopts it rather than failing on a second one.
        # (The entries were rewritten above without their key, indexes and triggers.)
        op.execute(f"ALTER TABLE {old} DROP CONSTRAINT IF EXISTS {table}_pkey")
        if keep:
            op.execute(f"ALTER TABLE {old} ADD CONSTRAINT {old}_pkey PRIMARY KEY ({_PK[table]})")
        if keep and table == "terminal_records":
            op.execute(f"CREATE INDEX {old}_card ON {old} (asn, atc, ttype) WHERE {_AUTH}")
        if table in _LEDGER:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {old}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {old}")
            op.execute(f"ALTER TABLE {old} ALTER COLUMN id DROP DEFAULT")
        op.execute(f"CREATE TABLE {table} ({_COLUMNS[table]}, PRIMARY KEY ({_PK[table]}))"
                   f" PARTITION BY RANGE ({key})")  # fmt: skip
        if table in _LEDGER:
            op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
            for ddl in _triggers(table):
                op.execute(ddl)
        if table == "ledger_entries":
            op.execute("CREATE INDEX ix_ledger_entries_account_id ON ledger_entries (account_id)")
            op.execute(f"ALTER TABLE {table} ALTER COLUMN created_ms SET DEFAULT {_NOW_MS}")
        if table == "terminal_records":
            op.execute(f"CREATE INDEX ix_terminal_records_card ON terminal_records"
                       f" (asn, atc, ttype) WHERE {_AUTH}")  # fmt: skip
        if keep:
            # Attaching adopts the primary key and indexes made above (the same
            # definitions) and scans the rows once to check the bound.
            op.execute(f"ALTER TABLE {table} ATTACH PARTITION {old}"
                       f" FOR VALUES FROM (MINVALUE) TO ({cut})")  # fmt: skip
        else:
            op.execute(f"DROP TABLE {old}")
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        now_y, now_m = _month_of(int(time.time() * 1000))
        ym = (y, m) if keep and (y, m) > (now_y, now_m) else (now_y, now_m)
        for _ in range(3):  # this month and two ahead (partitions.ensure makes the rest)
            lo, hi = _month_ms(*ym), _month_ms(*_next(*ym))
            if lo >= (cut if keep else 0):
                op.execute(f"CREATE TABLE {table}_p{ym[0]:04d}{ym[1]:02d} PARTITION OF {table}"
                           f" FOR VALUES FROM ({lo}) TO ({hi})")  # fmt: skip
            ym = _next(*ym)
    if keep:
        op.execute("ANALYZE ledger_entries_history")  # written anew above: no statistics


def upgrade() -> None:
    _keys_table()
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _downgrade_postgresql() -> None:
    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT 1 FROM ledger_archives WHERE restored_ms IS NULL").first():
        raise RuntimeError("archived months are out of the database: restore them first")
    for table in _KEY:
        new = f"{table}_flat"
        cols = _COLUMNS[table].replace(f"nextval('{table}_id_seq')", "0")
        if table == "ledger_entries":
            cols = cols.split(",\n        created_ms")[0]
        op.execute(f"CREATE TABLE {new} ({cols})")
        names = "id, kind, ref, created_ms" if table == "ledger_txns" else (
            "id, txn_id, account_id, amount" if table == "ledger_entries" else "*")  # fmt: skip
        op.execute(f"INSERT INTO {new} SELECT {names} FROM {table}")  # noqa: S608
        if table in _LEDGER:
            op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {new}.id")
            op.execute(f"ALTER TABLE {new} ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq')")
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE {new} RENAME TO {table}")
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({_OLD_PK[table]})"
        )
        if table in _LEDGER:
            for ddl in _triggers(table):
                op.execute(ddl)
    op.execute("CREATE INDEX ix_ledger_entries_account_id ON ledger_entries (account_id)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        op.execute("DROP TRIGGER ledger_entries_no_update")
        op.execute("ALTER TABLE ledger_entries DROP COLUMN created_ms")
        op.execute("CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries"
                   " BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END")  # fmt: skip
        op.drop_index("ix_terminal_records_card", table_name="terminal_records")
    op.execute(
        f"CREATE UNIQUE INDEX uq_card_txn ON terminal_records (asn, atc, ttype) WHERE {_AUTH}"
    )
    op.execute("CREATE UNIQUE INDEX uq_terminal_ttc ON terminal_records (terminal_id, ttc)"
               f" WHERE ttype IN (6, 9) AND {_AUTH}")  # fmt: skip
    op.drop_table("archived_balances")
    op.drop_table("ledger_archives")
    op.drop_table("record_keys")
