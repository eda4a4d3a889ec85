"""Printer errors: one root, and the status that caused each failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.printer.status import PrinterStatus


class PrinterError(Exception):
    """Root of every printer driver error."""


class PrinterConfigError(PrinterError):
    """A bad printer URL or profile name."""


class PrinterUnreachable(PrinterError):
    """The connection could not be opened, or broke while writing."""


class PrintFailed(PrinterError):
    """A job did not print in full; ``status`` says why, ``sent`` whether bytes went out."""

    def __init__(self, status: PrinterStatus, *, sent: bool) -> None:
        super().__init__(status.describe())
        self.status = status
        self.sent = sent
