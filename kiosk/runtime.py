"""The one builder of a kiosk: config + devices → the whole kiosk (:class:`KioskRuntime`).

:func:`build_kiosk` takes its devices from the caller (:class:`KioskDevices`: the
card slot, the PSAM, optionally a printer): :func:`build_runtime` opens the real
PC/SC readers named by the config, and the TEST ONLY demo world passes simulators
in the same way, so both kiosks are built by the same code. The PSAM comes first
(the terminal id is the PSAM's), then everything keyed by it: outbox, central
client and sync agent, receipt desk, audit log, the kiosk's ops and its terminal
machine with the controller.

:meth:`KioskRuntime.start` starts the reader monitor (card in / out → the
controller), the sync agent's thread (its result also tells the kiosk whether it
is online, and re-checks whether sales may run) and the core thread. A UI
subscribes to :attr:`KioskRuntime.controller` before starting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardlib.apdu import Connection
from kiosk.config import KioskConfig
from kiosk.core.clock import Clock, SystemClock
from kiosk.core.controller import KioskController
from kiosk.core.machine import TerminalMachine

if TYPE_CHECKING:
    from backend_sync.terminal.agent import SyncAgent
    from backend_sync.terminal.ballots import BallotBox
    from backend_sync.terminal.client import CentralClient
    from backend_sync.terminal.downloads import DownloadStore
    from backend_sync.terminal.outbox import Outbox
    from drivers.printer.printer import Printer
    from drivers.printer.queue import PrintQueue
    from kiosk.audit import AuditLog
    from kiosk.flows import FlowRegistry
    from kiosk.services.ops import CardKioskOps

__all__ = ["KioskBuildError", "KioskDevices", "KioskRuntime", "build_kiosk", "build_runtime"]

log = logging.getLogger(__name__)


class KioskBuildError(Exception):
    """The kiosk cannot be built from this config (``key`` names the culprit)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


@dataclass
class KioskDevices:
    """The devices a kiosk is built on: a fresh card connection per insertion, the
    PSAM's connection, and optionally a ready printer (else the config's). ``close``
    releases them when the kiosk stops."""

    open_card: Callable[[], Connection]
    psam: Connection
    card_reader: str = "card"
    psam_reader: str = "psam"
    printer: Printer | None = None
    close: Callable[[], None] = lambda: None
    # The readers and their ATRs as the technician's status sees them (default: PC/SC's
    # reader list; in-process readers pass their own).
    readers: Callable[[], dict[str, bytes | None]] | None = None


