"""Tables of the staff console (migration 0008): accounts, sessions, login attempts,
and the append-only audit log of every staff action."""

from __future__ import annotations

import sqlalchemy as sa

from backend_sync.central.models import BigId, metadata

__all__ = ["ROLES", "staff_accounts", "staff_attempts", "staff_audit", "staff_sessions"]

ROLES = (
    "department_staff",  # their own department's cases and polls
    "supervisor",  # every department, escalations, overdue cases
    "catalog_editor",  # publishes the service catalog
    "hotlist_operator",  # blocks and unblocks cards
    "ledger_auditor",  # reconciliation and flagged anomalies
    "administrator",  # staff accounts
)

staff_accounts = sa.Table(
    "staff_accounts",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),  # argon2id, PHC string
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("department", sa.String(64), nullable=True),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

staff_sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),  # the cookie is never stored
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
)

staff_attempts = sa.Table(
    "staff_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Index("ix_staff_attempts_user", "username", "at_ms"),
    sa.Index("ix_staff_attempts_client", "client", "at_ms"),
)

staff_audit = sa.Table(
    "staff_audit",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(128), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)
