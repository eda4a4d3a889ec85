"""The central's state: settings, database, keys, terminal registry, counters.

One :class:`Central` per process, built by the CLI (or a test) and handed to the
FastAPI app; nothing here is global.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central.cardcrypto import CardCrypto
from backend_sync.central.db import make_engine
from backend_sync.central.departments import Departments
from backend_sync.central.models import rejections, terminals
from backend_sync.central.providers import BillDirectory, FundingProvider
from cardlib.keys import IssuerKeys

__all__ = ["Central", "Refused", "Settings"]


@dataclass(frozen=True)
class Settings:
    """Everything the central is configured with (docs/sync.md, "Operations")."""

    db_url: str
    issuer_key_files: tuple[Path, ...]
    signing_key_file: Path
    admin_token: str
    max_purse_balance: int = 100_000  # fen; 1,000 yuan
    load_void_after_s: int = 72 * 3600
    hotlist_max_delta: int = 1000
    request_max_age_s: int = 600
    production: bool = False
    issuer_ca_files: tuple[Path, ...] = ()  # card certificates chain to these (polls, operators)


class Refused(Exception):
    """A request the central refuses as a whole (HTTP status + a stable reason)."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.status = status
        self.reason = reason
        self.detail = detail


@dataclass
class Central:
    """Database, card crypto, the download signing key and the clock."""

    engine: sa.Engine
    crypto: CardCrypto
    signing_key: ec.EllipticCurvePrivateKey
    admin_token: str
    max_purse_balance: int = 100_000
    load_void_after_s: int = 72 * 3600
    hotlist_max_delta: int = 1000
    request_max_age_s: int = 600
    bills: BillDirectory | None = None  # billers' systems (bill lookup)
    funding: FundingProvider | None = None  # bank debit for non-cash top-ups
    departments: Departments | None = None  # departments' systems (city services)
    card_cas: tuple[x509.Certificate, ...] = ()  # issuer CAs that card certificates chain to
    clock: Callable[[], float] = time.time
    _term_keys: dict[tuple[str, str], ec.EllipticCurvePublicKey] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, s: Settings) -> Central:
        keys = [IssuerKeys.load(p, production=s.production) for p in s.issuer_key_files]
        # The central must never hold the purchase or maintenance masters.
        from cardlib.keys import KeyRole

        central_keys = [k.subset(KeyRole.LOAD, KeyRole.TAC) for k in keys]
        return cls(
            engine=make_engine(s.db_url),
            crypto=CardCrypto.of(*central_keys),
            signing_key=chain.load_private_key(s.signing_key_file.read_bytes()),
            admin_token=s.admin_token,
            max_purse_balance=s.max_purse_balance,
            load_void_after_s=s.load_void_after_s,
            hotlist_max_delta=s.hotlist_max_delta,
            request_max_age_s=s.request_max_age_s,
            card_cas=tuple(
                x509.load_pem_x509_certificate(p.read_bytes()) for p in s.issuer_ca_files
            ),
        )

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def terminal_key(self, conn: sa.Connection, terminal_id: str) -> ec.EllipticCurvePublicKey:
        """The enrolled, active terminal's public key; :class:`Refused` otherwise."""
        row = conn.execute(
            sa.select(terminals.c.cert_pem, terminals.c.status).where(
                terminals.c.terminal_id == terminal_id
            )
        ).first()
        if row is None or row.status != "active":
            raise Refused(403, "unknown_terminal", terminal_id)
        ck = (terminal_id, row.cert_pem)
        with self._lock:
            key = self._term_keys.get(ck)
        if key is None:
            try:
                key = chain.public_key_from_cert(row.cert_pem.encode())
            except ValueError as exc:
                raise Refused(403, "bad_certificate", str(exc)) from exc
            with self._lock:
                self._term_keys[ck] = key
        return key

    def count_refusal(
        self, reason: str, terminal_id: str | None, detail: str = "", seq: int | None = None
    ) -> None:
        """Record a refused request in its own transaction (it outlives the refusal)."""
        with self.engine.begin() as conn:
            conn.execute(
                rejections.insert().values(
                    terminal_id=terminal_id,
                    seq=seq,
                    reason=reason,
                    detail=detail[:500],
                    at_ms=self.now_ms(),
                )
            )

    def rejection_counts(self) -> dict[str, int]:
        """How many refusals and rejected records, by reason."""
        q = sa.select(rejections.c.reason, sa.func.count()).group_by(rejections.c.reason)
        with self.engine.connect() as conn:
            return {r: int(n) for r, n in conn.execute(q)}


def check_signed(
    central: Central, conn: sa.Connection, terminal_id: str, body: dict[str, object], sig: str
) -> None:
    """A signed online request: enrolled terminal, valid signature, fresh timestamp.

    Replaying a fresh request is harmless: holds and load authorizations are
    idempotent by (terminal, request id).
    """
    key = central.terminal_key(conn, terminal_id)
    if not chain.verify(key, chain.canonical(body), sig):
        raise Refused(401, "bad_signature")
    ts = body.get("ts")
    if not isinstance(ts, int) or abs(ts - central.now_ms()) > central.request_max_age_s * 1000:
        raise Refused(401, "stale_request", "terminal clock too far from the central's")