@dataclass
class KioskRuntime:
    config: KioskConfig
    terminal_id: str
    controller: KioskController
    machine: TerminalMachine
    ops: CardKioskOps
    agent: SyncAgent | None
    client: CentralClient | None
    store: DownloadStore | None
    outbox: Outbox | None  # None: the outbox guard refused it (the kiosk is out of service)
    audit: AuditLog
    print_queue: PrintQueue | None
    devices: KioskDevices
    diagnostics: Any = None  # kiosk.diagnostics.Diagnostics over these very parts
    heartbeat: Any = None  # backend_sync.terminal.heartbeat.HeartbeatSender
    ballots: BallotBox | None = None  # poll ballots waiting for release (never the outbox)
    _monitor: Any = None
    _stop: threading.Event = field(default_factory=threading.Event)
    # Set when a record is closed: the sync thread uploads it now, not at the next tick.
    _wake: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def card_reader(self) -> str:
        return self.devices.card_reader

    @property
    def psam_reader(self) -> str:
        return self.devices.psam_reader

    def start(self) -> None:
        """Readers watched, sync running, the session showing ATTRACT."""
        from drivers.pcsc_events import CardInserted, CardRemoved, PcscMonitor, ServiceLost

        def on_event(event: object) -> None:
            if isinstance(event, CardInserted) and event.reader == self.card_reader:
                self.controller.card_inserted()
            elif isinstance(event, CardRemoved) and event.reader == self.card_reader:
                self.controller.card_removed()
            elif isinstance(event, ServiceLost):
                self.controller.recheck_devices()

        self.controller.start(thread=True)
        self._monitor = PcscMonitor(
            on_event, reader_filter=lambda r: r in (self.card_reader, self.psam_reader)
        )
        self._monitor.start()
        if self.agent is not None:
            t = threading.Thread(target=self._sync_loop, name="kiosk-sync", daemon=True)
            t.start()
            self._threads.append(t)
        if self.heartbeat is not None:
            t = threading.Thread(target=self.heartbeat.run, args=(self._stop,),
                                 name="kiosk-heartbeat", daemon=True)  # fmt: skip
            t.start()
            self._threads.append(t)

    def sync_once(self) -> Any:
        """One sync pass: records up, catalog and hotlist down; whether the central
        answered the signed time request sets the kiosk online or offline."""
        assert self.agent is not None
        report = self.agent.run_once()
        self.ops.network.online = report.skew_ms is not None
        if report.skew_ms is not None:
            self.ops.network.skew_ms = report.skew_ms
        if self.diagnostics is not None:
            self.diagnostics.note_sync(report.skew_ms)
        if self.ballots is not None and self.client is not None and self.config.central_url:
            from kiosk.flows.poll import release_ballots

            # Ballots leave by their own anonymous route at the polls' fixed times.
            now_ms = int(self.ops.clock.now().timestamp() * 1000)
            release_ballots(self.ballots, self.client, self.config.central_url, now_ms)
        return report

    def _sync_loop(self) -> None:
        while not self._stop.is_set():
            self.sync_once()
            self.controller.recheck_devices()
            self._wake.wait(self.config.sync_interval)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.heartbeat is not None:
            self.heartbeat.notify()
        if self._monitor is not None:
            self._monitor.stop()
        self.controller.stop()
        for t in self._threads:
            t.join(5)
        self.close()

    def close(self) -> None:
        """Release what the kiosk holds (the core and worker must be stopped)."""
        self.machine.worker.stop()
        if self.client is not None:
            self.client.close()
        self.devices.close()
        if self.diagnostics is not None:
            for handler in (self.diagnostics.trace, self.diagnostics.log):
                if handler is not None:
                    handler.detach()
        if self.outbox is not None:
            self.outbox.close()
        if self.print_queue is not None:
            self.print_queue.close()
        if self.ballots is not None:
            self.ballots.engine.dispose()
        self.audit.close()


def open_pcsc_devices(config: KioskConfig, *, psam_wait: float = 5.0) -> KioskDevices:
    """The PC/SC readers the config names (card and PSAM by name or ATR)."""
    from cardlib.errors import DeviceError
    from drivers.pcsc import PcscConnection, reader_atrs
    from drivers.pcsc_select import ReaderConfig, ReaderRule, choose_readers

    roles = ReaderConfig(
        card=ReaderRule(config.card_reader or None, config.card_atr or None),
        psam=ReaderRule(config.psam_reader or None, config.psam_atr or None),
        allow_virtual=config.allow_virtual_readers,
    )
    try:
        chosen = choose_readers(reader_atrs(), roles)
    except DeviceError as exc:
        raise KioskBuildError("readers", str(exc)) from exc
    try:
        # At boot the PSAM slot may not have been polled yet: wait a little for it.
        psam_conn = PcscConnection.wait_for_card(chosen.psam, timeout=psam_wait)
    except DeviceError as exc:
        raise KioskBuildError("readers.psam_reader", f"no usable PSAM: {exc}") from exc
    holder: dict[str, PcscConnection] = {}

    def open_card() -> Connection:
        # A fresh connection per insertion: the previous card's handle is gone.
        old = holder.pop("card", None)
        if old is not None:
            old.close()
        holder["card"] = PcscConnection(chosen.card)
        return holder["card"]

    def close() -> None:
        for conn in (holder.pop("card", None), psam_conn):
            if conn is not None:
                conn.close()

    return KioskDevices(open_card, psam_conn, chosen.card, chosen.psam, close=close)


