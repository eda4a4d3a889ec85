"""Building :class:`Devices` from a kiosk config (for ``civicard diagnose``), and the
printer simulator's echo for the test print.

The kiosk runtime wires its own running parts instead (the maintenance journey);
this builder opens them itself, read-mostly: the outbox is opened only if its file
exists, nothing is created but the data folder's service-state file on request.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.printer.document import Document
from drivers.printer.printer import Printer, PrintResult
from drivers.printer.status import ErrorCause, PrinterStatus
from kiosk.diagnostics.devices import Devices, Limits, ReaderSlot

__all__ = ["LockedPrinter", "devices_from_config", "runtime_devices", "simulator_echo"]


class LockedPrinter(Printer):
    """A printer shared by the receipt desk and diagnostics: one exchange at a time.

    A status read in the middle of a job would take the job's answers (its ``GS ( H``
    confirmation, its DLE EOT bytes) for its own; the lock keeps them apart."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()

    def status(self) -> PrinterStatus:
        with self.lock:
            return super().status()

    def error_cause(self) -> ErrorCause | None:
        with self.lock:
            return super().error_cause()

    def print_document(self, document: Document) -> PrintResult:
        with self.lock:
            return super().print_document(document)


def simulator_echo(sim: Any) -> Callable[[float], str | None] | None:
    """``Devices.printed_text`` over a printer simulator (anything with ``jobs`` and
    ``wait_for_jobs``): the text of the next job it finishes."""
    if sim is None:
        return None
    seen = {"n": len(sim.jobs)}

    def printed_text(timeout: float) -> str | None:
        try:
            jobs = sim.wait_for_jobs(seen["n"] + 1, timeout)
        except TimeoutError:
            return None
        seen["n"] = len(jobs)
        return str(jobs[-1].text)

    return printed_text


def _outbox_terminal_id(path: Path) -> str | None:
    """The terminal id an existing outbox file was made for (read-only)."""
    if not path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT value FROM outbox_meta WHERE key = 'terminal_id'").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def devices_from_config(config: Any, *, config_file: Path | None = None) -> Devices:
    """The kiosk's devices as its config names them, opened for diagnosis.

    A part that cannot be opened is left out of nothing: its slot stays, and its
    status says what is wrong (reader missing, PSAM missing, central unreachable)."""
    from backend_sync import chain
    from cardlib.apdu import ApduSession
    from cardlib.errors import CardError
    from cardlib.psam import PsamClient

    data: Path = config.data_dir
    card_name, psam_name = config.card_reader or "*", config.psam_reader or "*"
    readers: Callable[[], Any]
    try:
        from drivers.pcsc import PcscConnection, reader_atrs
        from drivers.pcsc_select import ReaderConfig, ReaderRule, choose_readers

        readers = reader_atrs
        try:
            chosen = choose_readers(reader_atrs(), ReaderConfig(
                card=ReaderRule(config.card_reader or None, config.card_atr or None),
                psam=ReaderRule(config.psam_reader or None, config.psam_atr or None),
                allow_virtual=config.allow_virtual_readers,
            ))  # fmt: skip
            card_name, psam_name = chosen.card, chosen.psam
        except CardError:
            pass  # the status names the reader that is missing

        def connect(name: str) -> Callable[[], Any]:
            return lambda: PcscConnection(name)
    except ImportError:  # pyscard not installed: no readers at all

        def readers() -> dict[str, bytes | None]:
            return {}

        def connect(name: str) -> Callable[[], Any]:
            def fail() -> Any:
                from cardlib.errors import ReaderGoneError

                raise ReaderGoneError("pyscard is not installed")

            return fail

    terminal_id = None
    try:
        terminal_id = PsamClient(ApduSession(connect(psam_name)())).terminal_id.hex().upper()
    except CardError:
        terminal_id = _outbox_terminal_id(data / "outbox.db")
    devices = Devices(
        terminal_id=terminal_id or "000000000000",
        data_dir=data,
        readers=readers,
        card=ReaderSlot("card", card_name, connect(card_name)),
        psam=ReaderSlot("psam", psam_name, connect(psam_name)),
        config=config,
        config_file=config_file,
        location=config.location,
        limits=Limits(max_hotlist_age_s=config.max_hotlist_age_s),
    )
    key = None
    if config.terminal_key is not None:
        try:
            key = chain.load_private_key(Path(config.terminal_key).read_bytes())
        except (OSError, ValueError):
            key = None
    devices.terminal_key = key
    if config.printer_url:
        from drivers.printer.profiles import get_profile

        devices.printer = Printer(config.printer_url, get_profile(config.printer_profile),
                                  timeout=config.printer_timeout)  # fmt: skip
        devices.printer_profile = config.printer_profile
    if config.central_url and config.central_key is not None and key is not None and terminal_id:
        from backend_sync.terminal.agent import SyncAgent
        from backend_sync.terminal.client import CentralClient
        from backend_sync.terminal.downloads import DownloadStore

        central_key = chain.load_public_key(Path(config.central_key).read_bytes())
        devices.client = CentralClient(config.central_url, terminal_id=terminal_id, key=key,
                                       central_key=central_key,
                                       timeout=min(config.central_timeout, 5.0))  # fmt: skip
        devices.store = DownloadStore(data / "downloads", central_key)
    if terminal_id and (data / "outbox.db").exists():
        from backend_sync.terminal.outbox import Outbox

        devices.outbox = Outbox(data / "outbox.db", terminal_id)
        if devices.client is not None and devices.store is not None:
            from backend_sync.terminal.agent import SyncAgent

            devices.agent = SyncAgent(devices.outbox, devices.client, devices.store, attempts=1)
    return devices


def runtime_devices(
    config: Any,
    *,
    terminal_id: str,
    card_reader: str,
    psam_reader: str,
    open_card: Callable[[], Any],
    open_psam: Callable[[], Any],
    printer: LockedPrinter | None,
    client: Any,
    agent: Any,
    outbox: Any,
    store: Any,
    terminal_key: Any,
    readers: Callable[[], Any] | None = None,
) -> Devices:
    """The running kiosk's own parts as :class:`Devices` (the runtime's builder);
    ``readers`` lists the readers and ATRs (default: PC/SC's reader list)."""
    if readers is None:
        from drivers.pcsc import reader_atrs

        readers = reader_atrs
    return Devices(
        terminal_id=terminal_id,
        data_dir=config.data_dir,
        readers=readers,
        card=ReaderSlot("card", card_reader, open_card),
        psam=ReaderSlot("psam", psam_reader, open_psam),
        printer=printer,
        printer_profile=config.printer_profile if printer is not None else "",
        client=client,
        agent=agent,
        outbox=outbox,
        store=store,
        terminal_key=terminal_key,
        config=config,
        location=config.location,
        limits=Limits(max_hotlist_age_s=config.max_hotlist_age_s),
        # A printer passed in ready-made (the demo's) has no lock of its own; nothing
        # else reads its status while it prints there.
        printer_lock=getattr(printer, "lock", None) or threading.RLock(),
    )
