"""A whole kiosk world on simulators, for the demo, the scripted session and tests.

TEST ONLY. It builds, in one data folder: the TEST ONLY wallet (issuer, PSAM,
demo citizens' cards), an embedded central on a real uvicorn server on loopback
(SQLite, a simulated biller with bills for the demo citizens and a simulated bank
with their linked accounts, the demo catalog published), the ESC/POS printer
simulator on a loopback TCP port, and the kiosk itself: card and PSAM slots
(in-process readers), outbox, downloads, sync agent, printer queue, audit log,
:class:`~kiosk.services.ops.CardKioskOps` and the :class:`SessionMachine`.

Only the composition root (``kiosk/cli.py`` subcommands) and tests use this.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.core.clock import Clock, ManualClock
from kiosk.core.session import SessionMachine
from kiosk.core.timeouts import Timeouts

__all__ = ["ADMIN_TOKEN", "DEMO_CATALOG", "DemoWorld", "demo_bills"]

log = logging.getLogger(__name__)

ADMIN_TOKEN = "demo-admin-token"  # noqa: S105 - TEST ONLY, loopback demo central


def _n(hans: str, hant: str, en: str) -> dict[str, str]:
    return {"zh-Hans": hans, "zh-Hant": hant, "en": en}


_PIN = {"kind": "pin", "max_length": 6}

DEMO_CATALOG: dict[str, Any] = {
    "groups": [
        {"id": "payments", "kind": "topic", "order": 1, "names": _n("缴费", "繳費", "Payments")},
        {"id": "card", "kind": "topic", "order": 2, "names": _n("卡片服务", "卡片服務", "My card")},
        {"id": "transport", "kind": "topic", "order": 3, "names": _n("交通出行", "交通出行",
                                                                      "Transport")},
        {"id": "work", "kind": "stage", "order": 10, "names": _n("就业", "就業", "Work")},
        {"id": "elderly_health", "kind": "stage", "order": 11,
         "names": _n("养老与健康", "養老與健康", "Elderly care and health")},
    ],
    "services": [
        {"id": "balance", "flow": "balance", "groups": ["card", "elderly_health"], "order": 1,
         "names": _n("余额查询", "餘額查詢", "Balance"),
         "needs": {"network": False}},
        {"id": "history", "flow": "history", "groups": ["card"], "order": 2,
         "names": _n("交易记录", "交易記錄", "Card history"), "needs": {"network": False}},
        {"id": "change_pin", "flow": "change_pin", "groups": ["card"], "order": 3,
         "names": _n("修改密码", "修改密碼", "Change PIN"), "needs": {"network": False},
         "fields": [
             {"name": "old_pin", "labels": _n("原密码", "原密碼", "Current PIN"), **_PIN},
             {"name": "new_pin", "labels": _n("新密码", "新密碼", "New PIN"), **_PIN},
             {"name": "new_pin_again", "labels": _n("再次输入新密码", "再次輸入新密碼",
                                                    "New PIN again"), **_PIN},
         ]},
        {"id": "water_bill", "flow": "bill", "groups": ["payments", "work"], "order": 10,
         "names": _n("水费", "水費", "Water bill"), "needs": {"network": True},
         "fields": [{"name": "account", "kind": "digits", "max_length": 12,
                     "labels": _n("户号", "戶號", "Account number")}],
         "payment": {"payee": "water", "utility": "water"}},
        {"id": "electricity_bill", "flow": "bill", "groups": ["payments"], "order": 11,
         "names": _n("电费", "電費", "Electricity bill"), "needs": {"network": True},
         "fields": [{"name": "account", "kind": "digits", "max_length": 12,
                     "labels": _n("户号", "戶號", "Account number")}],
         "payment": {"payee": "electricity", "utility": "electricity"}},
        {"id": "top_up", "flow": "top_up", "groups": ["payments", "card"], "order": 12,
         "names": _n("银行卡充值", "銀行卡充值", "Top up from bank"), "needs": {"network": True},
         "fields": [{"name": "amount", "kind": "amount", "min_fen": 1000, "max_fen": 50000,
                     "labels": _n("充值金额（元）", "充值金額（元）", "Amount (yuan)")}],
         "payment": {"payee": "bank", "funding": "bank"}},
        {"id": "bike_enable", "flow": "fixed_price", "groups": ["transport"], "order": 20,
         "names": _n("开通公共自行车", "開通公共自行車", "Enable public bikes"),
         "payment": {"payee": "bike", "amount_fen": 1000, "offline": True}},
    ],
}  # fmt: skip


def demo_bills(asns: list[str]) -> list[Any]:
    """One water and one electricity bill per demo citizen, accounts 1000001..."""
    from backend_sync.central.providers import BillInfo

    bills = []
    for n, _asn in enumerate(asns, start=1):
        account = f"{1_000_000 + n}"
        bills.append(BillInfo("water", account, f"W2026-10-{account}", "2026-10", 4_230 + 100 * n,
                              "张家港水务"))  # fmt: skip
        bills.append(BillInfo("electricity", account, f"E2026-10-{account}", "2026-10",
                              8_815 + 10 * n, "国网张家港供电"))  # fmt: skip
    return bills


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DemoWorld:
    """Everything running; :meth:`close` stops it. Build with :meth:`build`."""

    root: Path
    clock: Clock
    wallet: Any
    central: Any
    server: Any
    server_thread: threading.Thread
    central_url: str
    biller: Any
    bank: Any
    printer_sim: Any
    card_reader: Any
    psam_reader: Any
    outbox: Any
    store: Any
    client: Any
    agent: Any
    ops: Any
    machine: SessionMachine
    audit: Any
    print_queue: Any
    terminal_key: Any
    terminal_cert: Any
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        root: Path,
        *,
        clock: Clock | None = None,
        timeouts: Timeouts | None = None,
        printer: bool = True,
        catalog: dict[str, Any] | None = None,
        pcsc: bool = False,
    ) -> DemoWorld:
        """Everything in ``root``. With ``pcsc`` the card and PSAM sit behind the real
        PC/SC stack (a private pcscd with a vpcd reader, the vpcd bridge, pyscard) instead
        of in-process readers; pcscd's socket is machine-wide, so that needs root and no
        other pcscd running."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        from backend_sync import chain
        from backend_sync.central import documents, registry
        from backend_sync.central.app import create_app
        from backend_sync.central.cardcrypto import CardCrypto
        from backend_sync.central.db import make_engine, upgrade
        from backend_sync.central.providers import SimulatedBank, SimulatedBiller
        from backend_sync.central.service import Central
        from backend_sync.terminal.agent import SyncAgent
        from backend_sync.terminal.client import CentralClient
        from backend_sync.terminal.downloads import DownloadStore
        from backend_sync.terminal.outbox import Outbox
        from cardlib.keys import KeyRole
        from drivers.printer.printer import Printer
        from drivers.printer.profiles import get_profile
        from drivers.printer.queue import PrintQueue
        from kiosk.audit import AuditLog
        from kiosk.issuer import Issuer, create_demo_wallet
        from kiosk.receipts.layouts import key_signer
        from kiosk.receipts.signing import make_test_terminal_identity
        from kiosk.services.ops import CardKioskOps, Network
        from kiosk.services.printing import ReceiptDesk
        from simulators.printer.server import PrinterSimulator
        from simulators.transport import SimReader
        from simulators.wallet import Wallet

        root.mkdir(parents=True, exist_ok=True)
        clock = clock or ManualClock()
        wallet = Wallet(root / "wallet")
        if not wallet.exists():
            create_demo_wallet(wallet.root, now=clock.now())
        extra: dict[str, Any] = {}
        if pcsc:
            card_reader, psam_reader, open_card, open_psam = _pcsc_slots(root, wallet, extra)
        else:
            psam_reader, card_reader = SimReader("PSAM slot"), SimReader("card reader")
            psam_reader.insert(wallet.open_psam())
            open_card, open_psam = (lambda: card_reader), (lambda: psam_reader)
        terminal_id = wallet.terminal_ids()[0]

        # -- the central ---------------------------------------------------------------
        engine = make_engine(f"sqlite:///{root / 'central.db'}")
        upgrade(engine)
        key_file = root / "central-signing.pem"
        if key_file.exists():
            signing = chain.load_private_key(key_file.read_bytes())
        else:
            signing = chain.generate_key()
            key_file.write_bytes(chain.private_key_pem(signing))
        citizens = [c for c in wallet.cards() if c.role == "citizen"]
        biller = SimulatedBiller(demo_bills([c.asn for c in citizens]))
        bank = SimulatedBank({c.asn: 500_000 for c in citizens})
        central = Central(
            engine=engine,
            crypto=CardCrypto.of(wallet.keys().subset(KeyRole.LOAD, KeyRole.TAC)),
            signing_key=signing,
            admin_token=ADMIN_TOKEN,
            bills=biller,
            funding=bank,
        )
        for c in citizens:
            registry.register_card(central, asn=c.asn, algorithm=int(wallet.keys().algorithm),
                                   key_version=1)  # fmt: skip
        # One key signs upload batches and receipt QR codes; its certificate (CN =
        # terminal id, as receipts are verified) is the one enrolled at the central.
        tkey_file, tcert_file = root / "terminal-key.pem", root / "terminal.crt"
        if tkey_file.exists():
            tkey = chain.load_private_key(tkey_file.read_bytes())
            tcert = x509.load_pem_x509_certificate(tcert_file.read_bytes())
        else:
            ident = make_test_terminal_identity(terminal_id, now=dt.datetime.now(dt.UTC))
            tkey, tcert = ident.private_key, ident.certificate
            tkey_file.write_bytes(chain.private_key_pem(tkey))
            tcert_file.write_bytes(tcert.public_bytes(serialization.Encoding.PEM))
            registry.enroll_terminal(
                central, terminal_id=terminal_id,
                cert_pem=tcert.public_bytes(serialization.Encoding.PEM).decode(),
            )  # fmt: skip
        if catalog is not None or not _published(central):
            documents.publish(central, "catalog", catalog or DEMO_CATALOG)
        import uvicorn

        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(central), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))  # fmt: skip
        thread = threading.Thread(target=server.run, name="demo-central", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the embedded central did not start")
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        # The issuing counter credits the cards' opening balances through the central.
        open_balances(root, wallet, central, url)

        # -- the printer -----------------------------------------------------------------
        sim = None
        desk = None
        queue = PrintQueue(root / "print-queue.db")
        if printer:
            sim = PrinterSimulator.model("gb18030-80mm", out_dir=root / "printer")
            pport = sim.start_tcp(port=0)
            prn = Printer(f"tcp://127.0.0.1:{pport}", get_profile("gb18030-80mm"), timeout=1.0,
                          print_timeout=10.0)  # fmt: skip
            desk = ReceiptDesk(prn, queue, key_signer(tkey), "张家港市民中心 1F 自助区")

        # -- the kiosk -------------------------------------------------------------------
        outbox = Outbox(root / "outbox.db", terminal_id)
        client = CentralClient(url, terminal_id=terminal_id, key=tkey,
                               central_key=signing.public_key(), timeout=5)  # fmt: skip
        store = DownloadStore(root / "downloads", signing.public_key())
        agent = SyncAgent(outbox, client, store, attempts=2, backoff_initial=0.05,
                          backoff_max=0.2)  # fmt: skip
        network = Network(online=True)
        agent.run_once()
        ops = CardKioskOps(
            open_card=open_card,
            open_psam=open_psam,
            open_outbox=lambda _tid: outbox,
            trusted=[Issuer.load(wallet.root).ca_cert],
            clock=clock,
            client=client,
            store=store,
            receipts=desk,
            network=network,
        )
        audit = AuditLog(root / "audit.db")
        machine = SessionMachine(ops, clock=clock, timeouts=timeouts, audit=audit)
        return cls(root=root, clock=clock, wallet=wallet, central=central, server=server,
                   server_thread=thread, central_url=url, biller=biller, bank=bank,
                   printer_sim=sim, card_reader=card_reader, psam_reader=psam_reader,
                   outbox=outbox, store=store, client=client, agent=agent, ops=ops,
                   machine=machine, audit=audit, print_queue=queue,
                   terminal_key=tkey, terminal_cert=tcert, extra=extra)  # fmt: skip

    # -- helpers for scripts and tests ---------------------------------------------------
    def citizen(self, n: int) -> Any:
        """The n-th demo citizen (1-based) of the wallet."""
        return [c for c in self.wallet.cards() if c.role == "citizen"][n - 1]

    def insert(self, who: str = "1") -> Any:
        """Put a demo card in the reader and tell the kiosk; returns the card object."""
        card = self.wallet.open_card(who)
        if getattr(self.card_reader, "device", None) is not None:
            self.card_reader.remove()  # a vpcd slot holds one card at a time
        self.card_reader.insert(card)
        self.machine.card_inserted()
        return card

    def remove(self) -> None:
        self.card_reader.remove()
        self.machine.card_removed()

    def settle(self, timeout: float = 10.0) -> None:
        """Pump the machine until no input or job is pending."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.machine.pump()
            if self.machine.worker.wait_idle(0.01) and self.machine.quiet():
                return
        raise TimeoutError(f"kiosk still busy in {self.machine.state}")

    def sync(self) -> Any:
        """One sync pass, as the kiosk's sync thread does it: records up, catalog and
        hotlist down; whether the central answered sets the kiosk online or offline."""
        report = self.agent.run_once()
        self.ops.network.online = report.skew_ms is not None
        return report

    def ledger_balances(self) -> dict[str, int]:
        """Every ledger account with entries at the central (card:, payee:, funding...)."""
        from backend_sync.central import ledger

        with self.central.engine.connect() as conn:
            return ledger.balances(conn)

    def order_status(self, reference: str) -> str | None:
        import sqlalchemy as sa

        from backend_sync.central.models import orders

        with self.central.engine.connect() as conn:
            q = sa.select(orders.c.status).where(orders.c.reference == reference)
            found = conn.execute(q).scalar()
            return None if found is None else str(found)

    def card_balance(self, who: str) -> int:
        """The card's own balance, read through a fresh reader (from its EEPROM file)."""
        from cardlib.apdu import ApduSession
        from cardlib.purse import Purse
        from simulators.transport import SimReader

        reader = SimReader("check")
        reader.insert(self.wallet.open_card(who))
        try:
            return Purse(ApduSession(reader)).balance()
        finally:
            reader.remove()

    def summary(self) -> list[str]:
        """What the central, the outbox and the printer hold now (for the script's end)."""
        lines = []
        for code, amount in sorted(self.ledger_balances().items()):
            lines.append(f"ledger {code}: {amount:+d} fen")
        from backend_sync.central.reconcile import reconcile

        # What `civicard central reconcile --db <root>/central.db ...` reports.
        rec = reconcile(self.central)
        lines.append(f"reconcile: {len(rec.mismatches)} mismatches, "
                     f"ledger {'balanced' if rec.ledger_ok else 'NOT BALANCED'}, "
                     f"{sum(rec.anomalies.values())} flags")  # fmt: skip
        st = self.outbox.status()
        lines.append(f"outbox: head {st.head_seq}, acknowledged {st.acked_seq}, "
                     f"open intents {st.open_intents}")  # fmt: skip
        if self.printer_sim is not None:
            lines.append(f"printer: {len(self.printer_sim.jobs)} receipt(s) printed")
        return lines

    def close(self) -> None:
        self.machine.worker.stop()
        self.server.should_exit = True
        self.server_thread.join(5)
        if self.printer_sim is not None:
            self.printer_sim.stop()
        self.client.close()
        self.outbox.close()
        self.print_queue.close()
        self.audit.close()
        self.central.engine.dispose()
        # The --pcsc world: PC/SC handles, then the chips, then pcscd itself.
        for conn in (self.extra.get("card_conn", {}).get("conn"), self.extra.get("psam_conn")):
            if conn is not None:
                conn.close()
        if "bridge" in self.extra:
            self.extra["bridge"].close()
        if "pcscd" in self.extra:
            self.extra["pcscd"].close()

    def __enter__(self) -> DemoWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pcsc_slots(root: Path, wallet: Any, extra: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """A private pcscd with one vpcd reader; the bridge serves the card slot (port P)
    and the PSAM slot (P+1); the kiosk talks to both through pyscard."""
    from drivers.pcsc import PcscConnection
    from simulators.private_pcscd import PrivatePcscd
    from simulators.vpcd import VpcdBridge

    pcscd = PrivatePcscd(root / "pcscd")
    pcscd.start()
    extra["pcscd"] = pcscd
    bridge = VpcdBridge("127.0.0.1", pcscd.port)
    extra["bridge"] = bridge
    card_slot, psam_slot = pcscd.slot_names()
    bridge.psam.insert(wallet.open_psam())
    psam_conn = PcscConnection.wait_for_card(psam_slot, timeout=10.0)
    extra["psam_conn"] = psam_conn
    holder: dict[str, Any] = {}
    extra["card_conn"] = holder

    def open_card() -> Any:
        # A fresh connection per insertion, once pcscd has seen the card (it polls).
        old = holder.pop("conn", None)
        if old is not None:
            old.close()
        holder["conn"] = PcscConnection.wait_for_card(card_slot, timeout=5.0)
        return holder["conn"]

    return bridge.card, bridge.psam, open_card, (lambda: psam_conn)


def open_balances(root: Path, wallet: Any, central: Any, url: str) -> int:
    """The issuing counter (its own terminal key, outbox and central client) credits
    the wallet's pending opening balances through the central's load path, then
    uploads its records (kiosk.opening_loads). Returns how many were loaded."""
    from cryptography.hazmat.primitives import serialization

    from backend_sync import chain
    from backend_sync.central import registry
    from backend_sync.terminal.agent import SyncAgent
    from backend_sync.terminal.client import CentralClient
    from backend_sync.terminal.downloads import DownloadStore
    from backend_sync.terminal.outbox import Outbox
    from cardlib.apdu import ApduSession
    from kiosk.issuer import ISSUER_TERMINAL
    from kiosk.opening_loads import load_opening_balances, pending_opening_loads
    from kiosk.receipts.signing import make_test_terminal_identity
    from simulators.transport import SimReader

    if not pending_opening_loads(wallet.root):
        return 0
    tid = ISSUER_TERMINAL.hex().upper()
    key_file = root / "counter-key.pem"
    if key_file.exists():
        key = chain.load_private_key(key_file.read_bytes())
    else:
        ident = make_test_terminal_identity(tid, now=dt.datetime.now(dt.UTC))
        key = ident.private_key
        registry.enroll_terminal(central, terminal_id=tid, cert_pem=ident.certificate.public_bytes(
            serialization.Encoding.PEM).decode())  # fmt: skip
        key_file.write_bytes(chain.private_key_pem(key))
    pub = central.signing_key.public_key()
    outbox = Outbox(root / "counter-outbox.db", tid)
    client = CentralClient(url, terminal_id=tid, key=key, central_key=pub, timeout=5)
    reader = SimReader("issuing counter")

    def open_session(asn: str) -> ApduSession:
        reader.insert(wallet.open_card(asn))
        return ApduSession(reader)

    try:
        n = load_opening_balances(wallet.root, open_session, outbox, client)
        report = SyncAgent(outbox, client, DownloadStore(root / "counter-downloads", pub),
                           attempts=2, backoff_initial=0.05).upload_pending()  # fmt: skip
        if report.problems:
            log.warning("opening loads not all uploaded: %s", report.problems)
        return n
    finally:
        reader.remove()
        client.close()
        outbox.close()


def _published(central: Any) -> bool:
    from backend_sync.central import documents
    from backend_sync.central.service import Refused

    try:
        documents.signed_document(central, "catalog")
    except Refused:
        return False
    return True
