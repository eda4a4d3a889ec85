"""What diagnostics looks at: the kiosk's devices and services, handed in.

:class:`Devices` is the seam. The composition root (the kiosk runtime, the demo
world, ``civicard diagnose``) fills it with the objects the kiosk already runs:
reader slots as cardlib connections, the printer driver, the central client and
sync agent, the outbox, the download store, the terminal key. Diagnostics opens
nothing itself, so a fault injected at a real device (a printer simulator's status
bytes, a reader that is gone from PC/SC, a stopped central, a full disk) is what
it reports.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from cardlib.apdu import Connection

__all__ = ["Devices", "Limits", "ReaderSlot"]


@dataclass(frozen=True)
class ReaderSlot:
    """One reader role (``card`` or ``psam``): its reader name and how to reach it.

    ``name`` is the reader's exact name, or a shell pattern from the config when no
    reader matched. ``connect`` returns a cardlib connection to the chip in it
    (raising a ``DeviceError`` when there is none)."""

    role: str
    name: str
    connect: Callable[[], Connection]


@dataclass(frozen=True)
class Limits:
    """When a reading becomes a warning or a fault."""

    max_skew_ms: int = 120_000  # the sync agent's clock alarm
    drift_warn_ms: int = 10_000
    max_hotlist_age_s: int = 24 * 3600
    max_document_age_s: int = 7 * 24 * 3600
    backlog_warn: int = 50  # records waiting
    backlog_old_s: int = 3600  # oldest unsent record older than this: fault
    disk_full_bytes: int = 64 * 1024 * 1024  # the outbox's reserve: sales stop below
    disk_low_bytes: int = 256 * 1024 * 1024


@dataclass
class Devices:
    """The kiosk's parts, as diagnostics sees them (any may be None: not fitted)."""

    terminal_id: str
    data_dir: Path
    readers: Callable[[], Mapping[str, bytes | None]]  # present readers -> ATR (None: empty)
    card: ReaderSlot | None = None
    psam: ReaderSlot | None = None
    printer: Any = None  # drivers.printer.printer.Printer
    printer_profile: str = ""
    client: Any = None  # backend_sync.terminal.client.CentralClient
    agent: Any = None  # backend_sync.terminal.agent.SyncAgent
    outbox: Any = None  # backend_sync.terminal.outbox.Outbox
    store: Any = None  # backend_sync.terminal.downloads.DownloadStore
    terminal_key: ec.EllipticCurvePrivateKey | None = None
    config: Any = None  # kiosk.config.KioskConfig
    config_file: Path | None = None
    location: str = ""
    limits: Limits = field(default_factory=Limits)
    # On the printer simulator: the text it decoded from the last job (waits up to
    # the timeout for a new one). Real printers cannot say; the test print is then
    # judged by the status bytes alone.
    printed_text: Callable[[float], str | None] | None = None
    clock: Callable[[], float] = time.time
    started: float = field(default_factory=time.time)
    # Held around every printer exchange: status reads and jobs must not interleave
    # (re-entrant: a LockedPrinter takes the same lock inside).
    printer_lock: threading.RLock = field(default_factory=threading.RLock)
