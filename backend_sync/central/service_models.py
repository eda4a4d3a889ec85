"""Tables of the city services (SQLAlchemy Core; Alembic migration 0010 owns the DDL).

The audit of queries holds who asked (terminal, card) for which service and the
outcome, never the answer's content. Notices remember which paid orders a biller
was told of; tickets and boardings are the central's side of bus tickets.
"""

from __future__ import annotations

import sqlalchemy as sa

from backend_sync.central.models import BigId, metadata

__all__ = [
    "bike_deposits",
    "bus_boardings",
    "bus_tickets",
    "department_notices",
    "service_audit",
]

service_audit = sa.Table(
    "service_audit",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("asn", sa.String(20)),  # absent for card-less services
    sa.Column("service", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Index("ix_service_audit_asn", "asn"),
)

department_notices = sa.Table(
    "department_notices",
    metadata,
    sa.Column("order_id", sa.String(32), primary_key=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("delivered_ms", sa.BigInteger),
    sa.Column("last_error", sa.String(200)),
)

bus_tickets = sa.Table(
    "bus_tickets",
    metadata,
    sa.Column("ticket_id", sa.String(32), primary_key=True),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("asn", sa.String(20), nullable=False),
    sa.Column("order_id", sa.String(32), nullable=False),
    sa.Column("departure", sa.String(64), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("time", sa.String(5), nullable=False),
    sa.Column("origin", sa.String(64), nullable=False),
    sa.Column("destination", sa.String(64), nullable=False),
    sa.Column("seat", sa.Integer, nullable=False),
    sa.Column("fare", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # held, issued, refunded
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    # A refunded, paid fare back onto the card by a load (migration 0012):
    # NULL → returning (refund_load_id) → returned; a voided load puts it back to NULL.
    sa.Column("refund_status", sa.String(12)),
    sa.Column("refund_load_id", sa.String(32)),
    sa.UniqueConstraint("terminal_id", "request_id", name="uq_bus_ticket_request"),
)

bus_boardings = sa.Table(
    "bus_boardings",
    metadata,
    sa.Column("ticket_id", sa.String(32), primary_key=True),
    sa.Column("departure", sa.String(64), nullable=False),
    sa.Column("validator_id", sa.String(12), nullable=False),
    sa.Column("reported_ms", sa.BigInteger, nullable=False),
)


# Public-bike deposits held at the central (migration 0012): paid into
# ``payee:bike_deposit`` by a purchase citing ``order_id``, returned by a load funded
# from that account (``load_id``). Status: held → returning → returned (a voided
# return goes back to held); an order never paid leaves it "held" with the order
# released or expired, which :func:`backend_sync.central.deposits.held_deposits` skips.
bike_deposits = sa.Table(
    "bike_deposits",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("asn", sa.String(20), nullable=False),
    sa.Column("order_id", sa.String(32), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("load_id", sa.String(32)),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("resolved_ms", sa.BigInteger),
    sa.Index("ix_bike_deposits_asn", "asn"),
    sa.Index("ix_bike_deposits_load", "load_id"),
)
