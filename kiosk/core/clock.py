"""Clocks: the session's timeouts and the card's date come from an injected clock.

Tests drive a :class:`ManualClock`; the kiosk uses :class:`SystemClock`. Timeouts
use :meth:`Clock.monotonic` (never jumps); dates shown and written to cards use
:meth:`Clock.now` (Asia/Shanghai, as the card spec requires).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = ["LOCAL_TZ", "Clock", "ManualClock", "SystemClock"]

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    """Where the core gets time from."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (timeouts)."""
        ...

    def now(self) -> dt.datetime:
        """The local wall-clock time, timezone-aware (card dates, receipts, expiry)."""
        ...


class SystemClock:
    """The machine's clocks."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> dt.datetime:
        return dt.datetime.now(LOCAL_TZ)


class ManualClock:
    """A clock that moves only when told to (headless tests, scripted sessions)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._mono = 1000.0
        # Real "now" by default: certificates, card dates and the hotlist's age are
        # checked against it; tests that need a fixed day pass ``start``.
        self._wall = start or dt.datetime.now(LOCAL_TZ).replace(microsecond=0)

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def now(self) -> dt.datetime:
        with self._lock:
            return self._wall

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        if seconds < 0:
            raise ValueError("clocks do not go back")
        with self._lock:
            self._mono += seconds
            self._wall += dt.timedelta(seconds=seconds)
