"""A whole kiosk world on simulators, for the demo, the scripted session and tests.

TEST ONLY. It builds, in one data folder: the TEST ONLY wallet (issuer, PSAM,
demo citizens' cards), an embedded central on a real uvicorn server on loopback
(SQLite, the department systems of ``civicard sim departments`` behind it — seeded
with the demo citizens, their bills, fines, statements and applications — and a
simulated bank with their linked accounts, the demo catalog published), the ESC/POS printer
simulator on a loopback TCP port, and the kiosk itself, built by the product's own
builder (:func:`kiosk.runtime.build_kiosk`) from a config in ``root`` with the
simulators passed in as its devices: card and PSAM slots (in-process readers, or
pcscd + vpcd), the printer.

Only the composition root (``kiosk/cli.py`` subcommands) and tests use this.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.core.clock import Clock, ManualClock
from kiosk.core.controller import KioskController
from kiosk.core.machine import TerminalMachine
from kiosk.core.timeouts import Timeouts
from kiosk.demo.catalog import DEMO_CATALOG
from kiosk.runtime import KioskRuntime

__all__ = ["ADMIN_TOKEN", "DEMO_CATALOG", "DemoWorld"]

log = logging.getLogger(__name__)

ADMIN_TOKEN = "demo-admin-token"  # noqa: S105 - TEST ONLY, loopback demo central


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
    departments: Any  # kiosk.demo.departments.DemoDepartments
    bank: Any
    printer_sim: Any
    card_reader: Any
    psam_reader: Any
    kiosk: KioskRuntime
    terminal_key: Any
    terminal_cert: Any
    extra: dict[str, Any] = field(default_factory=dict)

    # The kiosk's parts, as the builder made them.
    @property
    def controller(self) -> KioskController:
        return self.kiosk.controller

    @property
    def machine(self) -> TerminalMachine:
        return self.kiosk.machine

    @property
    def ops(self) -> Any:
        return self.kiosk.ops

    @property
    def outbox(self) -> Any:
        return self.kiosk.outbox

    @property
    def store(self) -> Any:
        return self.kiosk.store

    @property
    def client(self) -> Any:
        return self.kiosk.client

    @property
    def agent(self) -> Any:
        return self.kiosk.agent

    @property
    def audit(self) -> Any:
        return self.kiosk.audit

    @property
    def print_queue(self) -> Any:
        return self.kiosk.print_queue

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
        flows: Any = None,
        departments_process: bool = False,
    ) -> DemoWorld:
        """Everything in ``root``. With ``pcsc`` the card and PSAM sit behind the real
        PC/SC stack (a private pcscd with a vpcd reader, the vpcd bridge, pyscard) instead
        of in-process readers; pcscd's socket is machine-wide, so that needs root and no
        other pcscd running. With ``departments_process`` the department simulator is
        a process of its own (else a uvicorn thread here: the same HTTP service)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        from backend_sync import chain
        from backend_sync.central import documents, registry
        from backend_sync.central.app import create_app
        from backend_sync.central.cardcrypto import CardCrypto
        from backend_sync.central.db import make_engine, upgrade
        from backend_sync.central.departments import Departments
        from backend_sync.central.providers import SimulatedBank
        from backend_sync.central.service import Central
        from backend_sync.terminal_certs import (
            load_test_terminal_ca,
            make_test_terminal_ca,
            save_test_terminal_ca,
            terminal_cert_pem_for,
        )
        from cardlib.keys import KeyRole
        from drivers.printer.printer import Printer
        from drivers.printer.profiles import get_profile
        from kiosk.config import load_config
        from kiosk.demo import world_parts as parts
        from kiosk.demo.issuer import Issuer, create_demo_wallet
        from kiosk.runtime import KioskDevices, build_kiosk
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
            card_reader, psam_reader, open_card, open_psam = parts.pcsc_slots(root, wallet, extra)
        else:
            psam_reader, card_reader = SimReader("PSAM slot"), SimReader("card reader")
            psam_reader.insert(wallet.open_psam())
            open_card, open_psam = (lambda: card_reader), (lambda: psam_reader)
        terminal_id = wallet.terminal_ids()[0]

        # -- the central ---------------------------------------------------------------
        if not (root / "central.db").exists() and (wallet.root / "central.db").exists():
            # The world's central is the one that issued the wallet's cards: its
            # applications and cards (kiosk.demo.issuing_desk) come with it.
            parts.copy_database(wallet.root / "central.db", root / "central.db")
        engine = make_engine(f"sqlite:///{root / 'central.db'}")
        upgrade(engine)
        key_file = root / "central-signing.pem"
        if key_file.exists():
            signing = chain.load_private_key(key_file.read_bytes())
        else:
            signing = chain.generate_key()
            key_file.write_bytes(chain.private_key_pem(signing))
        citizens = [c for c in wallet.cards() if c.role == "citizen"]
        depts = parts.departments(root, citizens, clock, departments_process)
        # Short tries: a department that does not answer is "try later" within ~2 s.
        gateway = Departments(depts.url, timeout=1.0, attempts=2, budget_s=2.0, backoff=0.05)
        bank = SimulatedBank()
        for c in citizens:  # each citizen's linked account: a bank, a TEST ONLY number
            digits = "".join(ch for ch in c.asn if ch.isdigit())[-10:]
            bank.link(c.asn, 500_000, provider="中国工商银行", number=f"622202{digits}")
        # The TEST ONLY terminal CA the demo's central trusts (issue 12 item 14).
        if (root / "terminal-ca.key").exists():
            terminal_ca = load_test_terminal_ca(root)
        else:
            terminal_ca = make_test_terminal_ca(dt.datetime.now(dt.UTC))
            save_test_terminal_ca(root, *terminal_ca)
        central = Central(
            engine=engine,
            crypto=CardCrypto.of(wallet.keys().subset(KeyRole.LOAD, KeyRole.TAC)),
            signing_key=signing,
            admin_token=ADMIN_TOKEN,
            bills=gateway,
            departments=gateway,
            funding=bank,
            terminal_cas=[terminal_ca[1]],
            # Polls: card certificates chain to the wallet's issuer CA.
            card_cas=(Issuer.load(wallet.root).ca_cert,),
        )
        for c in citizens:
            registry.register_card(central, asn=c.asn, algorithm=int(wallet.keys().algorithm),
                                   key_version=1)  # fmt: skip
        # One key signs upload batches and receipt QR codes; its certificate (CN =
        # terminal id, as receipts are verified), issued by the terminal CA, is the
        # one enrolled at the central.
        tkey_file, tcert_file = root / "terminal-key.pem", root / "terminal.crt"
        tcert = None
        if tkey_file.exists():
            tkey = chain.load_private_key(tkey_file.read_bytes())
            tcert = x509.load_pem_x509_certificate(tcert_file.read_bytes())
        else:
            tkey = chain.generate_key()
            tkey_file.write_bytes(chain.private_key_pem(tkey))
        if tcert is None or tcert.issuer != terminal_ca[1].subject:
            pem = terminal_cert_pem_for(terminal_ca, terminal_id, tkey)
            tcert_file.write_text(pem)
            tcert = x509.load_pem_x509_certificate(pem.encode())
            registry.enroll_terminal(central, terminal_id=terminal_id, cert_pem=pem)
        if catalog is not None or not parts.published(central):
            documents.publish(central, "catalog", catalog or DEMO_CATALOG)
        parts.open_demo_poll(central, clock)
        parts.demo_feedback_categories(central)
        from kiosk.demo.staff import ensure_demo_staff

        ensure_demo_staff(central)  # TEST ONLY logins for the staff console
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
        from kiosk.demo.opening import open_balances

        open_balances(root, wallet, central, url)

        # -- the printer -----------------------------------------------------------------
        sim = prn = None
        if printer:
            sim = PrinterSimulator.model("gb18030-80mm", out_dir=root / "printer")
            pport = sim.start_tcp(port=0)
            prn = Printer(f"tcp://127.0.0.1:{pport}", get_profile("gb18030-80mm"), timeout=1.0,
                          print_timeout=10.0)  # fmt: skip

        # -- the kiosk, built as any kiosk is, on the simulators ----------------------------
        ca_file, central_pub = root / "issuer-ca.pem", root / "central-public.pem"
        ca_file.write_bytes(
            Issuer.load(wallet.root).ca_cert.public_bytes(serialization.Encoding.PEM)
        )
        central_pub.write_bytes(
            signing.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        config = dataclasses.replace(
            load_config(None, env={}), data_dir=root, location="张家港市民中心 1F 自助区",
            trusted_ca=ca_file, central_url=url, central_key=central_pub,
            terminal_key=tkey_file, central_timeout=5.0, timeouts=timeouts or Timeouts(),
        )  # fmt: skip
        # In-process readers list themselves for the technician's status; behind pcscd
        # the status reads PC/SC's own reader list.
        in_process = None if pcsc else (
            lambda: {"card reader": card_reader.atr, "PSAM slot": psam_reader.atr}
        )  # fmt: skip
        devices = KioskDevices(open_card, open_psam(), card_reader="card reader",
                               psam_reader="PSAM slot", printer=prn,
                               readers=in_process)  # fmt: skip
        kiosk = build_kiosk(config, devices=devices, clock=clock, flows=flows,
                            sync_backoff=(2, 0.05, 0.2))  # fmt: skip
        kiosk.sync_once()
        return cls(root=root, clock=clock, wallet=wallet, central=central, server=server,
                   server_thread=thread, central_url=url, departments=depts, bank=bank,
                   printer_sim=sim, card_reader=card_reader, psam_reader=psam_reader,
                   kiosk=kiosk, terminal_key=tkey, terminal_cert=tcert,
                   extra=extra)  # fmt: skip

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
        self.controller.card_inserted()
        return card

    def remove(self) -> None:
        self.card_reader.remove()
        self.controller.card_removed()

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
        return self.kiosk.sync_once()

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

    def unpaid_bills(self, utility: str = "water", account: str = "1000001") -> list[Any]:
        """The department's own unpaid bills of ``account``, oldest first (dicts with
        ``reference`` and ``amount`` in fen): what a test compares the kiosk with."""
        path = f"/utilities/{utility}/accounts/{account}/bills"
        return list(self.departments.get(path)["bills"])

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
        self.kiosk.close()
        self.server.should_exit = True
        self.server_thread.join(5)
        if self.printer_sim is not None:
            self.printer_sim.stop()
        self.central.engine.dispose()
        if self.central.departments is not None:
            self.central.departments.close()
        self.departments.stop()
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