def build_runtime(
    config: KioskConfig, *, clock: Clock | None = None, psam_wait: float = 5.0
) -> KioskRuntime:
    """A kiosk on the PC/SC readers its config names; raises KioskBuildError naming
    the key at fault."""
    return build_kiosk(config, devices=open_pcsc_devices(config, psam_wait=psam_wait),
                       clock=clock)  # fmt: skip


def _open_ballot_box(path: Path) -> Any:
    """The ballot box, or None when its file cannot be opened (the poll service is
    then unavailable; the file is left as it is, for the technician: the ballots in
    it are votes)."""
    import sqlalchemy as sa

    from backend_sync.terminal.ballots import BallotBox

    try:
        box = BallotBox(path)
        box.waiting("")  # reads the file: a damaged one fails here, not at a vote
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        log.error("ballot box %s unusable, polls unavailable: %s", path.name, exc)
        return None
    return box


def build_kiosk(
    config: KioskConfig,
    *,
    devices: KioskDevices,
    clock: Clock | None = None,
    flows: FlowRegistry | None = None,
    sync_backoff: tuple[int, float, float] | None = None,
) -> KioskRuntime:
    """Everything a kiosk needs, from ``config`` on ``devices``; raises
    KioskBuildError naming the key. ``sync_backoff`` (attempts, first and longest
    wait in s) overrides the sync agent's retry policy (fast for the demo)."""
    from cryptography import x509

    from backend_sync import chain
    from backend_sync.terminal.agent import RETAIN_ACKED_S, SyncAgent
    from backend_sync.terminal.client import CentralClient
    from backend_sync.terminal.downloads import DownloadStore
    from backend_sync.terminal.outbox_guard import OutboxGuard
    from cardlib.apdu import ApduSession
    from cardlib.errors import CardError
    from cardlib.psam import PsamClient
    from drivers.printer.profiles import get_profile
    from drivers.printer.queue import PrintQueue
    from kiosk.audit import AuditLog
    from kiosk.codes import Notice
    from kiosk.diagnostics import ApduTrace, Diagnostics, RecentLog
    from kiosk.diagnostics.wiring import LockedPrinter, runtime_devices
    from kiosk.journeys import build_kiosk_machine
    from kiosk.receipts.layouts import key_signer
    from kiosk.services.ops import CardKioskOps, Network, OfflineLimits
    from kiosk.services.printing import ReceiptDesk

    clock = clock or SystemClock()
    data: Path = config.data_dir
    data.mkdir(parents=True, exist_ok=True)
    if config.trusted_ca is None:
        raise KioskBuildError("kiosk.trusted_ca", "the issuer CA certificate is needed")
    try:
        trusted = [x509.load_pem_x509_certificate(config.trusted_ca.read_bytes())]
    except (OSError, ValueError) as exc:
        raise KioskBuildError("kiosk.trusted_ca", str(exc)) from exc
    try:
        terminal_id = PsamClient(ApduSession(devices.psam)).terminal_id.hex().upper()
    except CardError as exc:
        raise KioskBuildError("readers.psam_reader", f"no usable PSAM: {exc}") from exc
    # Issue 12 item 3: an outbox that is missing, damaged or behind is never
    # re-created: the kiosk goes out of service with the guard's reason code.
    guard = OutboxGuard(data / "outbox.db", terminal_id,
                        max_unsent_age_s=config.max_unsent_age_s)  # fmt: skip
    outbox = guard.outbox

    client = store = agent = None
    tkey = None
    if config.terminal_key is not None:
        try:
            tkey = chain.load_private_key(config.terminal_key.read_bytes())
        except (OSError, ValueError) as exc:
            raise KioskBuildError("central.terminal_key", str(exc)) from exc
    if config.central_url:
        assert config.central_key is not None and tkey is not None  # config validated
        try:
            central_key = chain.load_public_key(config.central_key.read_bytes())
        except (OSError, ValueError) as exc:
            raise KioskBuildError("central.central_key", str(exc)) from exc
        client = CentralClient(config.central_url, terminal_id=terminal_id, key=tkey,
                               central_key=central_key, timeout=config.central_timeout)  # fmt: skip
        store = DownloadStore(data / "downloads", central_key)
        retry = {}
        if sync_backoff is not None:
            attempts, first, longest = sync_backoff
            retry = {"attempts": attempts, "backoff_initial": first, "backoff_max": longest}
        if outbox is not None:
            guard.check_central(client)
            agent = SyncAgent(outbox, client, store, retain_s=RETAIN_ACKED_S, **retry)  # type: ignore[arg-type]
    desk = queue = None
    printer = devices.printer
    if printer is None and config.printer_url:
        # Locked: diagnostics (the heartbeat's status reads) shares it with receipts.
        printer = LockedPrinter(config.printer_url, get_profile(config.printer_profile),
                                timeout=config.printer_timeout)  # fmt: skip
    if printer is not None:
        if tkey is None:
            raise KioskBuildError("central.terminal_key", "receipts are signed with it")
        queue = PrintQueue(data / "print-queue.db")
        desk = ReceiptDesk(printer, queue, key_signer(tkey), config.location)

    wake = threading.Event()

    class OutboxCheckedOps(CardKioskOps):
        # Issue 12 item 3: the outbox is asked first at every device check.
        def ready(self) -> Notice | None:
            problem = guard.problem()
            return Notice(problem) if problem else super().ready()

    ops = OutboxCheckedOps(
        open_card=devices.open_card,
        open_psam=lambda: devices.psam,
        outbox=outbox,  # type: ignore[arg-type]  # None only while ready() refuses
        trusted=trusted,
        clock=clock,
        client=client,
        store=store,
        receipts=desk,
        network=Network(online=client is not None),
        limits=OfflineLimits(config.max_hotlist_age_s, config.max_card_offline_fen),
        on_record=wake.set,
        language=config.languages[0],
        flows=flows,
        # Beside the outbox, never in it: a ballot must carry no terminal identity.
        ballots=_open_ballot_box(data / "ballots.db") if client is not None else None,
    )
    if agent is not None:
        ops.upload = agent.upload_pending
    audit = AuditLog(data / "audit.db")
    card_less = {}
    if client is not None:  # the hall's queue numbers, from the attract screen
        from kiosk.services.hall_queue import queue_journey

        card_less["queue"] = queue_journey(client, desk, lambda: ops.terminal_id, clock)
    machine = build_kiosk_machine(ops, clock=clock, timeouts=config.timeouts,
                                  languages=config.languages, audit=audit,
                                  card_less=card_less)  # fmt: skip
    rt = KioskRuntime(config=config, terminal_id=terminal_id,
                      controller=KioskController(machine), machine=machine, ops=ops,
                      agent=agent, client=client, store=store, outbox=outbox, audit=audit,
                      print_queue=queue, devices=devices, ballots=ops.ballots,
                      _wake=wake)  # fmt: skip
    parts = runtime_devices(
        config, terminal_id=terminal_id, card_reader=devices.card_reader,
        psam_reader=devices.psam_reader, open_card=devices.open_card,
        open_psam=lambda: devices.psam, printer=printer,  # type: ignore[arg-type]
        readers=devices.readers,
        client=client, agent=agent, outbox=outbox, store=store, terminal_key=tkey,
    )  # fmt: skip
    # Recent APDUs (data withheld) and warnings, for the technician and support bundles.
    rt.diagnostics = Diagnostics(parts, audit=audit, trace=ApduTrace().attach(),
                                 log=RecentLog().attach())  # fmt: skip
    # The maintenance journey reaches them through the ops (and the citizen's device
    # check reads the technician's out-of-service state there).
    ops.diagnostics = rt.diagnostics
    ops.support_dir = config.support_dir
    if ops.support_dir is None:  # a configured one (a USB stick) must be mounted already
        ops.support_dir = data / "support"
        ops.support_dir.mkdir(exist_ok=True)
    if client is not None:
        from backend_sync.terminal.heartbeat import HeartbeatSender

        rt.heartbeat = HeartbeatSender(client, rt.diagnostics.heartbeat_summary,
                                       interval=60.0)  # fmt: skip
    return rt
