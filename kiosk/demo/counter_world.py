"""The counter station's demo world: the kiosk's demo world plus the counter's devices.

TEST ONLY. On top of :class:`kiosk.demo.world.DemoWorld` (wallet, central on uvicorn,
printer simulator): a reader for the clerk's card and one for the citizen's, the
identity card reader simulator on a pty (its driver opens the pty as any serial
port), blank chips for new cards, the counter's own terminal (the issuing counter's
id, key, outbox and central client) and a printer connection of its own.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CounterWorld"]

log = logging.getLogger(__name__)


@dataclass
class CounterWorld:
    """Everything the demo counter runs on; :meth:`close` stops it."""

    world: Any  # DemoWorld
    clerk_reader: Any
    citizen_reader: Any
    id_sim: Any
    id_reader: Any
    issuer: Any
    issuer_ca: Any
    client: Any
    outbox: Any
    printer: Any
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, root: Path, *, printer: bool = True) -> CounterWorld:
        from backend_sync import chain
        from backend_sync.central import registry
        from backend_sync.terminal.client import CentralClient
        from backend_sync.terminal.outbox import Outbox
        from backend_sync.terminal_certs import load_test_terminal_ca, terminal_cert_pem_for
        from drivers.idcard import IdCardReader
        from drivers.printer.printer import Printer
        from drivers.printer.profiles import get_profile
        from kiosk.core.clock import SystemClock
        from kiosk.demo.issuer import ISSUER_TERMINAL, Issuer
        from kiosk.demo.world import DemoWorld
        from simulators.idcard import IdCardSimulator
        from simulators.transport import SimReader

        world = DemoWorld.build(root, clock=SystemClock(), printer=printer)
        tid = ISSUER_TERMINAL.hex().upper()
        key_file = root / "counter-key.pem"
        if key_file.exists():
            key = chain.load_private_key(key_file.read_bytes())
        else:
            key = chain.generate_key()
            pem = terminal_cert_pem_for(load_test_terminal_ca(root), tid, key)
            registry.enroll_terminal(world.central, terminal_id=tid, cert_pem=pem)
            key_file.write_bytes(chain.private_key_pem(key))
        outbox = Outbox(root / "counter-outbox.db", tid)
        client = CentralClient(
            world.central_url,
            terminal_id=tid,
            key=key,
            central_key=world.central.signing_key.public_key(),
            timeout=5,
        )
        sim = IdCardSimulator()
        id_reader = IdCardReader.open(f"serial://{sim.start_pty()}?baudrate=115200")
        issuer = Issuer.load(world.wallet.root)
        prn = None
        if world.printer_sim is not None:
            prn = Printer(f"tcp://127.0.0.1:{world.printer_sim.tcp_port}",
                          get_profile("gb18030-80mm"), timeout=1.0, print_timeout=10.0)  # fmt: skip
        return cls(world=world, clerk_reader=SimReader("clerk card"),
                   citizen_reader=SimReader("citizen card"), id_sim=sim, id_reader=id_reader,
                   issuer=issuer, issuer_ca=issuer.ca_cert, client=client, outbox=outbox,
                   printer=prn)  # fmt: skip

    # -- the demo's hands --------------------------------------------------------------
    @property
    def wallet(self) -> Any:
        return self.world.wallet

    @property
    def central(self) -> Any:
        return self.world.central

    def clerk_card(self) -> Any:
        return next(c for c in self.wallet.cards() if c.role == "clerk")

    def insert_clerk(self) -> None:
        if self.clerk_reader.present:
            self.clerk_reader.remove()
        self.clerk_reader.insert(self.wallet.open_card(self.clerk_card().asn))

    def insert_citizen(self, who: str) -> None:
        if self.citizen_reader.present:
            self.citizen_reader.remove()
        self.citizen_reader.insert(self.wallet.open_card(who))
        names = {c.asn: c.name for c in self.wallet.cards()}
        self.extra["citizen_shown"] = names.get(who.upper(), who)  # what the demo panel says

    def insert_blank(self) -> None:
        """A blank chip from the card factory (TEST ONLY keys) in the citizen slot."""
        from simulators.card import make_blank_card

        serial = secrets.token_bytes(8)
        path = self.wallet.root / "cards" / f"blank-{serial.hex().upper()}.json"
        card = make_blank_card(self.issuer.keys, serial, path=path)
        self.extra["blank_file"] = f"cards/{path.name}"
        self.extra["citizen_shown"] = "blank"
        if self.citizen_reader.present:
            self.citizen_reader.remove()
        self.citizen_reader.insert(card)

    def place_id(self, who: str) -> None:
        from simulators.idcard import demo_document

        self.id_sim.place(demo_document(who))

    # -- what the demo ports need --------------------------------------------------------
    def next_asn(self) -> bytes:
        n = len(self.wallet.cards()) + 1
        return bytes.fromhex(f"3215{secrets.randbelow(10**10):010d}{n:06d}")

    def register(self, asn: str, name: str, pin: str, puk: str) -> None:
        from backend_sync.central import registry

        registry.register_card(self.central, asn=asn, algorithm=int(self.wallet.keys().algorithm),
                               key_version=1)  # fmt: skip
        file = self.extra.pop("blank_file", f"cards/{asn.upper()}.json")
        # TEST ONLY: the demo wallet keeps PINs so the demo can be replayed.
        self.wallet.add_card(name=name, asn=asn.upper(), file=file, role="citizen", pin=pin,
                             puk=puk)  # fmt: skip
        self.world.sync()  # the kiosk learns of the new card with the next hotlist

    def holder_of(self, card_number: str) -> Any:
        from cardlib.apdu import ApduSession
        from cardlib.purse import Purse
        from simulators.transport import SimReader

        try:
            card = self.wallet.open_card(card_number.upper())
        except (KeyError, FileNotFoundError, StopIteration, ValueError):
            return None
        reader = SimReader("lookup")
        reader.insert(card)
        try:
            return Purse(ApduSession(reader)).holder()
        finally:
            reader.remove()

    def find_cards(self, query: str) -> list[tuple[str, str, str, str, int]]:
        """(ASN, name, masked ID, central status, ledger balance) of matching cards."""
        import sqlalchemy as sa

        from backend_sync.central.models import cards
        from kiosk.counter.holder import mask

        balances = self.world.ledger_balances()
        out = []
        q = query.upper()
        for c in self.wallet.cards():
            holder = self.holder_of(c.asn)
            if holder is None:
                continue
            if q not in (c.asn.upper(),) and query not in c.name and mask(q) != holder.id_masked:
                continue
            with self.central.engine.connect() as conn:
                status = conn.execute(sa.select(cards.c.status)
                                      .where(cards.c.asn == c.asn.lower())).scalar()  # fmt: skip
            ledger = balances.get(f"card:{c.asn.lower()}", 0)
            out.append((c.asn, c.name, holder.id_masked, str(status or "unknown"), ledger))
        return out

    def drawer_ledger(self) -> int:
        """The counter's cash drawer account at the central (what its loads took in)."""
        tid = self.outbox.terminal_id.lower()
        return -sum(int(v) for k, v in self.world.ledger_balances().items()
                    if k.lower().startswith("funding:cash") and tid in k.lower())  # fmt: skip

    def upload(self) -> None:
        from backend_sync.terminal.agent import SyncAgent
        from backend_sync.terminal.downloads import DownloadStore

        pub = self.central.signing_key.public_key()
        store = DownloadStore(self.world.root / "counter-downloads", pub)
        agent = SyncAgent(self.outbox, self.client, store, attempts=2, backoff_initial=0.05)
        report = agent.upload_pending()
        if report.problems:
            log.warning("counter records not all uploaded: %s", report.problems)

    def sync(self) -> None:
        self.world.sync()

    def close(self) -> None:
        self.id_reader.close()
        self.id_sim.stop()
        if self.printer is not None:
            self.printer.close()
        self.client.close()
        self.outbox.close()
        self.world.close()

    def __enter__(self) -> CounterWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
