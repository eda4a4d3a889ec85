"""Tables of polls (SQLAlchemy Core; Alembic migration 0007 owns the DDL).

Token issuance and ballots are kept so that no column joins them: a token row
names the card and holds only the blinded message's hash and the blind signature
(statistically independent of the token that is later spent); a ballot row holds
the spent token's hash, the choice and the release slot the central was in when
the batch arrived — no terminal, no card, no timestamp finer than the slot, no
sequence. On SQLite the ballot table has no rowid, so even its storage order is
the hash order; batches are inserted in a shuffled order for PostgreSQL's heap.
"""

from __future__ import annotations

import sqlalchemy as sa

from backend_sync.central.models import metadata

__all__ = ["poll_ballots", "poll_tokens", "polls"]

polls = sa.Table(
    "polls",
    metadata,
    sa.Column("poll_id", sa.String(32), primary_key=True),
    sa.Column("document", sa.Text, nullable=False),  # canonical JSON of the public document
    sa.Column("private_key_pem", sa.Text, nullable=False),  # where an HSM would sit
    sa.Column("status", sa.String(16), nullable=False),  # open | closed
    sa.Column("closed_ms", sa.BigInteger, nullable=True),
)

poll_tokens = sa.Table(
    "poll_tokens",
    metadata,
    sa.Column("poll_id", sa.String(32), primary_key=True),
    sa.Column("asn", sa.String(20), primary_key=True),
    sa.Column("blinded_sha256", sa.String(64), nullable=False),
    sa.Column("blind_sig", sa.Text, nullable=False),
)

poll_ballots = sa.Table(
    "poll_ballots",
    metadata,
    sa.Column("poll_id", sa.String(32), primary_key=True),
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("choice", sa.SmallInteger, nullable=False),
    sa.Column("release_slot", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)
