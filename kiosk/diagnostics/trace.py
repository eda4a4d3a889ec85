"""Recent APDU trace and recent log lines, kept in memory for the technician.

:class:`ApduTrace` listens on logger ``cardlib.apdu`` (level APDU, below DEBUG)
and keeps the last exchanges with their data withheld: a command keeps its header
and length (SELECT keeps its AID), an answer its length and status word. PINs and
keys are never kept (cardlib already redacts them; here nothing of the data is
kept at all), nor a holder's name, identity number or card number from a file
read. While :meth:`ApduTrace.paused` is on (a poll session), nothing is kept.

:class:`RecentLog` keeps the last records of the ``civicard`` loggers (the
packages' own), with numbers masked as they are stored.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import re
import threading
from collections.abc import Iterator

from cardlib.apdu import APDU_TRACE
from kiosk.diagnostics.redact import mask_numbers

__all__ = ["ApduTrace", "RecentLog", "summarize_apdu_line"]

_HEX = re.compile(r"^[0-9A-F]{2}( [0-9A-F]{2})*$")
_SELECT = "A4"


def summarize_apdu_line(message: str) -> str:
    """One trace line without its data: ``> 00 B0 96 00 80`` stays (no data), ``> 80
    50 01 02 0B <11 bytes>``, ``< <15 bytes> 9000``."""
    if message.startswith("> "):
        body = message[2:]
        if "redacted" in body:
            return "> " + body.split(" <", 1)[0] + " <data redacted>"
        parts = body.split(" ")
        if len(parts) <= 5 or not _HEX.match(body):
            return "> " + " ".join(parts[:5])
        if parts[1] == _SELECT:  # the AID says which application: not personal
            return message
        lc = int(parts[4], 16) if parts[4] != "00" else 0
        return "> " + " ".join(parts[:5]) + f" <{lc or len(parts) - 5} bytes>"
    if message.startswith("< "):
        parts = [p for p in message[2:].split(" ") if p]
        sw = parts[-1] if parts else ""
        n = len(parts) - 1
        return f"< <{n} bytes> {sw}" if n else f"< {sw}"
    return "<not an APDU line>"


class ApduTrace(logging.Handler):
    """The last ``size`` APDU lines, data withheld (see module docstring)."""

    def __init__(self, size: int = 400) -> None:
        super().__init__(level=APDU_TRACE)
        self._lines: collections.deque[str] = collections.deque(maxlen=size)
        self._paused = 0
        self._mutex = threading.Lock()
        self._logger: logging.Logger | None = None
        self._restore: tuple[int, bool] | None = None

    def attach(self) -> ApduTrace:
        """Listen on ``cardlib.apdu`` (and turn the APDU level on for that logger)."""
        lg = self._logger = logging.getLogger("cardlib.apdu")
        lg.addHandler(self)
        if lg.getEffectiveLevel() > APDU_TRACE:
            # Kept here only: unless ``--trace-apdu`` asked for it, the lines must not
            # reach the console's handlers too.
            self._restore = (lg.level, lg.propagate)
            lg.setLevel(APDU_TRACE)
            lg.propagate = False
        return self

    def detach(self) -> None:
        if self._logger is not None:
            self._logger.removeHandler(self)
            if self._restore is not None:
                self._logger.setLevel(self._restore[0])
                self._logger.propagate = self._restore[1]
                self._restore = None
            self._logger = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno != APDU_TRACE:
            return
        with self._mutex:
            if self._paused:
                return
            line = summarize_apdu_line(record.getMessage())
            self._lines.append(f"{record.created:.3f} {line}")

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Nothing is traced inside (poll sessions are never traced)."""
        with self._mutex:
            self._paused += 1
        try:
            yield
        finally:
            with self._mutex:
                self._paused -= 1

    def lines(self) -> list[str]:
        with self._mutex:
            return list(self._lines)


class RecentLog(logging.Handler):
    """The last ``size`` log lines of the project's loggers, numbers masked."""

    PACKAGES = ("kiosk", "backend_sync", "drivers", "cardlib")

    def __init__(self, size: int = 500, level: int = logging.WARNING) -> None:
        super().__init__(level=level)
        self._lines: collections.deque[str] = collections.deque(maxlen=size)
        self._mutex = threading.Lock()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self._attached: list[logging.Logger] = []

    def attach(self) -> RecentLog:
        # Levels are left as configured: this keeps what the loggers already emit.
        for name in self.PACKAGES:
            lg = logging.getLogger(name)
            lg.addHandler(self)
            self._attached.append(lg)
        return self

    def detach(self) -> None:
        for lg in self._attached:
            lg.removeHandler(self)
        self._attached.clear()

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < self.level or record.name == "cardlib.apdu":
            return
        try:
            line = mask_numbers(self.format(record))
        except Exception:  # a bad format string must not break the caller's logging
            return
        with self._mutex:
            self._lines.append(line)

    def lines(self) -> list[str]:
        with self._mutex:
            return list(self._lines)
