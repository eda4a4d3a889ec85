"""A simulated chip's non-volatile memory, with the anti-tearing journal real cards use.

Persistent fields change only through :meth:`Eeprom.atomic`. Every write the chip
makes is a *write point* with a stable name: first each new value goes to the
journal, then the commit flag is set, then each value is copied into place, then
the journal is cleared. A tear hook may cut the power at any write point; power-up
then discards an uncommitted journal (the card is exactly "before") or finishes a
committed one (exactly "after"). :attr:`Eeprom.points_seen` lists the points passed,
so tests enumerate every one of them.

The image persists to a JSON file (written atomically) so a card survives across
processes, as a real card survives being carried from one kiosk to another.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Eeprom", "PowerLost"]


class PowerLost(Exception):
    """Raised inside the chip when the tear hook cuts power at a write point."""

    def __init__(self, point: str) -> None:
        self.point = point
        super().__init__(f"power lost at write point {point}")


class Eeprom:
    """Named persistent fields (JSON values) plus the write journal."""

    def __init__(self, fields: dict[str, Any], path: Path | None = None) -> None:
        self._main: dict[str, Any] = copy.deepcopy(fields)
        self._journal: dict[str, Any] = {}
        self._committed = False
        self.path = path
        self.points_seen: list[str] = []
        self._tear: Callable[[str], bool] | None = None

    # -- tear hook -------------------------------------------------------------------
    def arm_tear(self, predicate: Callable[[str], bool] | None) -> None:
        """Cut power at the first write point for which ``predicate(point)`` is true."""
        self._tear = predicate

    def arm_tear_at(self, index: int) -> None:
        """Cut power at the ``index``-th write point from now (0-based)."""
        remaining = [index]

        def hit(_point: str) -> bool:
            remaining[0] -= 1
            return remaining[0] < 0

        self.arm_tear(hit)

    def _point(self, name: str) -> None:
        self.points_seen.append(name)
        if self._tear is not None and self._tear(name):
            self._tear = None
            self.save()  # what the cells hold at the instant of the cut
            raise PowerLost(name)

    # -- reads -----------------------------------------------------------------------
    def __getitem__(self, name: str) -> Any:
        return self._main[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self._main.get(name, default)

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self._main)

    # -- writes ----------------------------------------------------------------------
    @contextmanager
    def atomic(self, label: str) -> Iterator[dict[str, Any]]:
        """Collect writes in a dict; on exit write them all-or-nothing.

        ``label`` prefixes the write-point names (e.g. ``debit``), so points read
        ``debit:journal:balance``, ``debit:commit``, ``debit:apply:balance``, ...
        """
        writes: dict[str, Any] = {}
        yield writes
        if not writes:
            return
        for name in sorted(writes):
            self._point(f"{label}:journal:{name}")
            self._journal[name] = copy.deepcopy(writes[name])
        self._point(f"{label}:commit")
        self._committed = True
        self._apply(label)
        self.save()

    def _apply(self, label: str) -> None:
        for name in sorted(self._journal):
            self._point(f"{label}:apply:{name}")
            self._main[name] = self._journal[name]
        self._point(f"{label}:clear")
        self._journal = {}
        self._committed = False

    def power_up(self) -> None:
        """Settle a torn journal: finish it if committed, drop it if not."""
        if self._committed:
            self._apply("recover")
        self._journal = {}
        self.save()

    # -- persistence -----------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"main": self._main, "journal": self._journal, "committed": self._committed}

    @classmethod
    def from_json(cls, doc: dict[str, Any], path: Path | None = None) -> Eeprom:
        eeprom = cls(doc["main"], path)
        eeprom._journal = doc.get("journal", {})
        eeprom._committed = bool(doc.get("committed", False))
        return eeprom

    def save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.to_json(), fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    @classmethod
    def load(cls, path: Path) -> Eeprom:
        with open(path, encoding="utf-8") as fh:
            return cls.from_json(json.load(fh), path)
