"""Terminal enrollment, the card registry, and the hotlist by version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from backend_sync import chain
from backend_sync.central import ledger
from backend_sync.central.models import cards, hotlist_events, terminals
from backend_sync.central.service import Central, Refused

__all__ = [
    "enroll_terminal",
    "hotlist",
    "register_card",
    "register_cards",
    "revoke_terminal",
    "set_card_status",
]

_CARD_STATES = {"active", "blocked", "terminated"}


def _hex(value: str, n: int, what: str) -> str:
    v = value.upper()
    if len(v) != 2 * n or any(c not in "0123456789ABCDEF" for c in v):
        raise Refused(422, f"bad_{what}", f"{what} is {n} bytes in hex")
    return v


def enroll_terminal(central: Central, *, terminal_id: str, cert_pem: str) -> None:
    """Enroll (or re-key) a terminal: its uploads are then checked against this
    certificate, which must chain to a terminal CA the central trusts and name
    this terminal (422 otherwise). Re-enrolling keeps the chain position; a
    revoked terminal is never enrolled again (409 ``terminal_revoked``)."""
    tid = _hex(terminal_id, 6, "terminal_id")
    try:
        central.check_terminal_cert(tid, cert_pem)
    except Refused as exc:
        raise Refused(422, exc.reason, exc.detail) from exc
    with central.engine.begin() as conn:
        found = conn.execute(
            sa.select(terminals.c.status).where(terminals.c.terminal_id == tid).with_for_update()
        ).first()
        if found is not None and found.status == "revoked":
            raise Refused(409, "terminal_revoked", tid)
        if found:
            conn.execute(
                terminals.update()
                .where(terminals.c.terminal_id == tid)
                .values(cert_pem=cert_pem, status="active")
            )
        else:
            conn.execute(
                terminals.insert().values(
                    terminal_id=tid,
                    cert_pem=cert_pem,
                    status="active",
                    acked_seq=0,
                    head_hash=chain.genesis_hash(bytes.fromhex(tid)).hex().upper(),
                    enrolled_ms=central.now_ms(),
                )
            )


def revoke_terminal(central: Central, *, terminal_id: str, reason: str) -> int:
    """Revoke a terminal (a stolen kiosk, a leaked key): every later batch and
    signed request from it is refused (403 ``terminal_revoked``) and its uploads
    flagged; what it uploaded before stays posted. Returns the seq it had
    reached, the last one the ledger holds from it. Revoking twice is a no-op."""
    tid = _hex(terminal_id, 6, "terminal_id")
    with central.engine.begin() as conn:
        row = conn.execute(
            sa.select(terminals.c.status, terminals.c.acked_seq)
            .where(terminals.c.terminal_id == tid)
            .with_for_update()
        ).first()
        if row is None:
            raise Refused(404, "unknown_terminal", tid)
        if row.status != "revoked":
            conn.execute(
                terminals.update()
                .where(terminals.c.terminal_id == tid)
                .values(status="revoked", revoked_ms=central.now_ms(), revoked_reason=reason[:200])
            )
        return int(row.acked_seq)


def register_card(central: Central, *, asn: str, algorithm: int, key_version: int) -> None:
    """Register a card at issuance (idempotent); opens its purse account. The same
    ASN with another algorithm or key version is refused (409 ``card_exists``): a
    card's keys are fixed at issuance."""
    register_cards(central, [asn], algorithm=algorithm, key_version=key_version)


def register_cards(
    central: Central, asns: Sequence[str], *, algorithm: int, key_version: int
) -> None:
    """:func:`register_card` for a production run of cards of one key set, in one
    transaction: all are registered, or (one refused) none."""
    asns = [_hex(a, 10, "asn") for a in asns]
    if algorithm not in (0, 4) or not 0 <= key_version <= 255:
        raise Refused(422, "bad_card", "algorithm 0 (3DES) or 4 (SM4), key version 0..255")
    now = central.now_ms()
    with central.engine.begin() as conn:
        # In key order: two runs naming the same new cards insert them in one order
        # (as ledger.account_ids does), so they never wait on each other in a cycle.
        unique = sorted(set(asns))
        for part in range(0, len(unique), _CHUNK):  # bound parameters per statement
            new = dict.fromkeys(unique[part : part + _CHUNK])
            q = sa.select(cards.c.asn, cards.c.algorithm, cards.c.key_version)
            for have in conn.execute(q.where(cards.c.asn.in_(list(new)))):
                if (have.algorithm, have.key_version) != (algorithm, key_version):
                    raise Refused(
                        409, "card_exists",
                        f"{have.asn} is registered with algorithm {have.algorithm}, "
                        f"key version {have.key_version}",
                    )  # fmt: skip
                del new[have.asn]
            if not new:
                continue
            accs = ledger.account_ids(conn, [ledger.card_account(a) for a in new])
            rows: list[dict[str, object]] = [
                {
                    "asn": a,
                    "algorithm": algorithm,
                    "key_version": key_version,
                    "status": "active",
                    "account_id": accs[ledger.card_account(a)],
                    "registered_ms": now,
                    "updated_ms": now,
                }
                for a in new
            ]
            ledger.insert_ignore(conn, cards, rows, ["asn"])


_CHUNK = 2000  # cards per statement (SQLite and psycopg bound the parameters)


def set_card_status(central: Central, *, asn: str, status: str) -> int:
    """Block, unblock (``active``) or terminate a card; returns the hotlist version."""
    if status not in _CARD_STATES:
        raise Refused(422, "bad_status", f"status is one of {sorted(_CARD_STATES)}")
    asn = _hex(asn, 10, "asn")
    with central.engine.begin() as conn:
        row = conn.execute(
            sa.select(cards.c.status).where(cards.c.asn == asn).with_for_update()
        ).first()
        if row is None:
            raise Refused(404, "unknown_card", asn)
        if row.status == "terminated" and status != "terminated":
            raise Refused(409, "card_terminated", asn)
        conn.execute(
            cards.update()
            .where(cards.c.asn == asn)
            .values(status=status, updated_ms=central.now_ms())
        )
        action = "unblock" if status == "active" else "block"
        version = conn.execute(
            hotlist_events.insert()
            .values(asn=asn, action=action, at_ms=central.now_ms())
            .returning(hotlist_events.c.version)
        ).scalar_one()
        return int(version)


def hotlist(central: Central, since: int) -> dict[str, Any]:
    """The hotlist as a delta after version ``since`` or, when the terminal is too
    far behind (or new: ``since`` 0), a full snapshot of the blocked cards."""
    with central.engine.connect() as conn:
        current = int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(hotlist_events.c.version), 0))
            ).scalar_one()
        )
        if 0 < since <= current and current - since <= central.hotlist_max_delta:
            rows = conn.execute(
                sa.select(hotlist_events.c.asn, hotlist_events.c.action)
                .where(hotlist_events.c.version > since)
                .order_by(hotlist_events.c.version)
            ).all()
            return {
                "kind": "delta",
                "since": since,
                "version": current,
                "changes": [[a, act] for a, act in rows],
            }
        blocked = conn.execute(
            sa.select(cards.c.asn).where(cards.c.status != "active").order_by(cards.c.asn)
        ).scalars()
        return {"kind": "snapshot", "version": current, "blocked": list(blocked)}
