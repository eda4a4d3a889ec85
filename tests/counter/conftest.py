"""Fixtures for the counter station's tests: a demo wallet (made once, copied per test), the
central on uvicorn trusting its issuer CA, a counter terminal (PSAM, outbox, sync
agent) and the three in-process readers (clerk card, citizen card, PSAM)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central import ledger, reconcile, registry
from backend_sync.central.service import Central
from backend_sync.terminal.station_events import send_station_events
from cardlib.apdu import ApduSession
from cardlib.purse import Purse
from kiosk.counter import CounterDevices, CounterSession, CounterStation
from kiosk.counter.events import StationEvents
from kiosk.demo.issuer import create_demo_wallet
from simulators.transport import SimReader
from simulators.wallet import Wallet, WalletCard
from tests.backend_sync.support import Terminal, ThreadServer, make_central, terminal

COUNTER_TID = "320500009901"
DRAWER = "320500009901-1"


@pytest.fixture(scope="session")
def counter_wallet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("counter-wallet") / "wallet"
    create_demo_wallet(root, seed=17, terminal_ids=("320500000001", COUNTER_TID))
    return root


@dataclass
class Counter:
    wallet: Wallet
    central: Central
    server: ThreadServer
    terminal: Terminal
    clerk_reader: SimReader
    citizen_reader: SimReader
    station: CounterStation
    tmp: Path
    supervisor_reader: SimReader = field(default_factory=lambda: SimReader("supervisor"))

    def card(self, role: str, n: int = 0) -> WalletCard:
        return [c for c in self.wallet.cards() if c.role == role][n]

    def insert_clerk(self, role: str = "clerk") -> WalletCard:
        c = self.card(role)
        self.clerk_reader.insert(self.wallet.open_card(c.asn))
        return c

    def insert_citizen(self, n: int = 0) -> WalletCard:
        c = self.card("citizen", n)
        self.citizen_reader.insert(self.wallet.open_card(c.asn))
        return c

    def login(self, role: str = "clerk") -> CounterSession:
        c = self.insert_clerk(role)
        return self.station.login(c.pin)

    def chip_balance(self, asn: str) -> int:
        r = SimReader("check")
        r.insert(self.wallet.open_card(asn))
        return Purse(ApduSession(r)).balance()

    def chip_balance_in_reader(self) -> int:
        return Purse(ApduSession(self.citizen_reader)).balance()

    def ledger(self, code: str) -> int:
        with self.central.engine.connect() as conn:
            return ledger.balance(conn, code)

    def assert_reconciled(self) -> None:
        assert self.terminal.agent.run_once().ok
        rec = reconcile.reconcile(self.central)
        assert rec.mismatches == [] and rec.chain_breaks == [] and rec.ledger_ok, rec.to_json()

    def new_station(self, **kw: object) -> CounterStation:
        """Another station on the same terminal (a counter restarted after a crash)."""
        return make_station(self, **kw)

    def terminal_certificate(self) -> x509.Certificate:
        from tests.backend_sync.support import terminal_cert

        return x509.load_pem_x509_certificate(
            terminal_cert(self.terminal.key, COUNTER_TID).encode()
        )


def make_station(k: Counter, **kw: object) -> CounterStation:
    psam = SimReader("psam")
    psam.insert(k.wallet.open_psam(COUNTER_TID))
    devices = CounterDevices(
        open_clerk_card=lambda: k.clerk_reader,
        open_citizen_card=lambda: k.citizen_reader,
        psam=psam,
        clerk_present=lambda: k.clerk_reader.present,
        open_supervisor_card=lambda: k.supervisor_reader,
    )
    args: dict[str, object] = {
        "central": k.terminal.client, "outbox": k.terminal.outbox,
        "trusted": [issuer_ca(k.wallet)],
        "drawer": DRAWER, "receipt_key": k.terminal.key,
        "journal": k.tmp / "counter-ops.json", "upload": k.terminal.agent.run_once,
    }  # fmt: skip
    args.update(kw)
    if "events" not in args:  # one journal per folder (its start clears torn writes)
        client = k.terminal.client
        args["events"] = StationEvents(
            k.tmp / "station-events", lambda evs: send_station_events(client, evs)
        )
    return CounterStation(devices, **args)  # type: ignore[arg-type]


def issuer_ca(wallet: Wallet) -> x509.Certificate:
    return x509.load_pem_x509_certificate((wallet.root / "issuer-ca.crt").read_bytes())


@pytest.fixture(scope="session")
def counter_central_key() -> ec.EllipticCurvePrivateKey:
    return chain.generate_key()


@pytest.fixture
def counter(
    counter_wallet: Path, tmp_path: Path, counter_central_key: ec.EllipticCurvePrivateKey
) -> Iterator[Counter]:
    shutil.copytree(counter_wallet, tmp_path / "wallet")
    wallet = Wallet(tmp_path / "wallet")
    central = make_central(f"sqlite:///{tmp_path / 'c.db'}", wallet.keys(), counter_central_key)
    ca = issuer_ca(wallet)
    central.card_cas = (ca,)
    for c in wallet.cards():
        registry.register_card(central, asn=c.asn, algorithm=0, key_version=1)
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, COUNTER_TID)
        k = Counter(wallet, central, srv, t, SimReader("clerk"), SimReader("citizen"),
                    None, tmp_path)  # type: ignore[arg-type]  # fmt: skip
        k.station = make_station(k)
        yield k
        t.client.close()
        t.outbox.close()
    central.engine.dispose()


# pcscd + vpcd, as tests/pcsc uses them (marker "pcsc").
from tests.pcsc.conftest import bridge, pcscd  # noqa: E402, F401
