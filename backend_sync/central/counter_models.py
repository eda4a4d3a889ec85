"""Tables of the counter station's side of the central (docs/sync.md, "Counter
operations"); on the central's one ``metadata`` (Alembic owns the DDL, 0011)."""

from __future__ import annotations

import sqlalchemy as sa

from backend_sync.central.models import BigId, metadata

__all__ = [
    "counter_audit",
    "counter_events",
    "counter_ops",
    "counter_shifts",
    "issued_cards",
    "operator_nonces",
    "puk_mailers",
]

# One use each: a nonce is spent by the first request that presents it.
operator_nonces = sa.Table(
    "operator_nonces",
    metadata,
    sa.Column("nonce", sa.String(32), primary_key=True),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("used_ms", sa.BigInteger),
)

# Every counter operation, recorded before anything irreversible; a resumed
# counter reads it back instead of repeating the operation.
counter_ops = sa.Table(
    "counter_ops",
    metadata,
    sa.Column("op_id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("operator_asn", sa.String(20), nullable=False),
    sa.Column("operator_number", sa.String(32), nullable=False),
    sa.Column("asn", sa.String(20), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("drawer", sa.String(48), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("load_id", sa.String(32)),
    # Where this operation's loads take their money (None: the drawer, cash); a new
    # card's carried balance comes from its replacement's carry account.
    sa.Column("funding", sa.String(64)),
    sa.Column("ref_op", sa.String(32)),  # the replacement a new card carries from
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

counter_shifts = sa.Table(
    "counter_shifts",
    metadata,
    sa.Column("shift_id", sa.String(32), primary_key=True),
    sa.Column("drawer", sa.String(48), nullable=False),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("operator_asn", sa.String(20), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("float_fen", sa.BigInteger, nullable=False),
    # The last ledger entry id when the shift opened: the report counts entries after it.
    sa.Column("ledger_mark", sa.BigInteger, nullable=False),
    sa.Column("counted_fen", sa.BigInteger),
    sa.Column("opened_ms", sa.BigInteger, nullable=False),
    sa.Column("closed_ms", sa.BigInteger),
)

# Every counter request the central accepted or refused after the operator's
# signature verified, with the operator's card number.
counter_audit = sa.Table(
    "counter_audit",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("operator_asn", sa.String(20), nullable=False),
    sa.Column("operator_number", sa.String(32), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("asn", sa.String(20)),
    sa.Column("op_id", sa.String(32)),
    sa.Column("outcome", sa.String(64), nullable=False),
)

# Refusals before an operator was proven (migration 0016): ``source`` "station" (sent
# by the counter, ``seq`` its own increasing number: a replay is refused) or
# "central" (a request the central refused, ``seq`` empty); ``asn`` the card presented
# when it could be read.
counter_events = sa.Table(
    "counter_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("seq", sa.BigInteger),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
    sa.Column("asn", sa.String(20)),
    sa.Column("role", sa.String(16)),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("detail", sa.String(200), nullable=False),
    sa.UniqueConstraint("terminal_id", "seq", name="uq_counter_events_seq"),
    sa.Index("ix_counter_events_asn", "asn"),
)

# A card issued for an application (one per operation id): its assigned ASN, the
# personalization session between the relayed steps (the issuer's secret state, never
# sent), and whether its deposit and fee were posted.
issued_cards = sa.Table(
    "issued_cards",
    metadata,
    sa.Column("op_id", sa.String(32), primary_key=True),
    sa.Column("asn", sa.String(20), nullable=False, unique=True),
    sa.Column("holder", sa.Text, nullable=False),
    # The holder index (migration 0015): the name as holder_index.name_key keys it,
    # and the masked ID number; a lookup is an exact match on one of them.
    sa.Column("holder_name", sa.String(60)),
    sa.Column("holder_id_masked", sa.String(18)),
    sa.Column("chip_serial", sa.String(16)),
    sa.Column("channel", sa.Text),
    sa.Column("step", sa.String(12), nullable=False),
    sa.Column("posted", sa.Boolean, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_issued_cards_holder_name", "holder_name", "created_ms"),
    sa.Index("ix_issued_cards_holder_id", "holder_id_masked", "created_ms"),
)

# PUKs generated at the central, for the sealed-mailer printer (never to a counter).
puk_mailers = sa.Table(
    "puk_mailers",
    metadata,
    sa.Column("asn", sa.String(20), primary_key=True),
    sa.Column("puk", sa.String(8), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("printed_ms", sa.BigInteger),
)
