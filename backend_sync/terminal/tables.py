"""Tables of the kiosk outbox database (Alembic owns the DDL)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

outbox_meta = sa.Table(
    "outbox_meta",
    metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# One row per intent, numbered per terminal. ``state`` is ``open`` from the intent
# (written before DEBIT / CREDIT) until the same transaction that fills ``body``
# (the canonical record) and ``hash`` closes it.
outbox_records = sa.Table(
    "outbox_records",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column("intent", sa.Text, nullable=False),
    sa.Column("body", sa.Text),
    sa.Column("hash", sa.String(64)),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("closed_ms", sa.BigInteger),
    # An unsettled record stays (acknowledged or not) until a proof cites it.
    sa.Column("proved_by", sa.Integer),
)
