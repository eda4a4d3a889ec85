"""The counter station's demo world: the kiosk's demo world plus the counter's devices.

TEST ONLY. On top of :class:`kiosk.demo.world.DemoWorld` (wallet, central on uvicorn,
printer simulator): readers for the clerk's card, the citizen's and a supervisor's, a
PSAM from the demo wallet in a third, the identity card reader simulator on a pty (its
driver opens the pty as any serial port), blank chips for new cards, the counter's own
terminal (the issuing counter's id, key, outbox and central client), a printer
connection of its own, and the station core (:class:`kiosk.counter.CounterStation`)
on them. The central gets the wallet's issuer CA (operator and citizen cards chain to
it) and the issuer (``issuance.load_issuer``: the central personalizes, the counter
relays).
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
    station: Any = None  # kiosk.counter.CounterStation
    supervisor_reader: Any = None
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
        from backend_sync.central.issuance import load_issuer
        from backend_sync.terminal.station_events import send_station_events
        from kiosk.counter import CounterDevices, CounterStation
        from kiosk.counter.events import StationEvents
        from simulators.sam import make_psam

        wallet = world.wallet
        if tid not in wallet.terminal_ids():  # the counter's PSAM, from the demo issuer
            psam_file = wallet.root / "psam" / f"{tid}.json"
            make_psam(Issuer.load(wallet.root).keys, ISSUER_TERMINAL, path=psam_file)
            wallet.add_psam(terminal_id=tid, file=f"psam/{psam_file.name}")
        world.central.issuer = load_issuer(wallet.root)
        world.central.card_cas = (Issuer.load(wallet.root).ca_cert,)
        for c in wallet.cards():  # the operators' cards too: the central checks their status
            if c.role in ("clerk", "supervisor"):
                registry.register_card(
                    world.central, asn=c.asn, algorithm=int(wallet.keys().algorithm), key_version=1
                )
        sim = IdCardSimulator()
        id_reader = IdCardReader.open(f"serial://{sim.start_pty()}?baudrate=115200")
        issuer = Issuer.load(world.wallet.root)
        prn = None
        if world.printer_sim is not None:
            prn = Printer(f"tcp://127.0.0.1:{world.printer_sim.tcp_port}",
                          get_profile("gb18030-80mm"), timeout=1.0, print_timeout=10.0)  # fmt: skip
        cw = cls(world=world, clerk_reader=SimReader("clerk card"),
                 citizen_reader=SimReader("citizen card"), id_sim=sim, id_reader=id_reader,
                 issuer=issuer, issuer_ca=issuer.ca_cert, client=client, outbox=outbox,
                 printer=prn, supervisor_reader=SimReader("supervisor card"))  # fmt: skip
        psam = SimReader("counter PSAM")
        psam.insert(wallet.open_psam(tid))
        devices = CounterDevices(
            open_clerk_card=lambda: cw.clerk_reader,
            open_citizen_card=lambda: cw.citizen_reader,
            psam=psam,
            clerk_present=lambda: bool(cw.clerk_reader.present),
            open_supervisor_card=lambda: cw.supervisor_reader,
        )
        cw.station = CounterStation(devices, central=client, outbox=outbox,
                                    trusted=[issuer.ca_cert], drawer=f"{tid}-1",
                                    receipt_key=key, journal=root / "counter-ops.json",
                                    upload=cw.upload,
                                    events=StationEvents(root / "station-events",
                                                         lambda evs: send_station_events(
                                                             client, evs)))  # fmt: skip
        return cw

    def ports(self, language: str = "zh-Hans") -> Any:
        """The station's ports on the core (``kiosk.counter.ports_adapter``)."""
        from kiosk.counter.ports_adapter import CounterPortsAdapter
        from terminal_ui.i18n import load_catalog  # the receipt's words (no Kivy)

        words = load_catalog(language)
        return CounterPortsAdapter(self.station, id_reader=self.id_reader, printer=self.printer,
                                   translate=words.gettext, language=language)  # fmt: skip

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

    def citizen_label(self) -> str:
        """What the demo panel says is in the citizen slot: a blank chip the station has
        since issued is "new card" (read off the simulated chip's state, no APDU: the
        station's worker may be talking to it)."""
        shown = str(self.extra.get("citizen_shown", "none"))
        device = getattr(self.citizen_reader, "device", None)
        status = getattr(device, "eeprom", {}).get("status") if device is not None else None
        if shown == "blank" and status not in (None, "blank", "personalized"):
            return "new card"
        return shown

    def supervisor_card(self) -> Any:
        return next(c for c in self.wallet.cards() if c.role == "supervisor")

    def insert_supervisor(self) -> None:
        """The supervisor's card in the supervisor slot (a refund above the limit)."""
        if self.supervisor_reader.present:
            self.supervisor_reader.remove()
        self.supervisor_reader.insert(self.wallet.open_card(self.supervisor_card().asn))

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
