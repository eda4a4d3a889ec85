"""The central's state: settings, database, keys, terminal registry, counters.

One :class:`Central` per process, built by the CLI (or a test) and handed to the
FastAPI app; nothing here is global.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central.cardcrypto import CardCrypto
from backend_sync.central.db import make_engine
from backend_sync.central.departments import Departments
from backend_sync.central.models import anomalies, rejections, terminals
from backend_sync.central.providers import BillDirectory, FundingProvider
from backend_sync.terminal_certs import (
    TerminalCertError,
    load_terminal_cas,
    validate_terminal_certificate,
)
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
    max_overdraft: int = 0  # fen a card may go below zero (the city's card profile)
    load_void_after_s: int = 72 * 3600
    order_hold_s: int = 30 * 60  # a held bill is free again after this (orders.py)
    hotlist_max_delta: int = 1000
    request_max_age_s: int = 600
    max_body_bytes: int = 4 * 1024 * 1024  # request bodies beyond it: 413
    terminal_ca_files: tuple[Path, ...] = ()  # the terminal CAs trusted (none: no terminal)
    production: bool = False
    issuer_ca_files: tuple[Path, ...] = ()  # card certificates chain to these (polls, operators)
    # The card issuer for counters (issuance.py): a folder with issuer-keys.json and the
    # issuer CA (issuer-ca.crt, issuer-ca.key) — where an HSM would sit; None: no issuing.
    card_issuer_dir: Path | None = None
    card_deposit_fen: int = 2_000  # the city's card deposit (held, refunded at close)
    card_fee_fen: int = 0  # the city's issuing fee
    refund_supervisor_above_fen: int = 20_000
    card_quarantine_s: int = 7 * 86400


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
    max_overdraft: int = 0
    load_void_after_s: int = 72 * 3600
    order_hold_s: int = 30 * 60
    hotlist_max_delta: int = 1000
    request_max_age_s: int = 600
    max_body_bytes: int = 4 * 1024 * 1024  # a batch of 5,000 records is about 3.5 MB
    # Terminal certificates must chain to one of these (docs/sync.md).
    terminal_cas: list[x509.Certificate] = field(default_factory=list)
    bills: BillDirectory | None = None  # billers' systems (bill lookup)
    funding: FundingProvider | None = None  # bank debit for non-cash top-ups
    departments: Departments | None = None  # departments' systems (city services)
    card_cas: tuple[x509.Certificate, ...] = ()  # issuer CAs that card certificates chain to
    # The card issuer (issuance.CentralIssuer: personalization and card keys, the CA key),
    # where an HSM would sit; None: this central issues no cards at counters.
    issuer: Any = None
    refund_supervisor_above_fen: int = 20_000  # a refund (balance + deposit) above: two people
    # A lost card's balance is carried this long after it was hotlisted, at the
    # earliest: at least the terminals' hotlist max age + max unsent-record age
    # (48 h + 48 h with the defaults, docs/sync.md "Replacement and the quarantine");
    # a week, with margin.
    card_quarantine_s: int = 7 * 86400
    clock: Callable[[], float] = time.time
    # Where composite (type 09, transit) fares go: the payee of a TAC-proven type (payees.py).
    transit_payee: str = "transit"
    # Fixed-price items of published catalog versions (immutable), see payees.py.
    catalog_cache: dict[int, Any] = field(default_factory=dict)
    # (terminal, certificate) -> key and the time it is valid until (its or its CA's)
    _term_keys: dict[tuple[str, str], tuple[ec.EllipticCurvePublicKey, dt.datetime]] = field(
        default_factory=dict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Unix ms until which this process's ledger partitions are known to exist
    # (partitions.ready; 0: checked on the first write).
    partitions_until_ms: int = 0
    # (terminal, last seq) -> events of the batches this process is verifying or
    # writing: a terminal's next batch waits for its predecessor (ingest.py).
    _in_flight: dict[tuple[str, int], list[threading.Event]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, s: Settings) -> Central:
        keys = [IssuerKeys.load(p, production=s.production) for p in s.issuer_key_files]
        # The central must never hold the purchase or maintenance masters.
        from cardlib.keys import KeyRole

        central_keys = [k.subset(KeyRole.LOAD, KeyRole.TAC) for k in keys]
        issuer = None
        if s.card_issuer_dir is not None:
            from backend_sync.central.issuance import load_issuer

            issuer = load_issuer(
                s.card_issuer_dir, production=s.production,
                deposit_fen=s.card_deposit_fen, fee_fen=s.card_fee_fen,
            )  # fmt: skip
        return cls(
            issuer=issuer,
            refund_supervisor_above_fen=s.refund_supervisor_above_fen,
            card_quarantine_s=s.card_quarantine_s,
            engine=make_engine(s.db_url),
            crypto=CardCrypto.of(*central_keys),
            signing_key=chain.load_private_key(s.signing_key_file.read_bytes()),
            admin_token=s.admin_token,
            max_purse_balance=s.max_purse_balance,
            max_overdraft=s.max_overdraft,
            load_void_after_s=s.load_void_after_s,
            order_hold_s=s.order_hold_s,
            hotlist_max_delta=s.hotlist_max_delta,
            request_max_age_s=s.request_max_age_s,
            card_cas=tuple(
                x509.load_pem_x509_certificate(p.read_bytes()) for p in s.issuer_ca_files
            ),
            max_body_bytes=s.max_body_bytes,
            terminal_cas=load_terminal_cas(s.terminal_ca_files, production=s.production),
        )

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def now_utc(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def check_terminal_cert(self, terminal_id: str, cert_pem: str) -> x509.Certificate:
        """The certificate, if it chains to a trusted terminal CA, names this terminal
        and is valid now; :class:`Refused` (403, the reason) otherwise."""
        try:
            return validate_terminal_certificate(
                cert_pem.encode(), terminal_id, self.terminal_cas, at=self.now_utc()
            )
        except TerminalCertError as exc:
            raise Refused(403, exc.reason, exc.detail) from exc

    def terminal_key(self, conn: sa.Connection, terminal_id: str) -> ec.EllipticCurvePublicKey:
        """The enrolled, active terminal's public key, its certificate checked against
        the trusted terminal CAs (and the clock) on every call; :class:`Refused`
        otherwise (``terminal_revoked`` for a revoked one)."""
        row = conn.execute(
            sa.select(terminals.c.cert_pem, terminals.c.status).where(
                terminals.c.terminal_id == terminal_id
            )
        ).first()
        if row is not None and row.status == "revoked":
            raise Refused(403, "terminal_revoked", terminal_id)
        if row is None or row.status != "active":
            raise Refused(403, "unknown_terminal", terminal_id)
        ck = (terminal_id, row.cert_pem)
        with self._lock:
            cached = self._term_keys.get(ck)
        if cached is None or self.now_utc() > cached[1]:
            cert = self.check_terminal_cert(terminal_id, row.cert_pem)
            key = cert.public_key()
            assert isinstance(key, ec.EllipticCurvePublicKey)  # checked by the profile
            ca = next(c for c in self.terminal_cas if c.subject == cert.issuer)
            until = min(cert.not_valid_after_utc, ca.not_valid_after_utc)
            with self._lock:
                self._term_keys[ck] = (key, until)
            return key
        return cached[0]

    def flag(
        self, kind: str, terminal_id: str | None, detail: str = "", seq: int | None = None
    ) -> None:
        """Record an anomaly for the auditors, in its own transaction."""
        with self.engine.begin() as conn:
            conn.execute(
                anomalies.insert().values(
                    terminal_id=terminal_id,
                    seq=seq,
                    kind=kind,
                    detail=_text(detail),
                    at_ms=self.now_ms(),
                )
            )

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
                    detail=_text(detail),
                    at_ms=self.now_ms(),
                )
            )

    def rejection_counts(self) -> dict[str, int]:
        """How many refusals and rejected records, by reason."""
        q = sa.select(rejections.c.reason, sa.func.count()).group_by(rejections.c.reason)
        with self.engine.connect() as conn:
            return {r: int(n) for r, n in conn.execute(q)}


def _text(detail: str) -> str:
    # Details quote what was sent; PostgreSQL text cannot hold NUL.
    return detail.replace("\x00", "\\0")[:500]


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
