"""Tables of heartbeats, fleet status and support bundles (revision 0006).

On the central's one ``metadata`` (Alembic owns the DDL). The latest heartbeat of
each terminal is one row, updated in place; the history keeps every heartbeat,
compactly, until :func:`backend_sync.central.fleet.prune_history` drops old rows.
"""

from __future__ import annotations

import sqlalchemy as sa

from backend_sync.central.models import BigId, metadata

__all__ = ["heartbeat_history", "heartbeats_latest", "support_bundles"]

heartbeats_latest = sa.Table(
    "heartbeats_latest",
    metadata,
    sa.Column("terminal_id", sa.String(12), primary_key=True),
    sa.Column("boot_id", sa.String(32), nullable=False),
    sa.Column("counter", sa.BigInteger, nullable=False),
    sa.Column("kiosk_ts", sa.BigInteger, nullable=False),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
    sa.Column("health", sa.String(8), nullable=False),
    sa.Column("faults", sa.Text, nullable=False),  # JSON list of DeviceFault
    sa.Column("backlog", sa.BigInteger, nullable=False),
    sa.Column("oldest_unsent_s", sa.BigInteger),
    sa.Column("paper", sa.String(16), nullable=False),
    sa.Column("out_of_service", sa.Boolean, nullable=False),
    sa.Column("versions", sa.Text, nullable=False),  # JSON object
)

heartbeat_history = sa.Table(
    "heartbeat_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
    sa.Column("kiosk_ts", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(8), nullable=False),
    sa.Column("health", sa.String(8), nullable=False),
    sa.Column("faults", sa.Text, nullable=False),
    sa.Column("backlog", sa.BigInteger, nullable=False),
    sa.Column("paper", sa.String(16), nullable=False),
    sa.Index("ix_heartbeat_history_terminal", "terminal_id", "received_ms"),
)

support_bundles = sa.Table(
    "support_bundles",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("terminal_id", sa.String(12), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("terminal_id", "sha256", name="uq_support_bundle"),
)
