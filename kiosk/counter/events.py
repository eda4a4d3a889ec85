"""The station's events for the central's counter audit, kept on disk until sent.

Refusals the station decides alone — a wrong clerk PIN, a blocked one, a citizen
card presented as a clerk card, a certificate that does not chain, the session
locked by the card's removal or by inactivity — happen before any operator was
proven, so no operator-signed request carries them. The station records each one
here and sends them to the central (``/v1/counter/events``, signed by the counter
terminal's key, docs/sync.md "Station events").

- **Durable and torn-write safe**: one file per event, ``<seq>.json``, written to a
  temporary file, fsynced, then renamed (a torn write leaves only a ``.tmp``, removed
  on the next start); the last number the central acknowledged is kept the same way
  in ``acked``, so numbers only increase across restarts.
- **Never lost**: a file is deleted only after the central recorded its number; with
  the central unreachable they wait, in order, for the next :meth:`send`. A central
  that has the numbers from another event (409 ``event_renumber``: this station's
  numbering started again, a restored disk) gets them renumbered after its last.
- **Never blocking the clerk**: :meth:`record` only writes the file; :meth:`send_soon`
  sends on a thread of its own.
- **A damaged file** (not what this module writes) is kept aside as ``.damaged``, the
  problem logged and reported, and its number sent as ``journal_corrupt`` with the
  file's name, so the central knows an event was lost; the others go as they are.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from backend_sync.station_events_wire import StationEvent
from backend_sync.terminal.client import CentralRefused, CentralUnavailable
from backend_sync.terminal.station_events import EventsReplayed

__all__ = ["EventReport", "StationEvents"]

log = logging.getLogger(__name__)

BATCH = 100  # the central takes at most this many events per request
Sender = Callable[[Sequence[StationEvent]], int]
"""events -> the highest number the central recorded (raises CentralRefused/-Unavailable)."""


@dataclass
class EventReport:
    """What one :meth:`StationEvents.send` did."""

    sent: int = 0
    pending: int = 0
    problems: list[str] = field(default_factory=list)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a power cut
    finally:
        os.close(fd)


class StationEvents:
    """The station's event outbox in ``folder``, sent through ``sender``."""

    def __init__(
        self, folder: Path, sender: Sender, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.folder = folder
        self.sender = sender
        self.clock = clock
        self._lock = threading.Lock()  # one writer of numbers and files at a time
        self._sending = threading.Lock()
        self._thread: threading.Thread | None = None
        folder.mkdir(parents=True, exist_ok=True)
        for tmp in folder.glob("*.tmp"):  # a torn write: the event was never recorded
            tmp.unlink()

    # -- numbers ---------------------------------------------------------------------
    def _acked(self) -> int:
        try:
            return int((self.folder / "acked").read_text(encoding="ascii").strip() or 0)
        except FileNotFoundError:
            return 0
        except ValueError:  # damaged: the files and the central's answer still order them
            log.error("station events: %s damaged, numbering from the files", self.folder / "acked")
            return 0

    def _set_acked(self, seq: int) -> None:
        if seq > self._acked():
            _write_atomic(self.folder / "acked", str(seq).encode("ascii"))

    def _numbers(self) -> list[int]:
        out = []
        for p in self.folder.iterdir():
            stem = p.name.split(".", 1)[0]
            if stem.isdigit() and p.name.endswith((".json", ".damaged")):
                out.append(int(stem))
        return sorted(out)

    # -- recording -------------------------------------------------------------------
    def record(
        self, reason: str, *, asn: str | None = None, role: str | None = None, detail: str = ""
    ) -> int:
        """Keep one event on disk (its number returned); nothing is sent here."""
        with self._lock:
            seq = max([self._acked(), *self._numbers()]) + 1
            text = "".join(c for c in detail if c.isprintable())[:200]
            given = {"asn": asn.upper() if asn else None, "role": role or None}
            event = StationEvent(seq=seq, at_ms=int(self.clock() * 1000), reason=reason,  # type: ignore[arg-type]
                                 detail=text, **{k: v for k, v in given.items() if v})  # fmt: skip
            data = event.model_dump_json(exclude_none=True).encode()
            _write_atomic(self.folder / f"{seq:012d}.json", data)
        log.info("station event %d: %s", seq, reason)
        return seq

    def pending(self) -> list[int]:
        """The numbers not yet recorded at the central."""
        return [n for n in self._numbers() if (self.folder / f"{n:012d}.json").exists()]

    def _load(self, seq: int, problems: list[str]) -> tuple[StationEvent, bool]:
        """The event of ``seq``; a damaged file: its ``journal_corrupt`` stand-in, True."""
        path = self.folder / f"{seq:012d}.json"
        try:
            event = StationEvent.model_validate_json(path.read_bytes())
            if event.seq != seq:
                raise ValueError(f"the file holds event {event.seq}")
            return event, False
        except (OSError, ValueError, ValidationError) as exc:
            kept = path.with_suffix(".damaged")
            path.replace(kept)
            problem = f"station event file {path.name} unreadable, kept as {kept.name}: {exc}"
            log.error("%s", problem[:400])
            problems.append(problem[:400])
            stand_in = StationEvent(seq=seq, at_ms=int(self.clock() * 1000),
                                    reason="journal_corrupt", detail=path.name)  # fmt: skip
            return stand_in, True

    def _renumber(self, *, after: int) -> None:
        """Give the pending events numbers above ``after`` (in order; each new file is
        written before its old one goes, so a crash between leaves it twice, never
        lost); the acknowledged mark moves to ``after``."""
        for n, old in enumerate(self.pending(), start=after + 1):
            path = self.folder / f"{old:012d}.json"
            try:
                doc = json.loads(path.read_bytes())
                doc["seq"] = n
            except (OSError, ValueError) as exc:  # read as damaged at the next send
                log.error("station event %s not renumbered: %s", path.name, exc)
                continue
            _write_atomic(self.folder / f"{n:012d}.json", json.dumps(doc).encode())
            path.unlink()
        _write_atomic(self.folder / "acked", str(after).encode("ascii"))

    # -- sending ---------------------------------------------------------------------
    def send(self) -> EventReport:
        """Send every pending event, oldest first; what the central recorded is
        deleted here. The central unreachable: all kept for the next time."""
        report = EventReport()
        renumbered = 0
        with self._sending:
            while True:
                with self._lock:
                    numbers = self.pending()[:BATCH]
                    events = []
                    for n in numbers:
                        event, damaged = self._load(n, report.problems)
                        if damaged:  # its stand-in is kept (and sent) under its number
                            data = event.model_dump_json(exclude_none=True).encode()
                            _write_atomic(self.folder / f"{n:012d}.json", data)
                        events.append(event)
                if not events:
                    break
                try:
                    through = self.sender(events)
                except CentralUnavailable as exc:
                    report.problems.append(f"central unreachable: {exc}"[:400])
                    break
                except EventsReplayed as exc:
                    through = exc.recorded_through
                    if exc.reason == "event_renumber":  # our numbers are taken: move on
                        if renumbered == 3:
                            report.problems.append(str(exc)[:400])
                            break
                        renumbered += 1
                        with self._lock:
                            self._renumber(after=through)
                        continue
                    if through < events[0].seq:  # not a replay of ours: refused for good
                        report.problems.append(str(exc)[:400])
                        break
                except CentralRefused as exc:
                    report.problems.append(f"central refused the events: {exc}"[:400])
                    break
                with self._lock:
                    self._set_acked(through)
                    for e in events:
                        if e.seq <= through:
                            (self.folder / f"{e.seq:012d}.json").unlink(missing_ok=True)
                            report.sent += 1
        report.pending = len(self.pending())
        return report

    def send_soon(self) -> None:
        """Send on a thread of its own (one at a time), never holding up the clerk."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._send_logged, name="station-events",
                                            daemon=True)  # fmt: skip
            self._thread.start()

    def _send_logged(self) -> None:
        try:
            report = self.send()
        except Exception:  # a thread's failure must be seen, never crash the station
            log.exception("station events: sending failed")
            return
        if report.problems:
            log.warning("station events: %s", "; ".join(report.problems))

    def wait(self, timeout: float = 10.0) -> None:
        """Wait for a :meth:`send_soon` under way (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
