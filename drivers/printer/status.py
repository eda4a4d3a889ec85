"""Printer status from the ESC/POS real-time status bytes (``DLE EOT n``).

Each answer byte has fixed bits (bit 1 and bit 4 set, bits 0 and 7 clear); an answer
without them is not a status byte and counts as no answer. No answer is *offline*
with the paper *unknown*, never "paper fine" (python-escpos's ``paper_status()``
says "adequate" when the printer is silent).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# DLE EOT n, n = which status byte.
PRINTER_STATUS = 1
OFFLINE_CAUSE = 2
ERROR_CAUSE = 3
PAPER_SENSOR = 4

_FIXED_MASK = 0x93
_FIXED_BITS = 0x12

_OFFLINE = 0x08  # byte 1
_COVER_OPEN = 0x04  # byte 2
_PAPER_END_STOP = 0x20  # byte 2
_ERROR = 0x40  # byte 2
_CUTTER = 0x08  # byte 3
_UNRECOVERABLE = 0x20  # byte 3
_AUTO_RECOVERABLE = 0x40  # byte 3
_NEAR_END = 0x0C  # byte 4
_PAPER_OUT = 0x60  # byte 4


def is_status_byte(value: int) -> bool:
    """True when ``value`` has the fixed bits every DLE EOT answer carries."""
    return value & _FIXED_MASK == _FIXED_BITS


class PaperLevel(StrEnum):
    ADEQUATE = "adequate"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said about itself (or that it said nothing)."""

    answered: bool
    online: bool
    paper: PaperLevel
    cover_open: bool
    error: bool
    detail: str = ""

    @classmethod
    def no_answer(cls, detail: str) -> PrinterStatus:
        """The printer did not answer in time, or could not be reached."""
        return cls(False, False, PaperLevel.UNKNOWN, False, False, detail)

    @classmethod
    def unsupervised(cls) -> PrinterStatus:
        """A one-way connection (a file or spool device): nothing can be known."""
        return cls(False, False, PaperLevel.UNKNOWN, False, False, "one-way connection")

    @classmethod
    def from_bytes(cls, printer: int, offline_cause: int, paper: int) -> PrinterStatus:
        """Decode DLE EOT 1, 2 and 4 answers (callers check :func:`is_status_byte`)."""
        if paper & _PAPER_OUT == _PAPER_OUT:
            level = PaperLevel.OUT
        elif paper & _NEAR_END == _NEAR_END:
            level = PaperLevel.NEAR_END
        else:
            level = PaperLevel.ADEQUATE
        if offline_cause & _PAPER_END_STOP:
            level = PaperLevel.OUT
        return cls(
            answered=True,
            online=not printer & _OFFLINE,
            paper=level,
            cover_open=bool(offline_cause & _COVER_OPEN),
            error=bool(offline_cause & _ERROR),
        )

    @property
    def ready(self) -> bool:
        """True when a job sent now can be printed in full."""
        return (
            self.answered
            and self.online
            and self.paper in (PaperLevel.ADEQUATE, PaperLevel.NEAR_END)
            and not self.cover_open
            and not self.error
        )

    def problems(self) -> list[str]:
        """Machine-readable problem codes (``offline``, ``paper_out``...); empty when ready."""
        if not self.answered:
            return ["no_answer"]
        found: list[str] = []
        if self.paper is PaperLevel.OUT:
            found.append("paper_out")
        if self.cover_open:
            found.append("cover_open")
        if self.error:
            found.append("error")
        if not self.online and not found:
            found.append("offline")
        return found

    def describe(self) -> str:
        """One line for logs and the diagnostics screen (English; the UI translates codes)."""
        if not self.answered:
            return f"offline (no answer: {self.detail})" if self.detail else "offline (no answer)"
        parts = ["online" if self.online else "offline", f"paper {self.paper.value}"]
        if self.cover_open:
            parts.append("cover open")
        if self.error:
            parts.append("error")
        return ", ".join(parts)


@dataclass(frozen=True)
class ErrorCause:
    """DLE EOT 3: why the printer reports an error (the cutter, for the technician)."""

    cutter: bool
    unrecoverable: bool
    auto_recoverable: bool

    @classmethod
    def from_byte(cls, value: int) -> ErrorCause:
        return cls(
            cutter=bool(value & _CUTTER),
            unrecoverable=bool(value & _UNRECOVERABLE),
            auto_recoverable=bool(value & _AUTO_RECOVERABLE),
        )

    @property
    def any(self) -> bool:
        return self.cutter or self.unrecoverable or self.auto_recoverable

    def describe(self) -> str:
        named = (
            ("cutter error", self.cutter),
            ("unrecoverable error", self.unrecoverable),
            ("auto-recoverable error", self.auto_recoverable),
        )
        parts = [name for name, on in named if on]
        return ", ".join(parts) or "no error"
