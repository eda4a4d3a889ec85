"""Test kit for sync: a central on a real uvicorn server, terminals, genuine records.

Records are made the way a card makes them: TACs from card keys diversified from
the issuer's TEST ONLY master keys (which the central never gets in full).
"""

from __future__ import annotations

import datetime as dt
import functools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central import documents, registry
from backend_sync.central.app import create_app
from backend_sync.central.cardcrypto import CardCrypto
from backend_sync.central.db import make_engine, upgrade
from backend_sync.central.service import Central
from backend_sync.terminal.agent import SyncAgent
from backend_sync.terminal.client import CentralClient
from backend_sync.terminal.downloads import DownloadStore
from backend_sync.terminal.outbox import Outbox
from backend_sync.terminal_certs import issue_terminal_certificate, make_test_terminal_ca
from cardlib import crypto
from cardlib.crypto import Algorithm, TransactionType
from cardlib.keys import IssuerKeys, KeyRole

ADMIN = "test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_CERTS_FROM = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@functools.cache
def terminal_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The TEST ONLY terminal CA the test centrals trust (one per test process). Valid
    from 2024 for 20 years: tests move the central's clock to the dates they need."""
    return make_test_terminal_ca(_CERTS_FROM, years=20)


def terminal_cert(key: ec.EllipticCurvePrivateKey, terminal_id: str) -> str:
    """A terminal certificate (PEM) under the test terminal CA."""
    ca_key, ca_cert = terminal_ca()
    cert = issue_terminal_certificate(
        ca_key=ca_key, ca_cert=ca_cert, terminal_id=terminal_id,
        public_key=key.public_key(), now=_CERTS_FROM,
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_central(url: str, keys: IssuerKeys, signing_key: ec.EllipticCurvePrivateKey) -> Central:
    engine = make_engine(url)
    upgrade(engine)
    return Central(
        engine=engine,
        crypto=CardCrypto.of(keys.subset(KeyRole.LOAD, KeyRole.TAC)),
        signing_key=signing_key,
        admin_token=ADMIN,
        terminal_cas=[terminal_ca()[1]],
    )


class ThreadServer:
    """uvicorn serving the app on a loopback port, in a thread of this process."""

    def __init__(self, central: Central, port: int | None = None) -> None:
        self.port = port or free_port()
        cfg = uvicorn.Config(
            create_app(central), host="127.0.0.1", port=self.port, log_level="warning",
            lifespan="off",
        )  # fmt: skip
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class PriceList:
    """The central's catalog as a test kiosk sells from it: a fixed-price item per
    (payee, price) sold, each addition published as a new catalog version (the
    central derives a sale's payee from the item the record names)."""

    def __init__(self, central: Central) -> None:
        self.central = central
        self.services: dict[str, dict[str, object]] = {}
        self.version = 0

    def item(self, payee: str, price: int) -> tuple[int, str]:
        """(catalog version, service id) of the item selling ``price`` fen to ``payee``."""
        sid = f"{payee}_{price}"
        if sid not in self.services:
            self.services[sid] = {"id": sid, "flow": "fixed_price",
                                  "payment": {"payee": payee, "amount_fen": price}}  # fmt: skip
            body = {"groups": [], "services": list(self.services.values())}
            self.version = documents.publish(self.central, "catalog", body)
        return self.version, sid


@dataclass
class Terminal:
    terminal_id: str
    key: ec.EllipticCurvePrivateKey
    outbox: Outbox
    client: CentralClient
    agent: SyncAgent
    prices: PriceList


def enroll(central: Central, terminal_id: str) -> ec.EllipticCurvePrivateKey:
    key = chain.generate_key()
    registry.enroll_terminal(
        central, terminal_id=terminal_id, cert_pem=terminal_cert(key, terminal_id)
    )
    return key


def terminal(
    central: Central, url: str, tmp: Path, terminal_id: str, **agent_kw: object
) -> Terminal:
    key = enroll(central, terminal_id)
    outbox = Outbox(tmp / f"outbox-{terminal_id}.db", terminal_id)
    client = CentralClient(
        url, terminal_id=terminal_id, key=key, central_key=central.signing_key.public_key(),
        timeout=5,
    )  # fmt: skip
    store = DownloadStore(tmp / f"dl-{terminal_id}", central.signing_key.public_key())
    kw: dict[str, object] = {"attempts": 8, "backoff_initial": 0.05, "backoff_max": 0.5}
    kw.update(agent_kw)
    agent = SyncAgent(outbox, client, store, **kw)  # type: ignore[arg-type]
    return Terminal(terminal_id, key, outbox, client, agent, PriceList(central))


class CardModel:
    """A card's purse as the issuer keyed it: makes genuine TACs (test side only)."""

    def __init__(self, keys: IssuerKeys, asn: str, balance: int = 50_000) -> None:
        self.keys = keys
        self.asn = asn
        self.balance = balance
        self.offline_atc = 0
        self.online_atc = 0
        ck = keys.card_keys(bytes.fromhex(asn), 1)
        self.alg = keys.algorithm
        self.tac_key = crypto.tac_key(ck[KeyRole.TAC], self.alg)
        self.dlk = ck[KeyRole.LOAD]

    def purchase_tac(self, amount: int, tid: str, ttc: int, date: str, time_: str) -> str:
        return crypto.purchase_tac(
            self.tac_key, amount, TransactionType.PURCHASE, bytes.fromhex(tid), ttc,
            bytes.fromhex(date), bytes.fromhex(time_), self.alg,
        ).hex().upper()  # fmt: skip


def sell(
    t: Terminal,
    card: CardModel,
    amount: int,
    ttc: int,
    *,
    payee: str = "water",
    order_id: str | None = None,
    date: str = "20261128",
    time_: str = "101500",
    catalog: bool = True,
) -> int:
    """One purchase through the outbox exactly as the kiosk does it: a bill cites
    its order, anything else a fixed-price catalog item (unless ``catalog`` is
    False: then the payee is only the kiosk's word)."""
    version, sid = (None, None)
    if order_id is None and catalog:
        version, sid = t.prices.item(payee, amount)
    iid = t.outbox.begin_purchase(
        asn=card.asn, amount=amount, atc=card.offline_atc, ttc=ttc, date=date, time=time_,
        key_version=1, algorithm=int(card.alg), balance_before=card.balance, payee=payee,
        order_id=order_id, catalog_version=version, service_id=sid,
    )  # fmt: skip
    tac = card.purchase_tac(amount, t.terminal_id, ttc, date, time_)
    card.offline_atc += 1
    card.balance -= amount
    return t.outbox.complete(iid, tac=tac, mac2="00000000", balance_after=card.balance)


def top_up(
    t: Terminal,
    card: CardModel,
    amount: int,
    *,
    date: str = "20261128",
    time_: str = "101500",
    funding: str = "cash",
) -> int:
    """One online load as the kiosk does it: INITIALIZE FOR LOAD's MAC1 to the
    central, its MAC2 back, the intent, CREDIT FOR LOAD's TAC into the record."""
    import secrets

    rnd = secrets.token_bytes(4)
    tid = bytes.fromhex(t.terminal_id)
    sk = crypto.load_session_key(card.dlk, rnd, card.online_atc, card.alg)
    mac1 = crypto.load_mac1(sk, card.balance, amount, TransactionType.LOAD, tid, card.alg)
    auth = t.client.authorize_load(
        asn=card.asn, amount=amount, balance_before=card.balance, atc=card.online_atc,
        card_random=rnd.hex(), key_version=1, algorithm=int(card.alg), mac1=mac1.hex(),
        date=date, time=time_, funding=funding,
    )  # fmt: skip
    iid = t.outbox.begin_load(
        asn=card.asn, amount=amount, atc=card.online_atc, date=date, time=time_, key_version=1,
        algorithm=int(card.alg), balance_before=card.balance, load_id=auth.load_id,
    )  # fmt: skip
    card.balance += amount
    tac = crypto.load_tac(
        card.tac_key, card.balance, card.online_atc, amount, TransactionType.LOAD, tid,
        bytes.fromhex(date), bytes.fromhex(time_), card.alg,
    )  # fmt: skip
    card.online_atc += 1
    return t.outbox.complete(iid, tac=tac.hex(), balance_after=card.balance)


def open_balances(central: Central, tmp: Path, wallet_root: Path) -> int:
    """The issuing counter credits a demo wallet's pending opening balances through
    this central's load path (kiosk.opening_loads), its records uploaded."""
    from cardlib.apdu import ApduSession
    from kiosk.demo.issuer import ISSUER_TERMINAL
    from kiosk.opening_loads import load_opening_balances
    from simulators.transport import SimReader
    from simulators.wallet import Wallet

    wallet = Wallet(wallet_root)
    reader = SimReader("issuing counter")

    def open_session(asn: str) -> ApduSession:
        reader.insert(wallet.open_card(asn))
        return ApduSession(reader)

    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp, ISSUER_TERMINAL.hex().upper())
        pins = {c.asn: c.pin for c in wallet.cards()}
        n = load_opening_balances(wallet_root, open_session, t.outbox, t.client, pins.get)
        assert t.agent.run_once().ok
        t.client.close()
        t.outbox.close()
    reader.remove()
    return n


def asn_of(n: int) -> str:
    return f"3215{n:016d}"


def cards(central: Central, keys: IssuerKeys, n: int, start: int = 1) -> Iterator[CardModel]:
    for i in range(start, start + n):
        registry.register_card(central, asn=asn_of(i), algorithm=int(keys.algorithm), key_version=1)
        yield CardModel(keys, asn_of(i))


__all__ = ["ADMIN", "Algorithm", "CardModel", "PriceList", "ThreadServer", "asn_of", "cards",
           "make_central", "open_balances", "sell", "terminal", "terminal_ca", "terminal_cert",
           "top_up"]  # fmt: skip
