"""The kiosk's one printer interface: status, and print a document or fail loudly.

A job is checked before it is sent (a printer that is not ready gets nothing) and
after (DLE EOT answers come back in order, after the printer has taken every byte
before them, so paper running out mid-job shows up here). A job that fails after
bytes went out has the printer's buffers cleared, so the rest never prints late;
the print queue reprints it whole, marked.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from types import TracebackType

from drivers.printer import status as st
from drivers.printer.connection import Connection, open_connection
from drivers.printer.document import Document
from drivers.printer.encoder import DocumentEncoder
from drivers.printer.errors import PrinterUnreachable, PrintFailed
from drivers.printer.profiles import PrinterProfile
from drivers.printer.status import PrinterStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrintResult:
    """A job printed in full: the status read after it (it may warn of paper near end)."""

    status: PrinterStatus
    bytes_sent: int
    supervised: bool


class Printer:
    """A receipt printer at a config URL, rendering documents per its profile.

    The connection is opened on first use and reopened after a failure, so a printer
    switched off and on again is found again without restarting the kiosk; a kept
    connection the printer has closed meanwhile (network printers close idle ones) is
    reopened once at the next status query. No call waits longer than its timeouts:
    ``timeout`` per status answer, ``print_timeout`` for a job to be taken and printed.
    """

    def __init__(
        self,
        url: str,
        profile: PrinterProfile,
        *,
        timeout: float = 1.0,
        print_timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.profile = profile
        self.timeout = timeout
        self.print_timeout = print_timeout
        self._encoder = DocumentEncoder(profile)
        self._conn: Connection | None = None

    def __enter__(self) -> Printer:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (reopened on next use)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = open_connection(
                self.url, timeout=self.timeout, write_timeout=self.print_timeout
            )
        return self._conn

    def status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT 1, 2, 4); silence or garbage is offline, paper unknown."""
        if self._conn is not None:
            try:
                return self._status_once()
            except PrinterUnreachable:
                self.close()  # the kept connection had gone stale: once more, afresh
        try:
            return self._status_once()
        except PrinterUnreachable as exc:
            self.close()
            return PrinterStatus.no_answer(str(exc))

    def _status_once(self) -> PrinterStatus:
        """One round of DLE EOT 1, 2, 4; ``PrinterUnreachable`` if the link fails."""
        conn = self._connection()
        if not conn.bidirectional:
            return PrinterStatus.unsupervised()
        answers: list[int] = []
        for n in (st.PRINTER_STATUS, st.OFFLINE_CAUSE, st.PAPER_SENSOR):
            value = conn.query_status(n)
            if value is None:
                self.close()  # a late answer must not be read as the next one
                return PrinterStatus.no_answer(f"no answer to DLE EOT {n}")
            if not st.is_status_byte(value):
                self.close()
                return PrinterStatus.no_answer(f"not a status byte: {value:#04x}")
            answers.append(value)
        return PrinterStatus.from_bytes(*answers)

    def error_cause(self) -> st.ErrorCause | None:
        """DLE EOT 3 (cutter, unrecoverable, auto-recoverable errors); None when the
        printer does not answer it or the link is one-way."""
        try:
            conn = self._connection()
            value = conn.query_status(st.ERROR_CAUSE) if conn.bidirectional else None
        except PrinterUnreachable:
            self.close()
            return None
        if value is None or not st.is_status_byte(value):
            if value is not None:
                self.close()  # garbage: a late answer must not be read as the next one
            return None
        return st.ErrorCause.from_byte(value)

    def encode(self, document: Document) -> bytes:
        """The bytes this printer would get for ``document`` (used by tests and the bench)."""
        return self._encoder.encode(document)

    def print_document(self, document: Document) -> PrintResult:
        """Print ``document`` in full or raise :class:`PrintFailed` with the status and
        whether any byte was sent."""
        data = self._encoder.encode(document)
        before = self.status()
        supervised = before != PrinterStatus.unsupervised()
        if supervised and not before.ready:
            raise PrintFailed(before, sent=False)
        deadline = time.monotonic() + self.print_timeout  # taken and printed by then
        try:
            self._connection().write(data)
        except PrinterUnreachable as exc:
            self.close()
            raise PrintFailed(PrinterStatus.no_answer(str(exc)), sent=True) from exc
        if not supervised:
            return PrintResult(before, len(data), supervised=False)
        confirmed = self._await_printed(deadline) if self.profile.process_id else True
        after = self.status()
        if not after.ready or not confirmed:
            if after.ready:  # answers status but never confirmed the job: do not trust it
                after = PrinterStatus.no_answer("job not confirmed printed (GS ( H)")
            if self._conn is not None:
                self._conn.clear_buffers()
            log.warning(
                "printer failed during %s %s: %s",
                document.kind,
                document.reference,
                after.describe(),
            )
            raise PrintFailed(after, sent=True)
        return PrintResult(after, len(data), supervised=True)

    def _await_printed(self, deadline: float) -> bool:
        """Wait for the answer to ``GS ( H`` (sent after the job): the printer gives it
        once everything before it is *printed*, not just received. While waiting, a
        silent printer is asked ``DLE EOT 1`` (answered in real time even when
        stopped): offline means the job stopped. True when confirmed in time."""
        conn = self._connection()
        token = secrets.token_hex(2).upper().encode("ascii")  # d1..d4 in 0x30-0x7E
        expected = b"\x37\x22" + token + b"\x00"
        try:
            conn.drain()
            conn.write(b"\x1d(H\x06\x00\x30\x30" + token, timeout=deadline - time.monotonic())
            response = bytearray()
            while (now := time.monotonic()) < deadline:
                value = conn.read_byte(min(deadline, now + self.timeout / 2))
                if value is None:
                    conn.write(b"\x10\x04\x01", timeout=deadline - time.monotonic())
                    continue
                if response or value == 0x37:
                    response.append(value)
                    if value == 0 and len(response) >= 3:
                        if bytes(response) == expected:
                            return True
                        response.clear()  # an older job's answer
                    elif len(response) > len(expected):
                        response.clear()  # garbage that began with 0x37
                elif st.is_status_byte(value) and value & 0x08:
                    return False  # offline: paper out, cover open or error
        except PrinterUnreachable:
            return False
        return False
