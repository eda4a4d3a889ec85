"""The counter's own note of operations begun: which operation ids to resume.

The central's record is the truth (``/v1/counter/ops/begin`` answers an operation's
state); the journal only remembers, across a crash, which ids this counter had
begun and what they were. It is written before the central is asked (a crash in
between leaves an entry whose ``begin`` is repeated: idempotent) and atomically
(a torn write keeps the previous file), and a damaged file is kept aside and
reported, never silently emptied.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

__all__ = ["JournalDamaged", "JournalEntry", "OpJournal"]


class JournalDamaged(Exception):
    """The journal file is not what this module writes (kept as ``.damaged``)."""


@dataclass(frozen=True)
class JournalEntry:
    """One operation this counter began."""

    op_id: str
    kind: str
    asn: str
    amount: int  # fen
    drawer: str
    finished: bool = False
    ref: str = ""  # an issue's replacement (whose carry it loads)
    at: float = 0.0  # when it was first noted (Unix seconds; 0 in files from before)
    # The holder data of an issue or a replacement (so a restarted counter can issue
    # the new card without asking again): the name and the masked ID number only.
    name: str = ""
    id_masked: str = ""
    birth: str = ""  # YYYYMMDD


class OpJournal:
    """A small JSON file of :class:`JournalEntry` (one per operation)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock

    def _read(self) -> list[JournalEntry]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [JournalEntry(**e) for e in raw]
        except (ValueError, TypeError) as exc:
            self.path.replace(self.path.with_suffix(".damaged"))
            raise JournalDamaged(f"counter journal damaged, kept aside: {exc}") from exc

    def _write(self, entries: list[JournalEntry]) -> None:
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump([asdict(e) for e in entries], fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)

    def add(self, entry: JournalEntry) -> None:
        """Note an operation before anything irreversible (noted again, it keeps the time
        it was first noted)."""
        entries = self._read()
        first = next((e.at for e in entries if e.op_id == entry.op_id and e.at), 0.0)
        entry = replace(entry, at=first or entry.at or self._clock())
        self._write([e for e in entries if e.op_id != entry.op_id] + [entry])

    def finish(self, op_id: str) -> None:
        """The operation is done or reversed at the central; finished entries are kept
        until the next :meth:`prune` so a receipt can be reprinted."""
        self._write([replace(e, finished=True) if e.op_id == op_id else e for e in self._read()])

    def unfinished(self) -> list[JournalEntry]:
        return [e for e in self._read() if not e.finished]

    def get(self, op_id: str) -> JournalEntry | None:
        """The entry of ``op_id`` (finished or not), or None."""
        return next((e for e in self._read() if e.op_id == op_id), None)

    def prune(self) -> None:
        """Forget finished operations (the central keeps their record)."""
        self._write(self.unfinished())
