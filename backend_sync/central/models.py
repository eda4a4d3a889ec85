"""Tables of the central database (SQLAlchemy Core; Alembic owns the DDL).

Times are Unix milliseconds (integers: cheap to bulk-insert, identical on both
engines). Bytes are upper-case hex, as on the wire. The unique indexes of
``record_keys`` are the database's own guard behind the ingest checks: one record
per (terminal, seq), one authentic record per (ASN, ATC, type) across all
terminals and one per (terminal, TTC).

Revision 0017: on PostgreSQL ``ledger_txns``, ``ledger_entries`` and
``terminal_records`` are range-partitioned by the central's ingest time
(``created_ms``, ``created_ms``, ``received_ms``; see partitions.py), so their
primary keys include it and the exactly-once keys live in the unpartitioned
``record_keys``. SQLite keeps them unpartitioned, with the same keys table.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Record statuses that stand for money the card really moved (valid TAC).
AUTHENTIC = ("posted", "suspended")
# Transaction types that debit the purse under the offline ATC and a PSAM's TTC:
# the purse purchase (06) and the composite (transit) purchase (09).
DEBIT_TYPES = (6, 9)

terminals = sa.Table(
    "terminals",
    metadata,
    sa.Column("terminal_id", sa.String(12), primary_key=True),
    sa.Column("cert_pem", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("acked_seq", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("enrolled_ms", sa.BigInteger, nullable=False),
    # revision 0003: a revoked terminal's later uploads are refused and flagged.
    sa.Column("revoked_ms", sa.BigInteger),
    sa.Column("revoked_reason", sa.String(200)),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(80), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
)

cards = sa.Table(
    "cards",
    metadata,
    sa.Column("asn", sa.String(20), primary_key=True),
    sa.Column("algorithm", sa.SmallInteger, nullable=False),
    sa.Column("key_version", sa.SmallInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("registered_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

hotlist_events = sa.Table(
    "hotlist_events",
    metadata,
    sa.Column("version", BigId, primary_key=True, autoincrement=True),
    sa.Column("asn", sa.String(20), nullable=False),
    sa.Column("action", sa.String(8), nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
)

ledger_txns = sa.Table(
    "ledger_txns",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("ref", sa.String(80), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

# Shadow balances kept as postings are written (ledger.post_legs, same
# transaction): an account's balance is the sum of its rows. Striped: a busy
# account (a payee, suspense) has several rows, so concurrent batches do not
# queue on one row lock (migration 0014).
account_balances = sa.Table(
    "account_balances",
    metadata,
    sa.Column("account_id", sa.BigInteger, primary_key=True),
    sa.Column("stripe", sa.SmallInteger, primary_key=True),
    sa.Column("balance", sa.BigInteger, nullable=False),
    sa.Column("entries", sa.BigInteger, nullable=False),
)

# Each card's latest reported state, per counter (0 offline: purchases 06/09; 1
# online: loads 02): the genuine record with the highest ATC held, kept by
# BatchPoster in the posting's transaction, only forward (migration 0018).
card_states = sa.Table(
    "card_states",
    metadata,
    sa.Column("asn", sa.String(20), primary_key=True),
    sa.Column("counter", sa.SmallInteger, primary_key=True),
    sa.Column("atc", sa.Integer, nullable=False),
    sa.Column("balance_before", sa.BigInteger, nullable=False),
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.Column("card_date", sa.String(8), nullable=False),
    sa.Column("card_time", sa.String(6), nullable=False),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # No foreign keys here on purpose (see migration 0001); reconcile() checks.
    sa.Column("txn_id", sa.BigInteger, nullable=False),
    sa.Column("account_id", BigId, nullable=False, index=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    # revision 0017: the central's ingest time (its transaction's), the partition key.
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

terminal_records = sa.Table(
    "terminal_records",
    metadata,
    sa.Column("terminal_id", sa.String(12), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("reason", sa.String(40)),
    sa.Column("asn", sa.String(20), nullable=False),
    sa.Column("ttype", sa.SmallInteger),
    sa.Column("atc", sa.Integer),
    sa.Column("ttc", sa.BigInteger),
    sa.Column("amount", sa.BigInteger),
    sa.Column("balance_before", sa.BigInteger),
    sa.Column("balance_after", sa.BigInteger),
    sa.Column("card_date", sa.String(8)),
    sa.Column("card_time", sa.String(6)),
    sa.Column("tac", sa.String(8)),
    sa.Column("payee", sa.String(64)),
    sa.Column("order_id", sa.String(64)),
    sa.Column("load_id", sa.String(64)),
    sa.Column("ref_seq", sa.BigInteger),
    sa.Column("record_hash", sa.String(64), nullable=False),
    sa.Column("ledger_txn_id", sa.BigInteger),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
    sa.Column("catalog_version", sa.BigInteger),  # revision 0004
    sa.Column("service_id", sa.String(64)),  # revision 0004
)

# revision 0017: the exactly-once keys, unpartitioned (a unique index on a
# partitioned table must include the partition key, which would make them
# per-month). One row per terminal record, written with it (posting.py); the card
# and TTC columns are set only for authentic records (AUTHENTIC), the TTC only for
# debits (DEBIT_TYPES): NULLs never collide. Kept when a month is archived.
record_keys = sa.Table(
    "record_keys",
    metadata,
    sa.Column("terminal_id", sa.String(12), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("received_ms", sa.BigInteger, nullable=False),  # finds the record's partition
    sa.Column("asn", sa.String(20)),
    sa.Column("atc", sa.Integer),
    sa.Column("ttype", sa.SmallInteger),
    sa.Column("ttc", sa.BigInteger),
    sa.Column("tac", sa.String(8)),
    sa.Index("uq_record_card_txn", "asn", "atc", "ttype", unique=True),
    sa.Index("uq_record_ttc", "terminal_id", "ttc", unique=True),
)

# revision 0017: months of the ledger detached and written to a signed archive
# (partitions.archive); their per-account sums, so the full audit still matches
# the shadow balances, which keep counting archived history.
ledger_archives = sa.Table(
    "ledger_archives",
    metadata,
    sa.Column("month", sa.String(7), primary_key=True),  # YYYY-MM, or "history"
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("archived_ms", sa.BigInteger, nullable=False),
    sa.Column("restored_ms", sa.BigInteger),
)

archived_balances = sa.Table(
    "archived_balances",
    metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("account_id", sa.BigInteger, primary_key=True),
    sa.Column("balance", sa.BigInteger, nullable=False),
    sa.Column("entries", sa.BigInteger, nullable=False),
)

rejections = sa.Table(
    "rejections",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("terminal_id", sa.String(12)),
    sa.Column("seq", sa.BigInteger),
    sa.Column("reason", sa.String(40), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
)

anomalies = sa.Table(
    "anomalies",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("terminal_id", sa.String(12)),
    sa.Column("seq", sa.BigInteger),
    sa.Column("asn", sa.String(20)),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
)

# --- revision 0002 ---------------------------------------------------------

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("asn", sa.String(20), nullable=False),
    sa.Column("payee", sa.String(64), nullable=False),
    sa.Column("reference", sa.String(64), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("paid_terminal_id", sa.String(12)),
    sa.Column("paid_seq", sa.BigInteger),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("terminal_id", "request_id", name="uq_order_request"),
    sa.Index(
        "uq_order_open_reference",
        "payee",
        "reference",
        unique=True,
        sqlite_where=sa.text("status IN ('held', 'paid')"),
        postgresql_where=sa.text("status IN ('held', 'paid')"),
    ),
)

load_auths = sa.Table(
    "load_auths",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("asn", sa.String(20), nullable=False),
    sa.Column("atc", sa.Integer, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("balance_before", sa.BigInteger, nullable=False),
    sa.Column("mac1", sa.String(8), nullable=False),
    sa.Column("mac2", sa.String(8), nullable=False),
    sa.Column("card_date", sa.String(8), nullable=False),
    sa.Column("card_time", sa.String(6), nullable=False),
    sa.Column("funding", sa.String(64), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("resolved_ms", sa.BigInteger),
    sa.Index("ix_load_auth_card", "asn", "atc"),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("published_ms", sa.BigInteger, nullable=False),
)
