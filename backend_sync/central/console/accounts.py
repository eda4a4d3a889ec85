"""Staff accounts, logins, sessions and the audit log.

Passwords are argon2id (argon2-cffi's defaults: RFC 9106's second recommended
parameter set). Sessions live in the database, so any number of API workers serve
one console; the cookie holds a random token whose SHA-256 is the session's key.
Failed logins are counted in the database, per account and per client address.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from backend_sync.central.console.models import (
    ROLES,
    staff_accounts,
    staff_attempts,
    staff_audit,
    staff_sessions,
)
from backend_sync.central.service import Central, Refused

__all__ = [
    "MAX_FAILURES_PER_ACCOUNT",
    "MAX_FAILURES_PER_CLIENT",
    "SESSION_S",
    "Staff",
    "audit",
    "create_account",
    "end_session",
    "login",
    "session",
]

SESSION_S = 8 * 3600  # one working day
FAILURE_WINDOW_S = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_CLIENT = 20
_HASHER = PasswordHasher()  # argon2id; stateless, so sharing it is safe
# Verified against when the account does not exist, so timing does not tell.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Staff:
    """A logged-in staff member, as each request sees them."""

    username: str
    role: str
    department: str | None
    display_name: str
    csrf_token: str


def create_account(
    central: Central,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str,
    department: str | None = None,
    by: str = "bootstrap",
) -> None:
    """Add a staff account (audited). Department staff need a department."""
    if role not in ROLES:
        raise Refused(422, "unknown_role", role)
    if not (
        0 < len(username) <= 64
        and username.isascii()
        and username.replace("-", "").replace("_", "").replace(".", "").isalnum()
    ):
        raise Refused(422, "bad_username", "letters, digits, . _ - (ASCII), at most 64")
    if len(password) < 12:
        raise Refused(422, "weak_password", "at least 12 characters")
    if role == "department_staff" and not department:
        raise Refused(422, "department_required", "department staff belong to a department")
    with central.engine.begin() as conn:
        if conn.execute(
            sa.select(staff_accounts.c.username).where(staff_accounts.c.username == username)
        ).first():
            raise Refused(409, "account_exists", username)
        conn.execute(
            staff_accounts.insert().values(
                username=username,
                password_hash=_HASHER.hash(password),
                role=role,
                department=department,
                display_name=display_name[:128],
                active=True,
                created_ms=central.now_ms(),
            )
        )
        audit(central, conn, by, "account_created", username, f"role={role} dept={department}")


def audit(
    central: Central, conn: sa.Connection, username: str, action: str, target: str, detail: str
) -> None:
    """One line in the append-only audit log, in the caller's transaction."""
    conn.execute(
        staff_audit.insert().values(
            at_ms=central.now_ms(),
            username=username[:64],
            action=action[:64],
            target=target[:128],
            detail=detail[:2000],
        )
    )


def login(central: Central, *, username: str, password: str, client: str) -> tuple[str, Staff]:
    """Check a password; answers (cookie token, staff) or refuses with 401 / 429.

    Rate limits count failures in the database over the last 15 minutes: per
    account (5) and per client address (20), so a guesser can neither hammer one
    account nor spray many from one place."""
    now = central.now_ms()
    since = now - FAILURE_WINDOW_S * 1000
    client = client[:64]
    with central.engine.begin() as conn:

        def failures(col: sa.ColumnElement[str], value: str) -> int:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(staff_attempts)
                    .where(col == value, staff_attempts.c.at_ms >= since, ~staff_attempts.c.ok)
                ).scalar_one()
            )

        if (
            failures(staff_attempts.c.username, username) >= MAX_FAILURES_PER_ACCOUNT
            or failures(staff_attempts.c.client, client) >= MAX_FAILURES_PER_CLIENT
        ):
            audit(central, conn, username, "login_throttled", client, "")
            throttled = Refused(429, "too_many_attempts", "wait 15 minutes")
        else:
            throttled = None
    if throttled is not None:
        raise throttled  # after the commit: the audit line stays
    with central.engine.begin() as conn:
        row = conn.execute(
            sa.select(staff_accounts).where(staff_accounts.c.username == username)
        ).first()
        ok = False
        try:
            ok = _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        ok = ok and row is not None and bool(row.active)
        conn.execute(
            staff_attempts.insert().values(username=username[:64], client=client, at_ms=now, ok=ok)
        )
        if not ok or row is None:
            audit(central, conn, username, "login_failed", client, "")
            # Committed with the refusal: the failure must count.
            fail = Refused(401, "bad_login", "wrong username or password")
        else:
            token = secrets.token_urlsafe(32)
            csrf = secrets.token_urlsafe(32)
            conn.execute(
                staff_sessions.insert().values(
                    token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                    username=username,
                    csrf_token=csrf,
                    created_ms=now,
                    expires_ms=now + SESSION_S * 1000,
                )
            )
            audit(central, conn, username, "login", client, "")
            return token, Staff(username, row.role, row.department, row.display_name, csrf)
    raise fail


def session(central: Central, token: str | None) -> Staff | None:
    """The staff member behind a session cookie, or None (unknown, expired, disabled)."""
    if not token or len(token) > 200:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    with central.engine.connect() as conn:
        row = conn.execute(
            sa.select(
                staff_sessions.c.csrf_token,
                staff_sessions.c.expires_ms,
                staff_accounts.c.username,
                staff_accounts.c.role,
                staff_accounts.c.department,
                staff_accounts.c.display_name,
                staff_accounts.c.active,
            )
            .join(staff_accounts, staff_accounts.c.username == staff_sessions.c.username)
            .where(staff_sessions.c.token_sha256 == digest)
        ).first()
    if row is None or row.expires_ms < central.now_ms() or not row.active:
        return None
    return Staff(row.username, row.role, row.department, row.display_name, row.csrf_token)


def end_session(central: Central, token: str | None, username: str) -> None:
    """Log out: the session row is deleted (the cookie is worth nothing after)."""
    if not token:
        return
    digest = hashlib.sha256(token.encode()).hexdigest()
    with central.engine.begin() as conn:
        conn.execute(staff_sessions.delete().where(staff_sessions.c.token_sha256 == digest))
        audit(central, conn, username, "logout", "", "")
