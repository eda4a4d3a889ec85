"""The resident identity card reader on a serial line (pyserial).

The reader is a SAM module behind a UART (115200 8N1 by default) speaking the framed
protocol of :mod:`cardlib.idcard`. Reading a card is three requests: FIND CARD,
SELECT CARD, READ BASIC (text and photo). Every read has a deadline, so a silent or
babbling reader ends in :class:`ReaderTimeout`, never a hang; a frame that fails its
check is :class:`ReaderProtocolError` (the driver asks again once, as the line may
have dropped a byte); each status the SAM answers is its own error class.

``IdCardReader.open("serial:///dev/ttyUSB0?baudrate=115200")`` or a bare device path.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Protocol

from cardlib.idcard import (
    Command,
    FrameDecoder,
    FrameError,
    IdCardProtocolError,
    IdentityDocument,
    Request,
    Response,
    Status,
    decode_basic_info,
)

__all__ = [
    "IdCardReader",
    "IdReaderError",
    "NoIdCardError",
    "ReaderProtocolError",
    "ReaderStatusError",
    "ReaderTimeout",
    "ReaderUnreachable",
    "SerialLine",
]


class IdReaderError(Exception):
    """Root of every identity card reader error."""


class ReaderUnreachable(IdReaderError):
    """The serial device could not be opened, or failed while in use."""


class ReaderTimeout(IdReaderError):
    """No whole answer within the deadline."""


class ReaderProtocolError(IdReaderError):
    """The reader's answer was not a valid frame or document."""


class ReaderStatusError(IdReaderError):
    """The SAM answered a status other than success; ``status`` is its SW3."""

    def __init__(self, status: int, command: Command) -> None:
        try:
            name = Status(status).name
        except ValueError:
            name = "unknown"
        super().__init__(f"{command.name}: status {status:02X} ({name})")
        self.status = status
        self.command = command


class NoIdCardError(ReaderStatusError):
    """No card on the reader (FIND CARD answered 80)."""


class SerialLine(Protocol):
    """The part of ``serial.Serial`` the driver uses (tests pass a pty-backed one)."""

    timeout: float | None

    @property
    def in_waiting(self) -> int: ...
    def write(self, data: bytes, /) -> int | None: ...
    def read(self, size: int = 1, /) -> bytes: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...


_EXPECT = {
    Command.FIND_CARD: Status.FIND_OK,
}


class IdCardReader:
    """One reader on one serial line; not thread-safe (one station owns it)."""

    def __init__(self, line: SerialLine, *, timeout: float = 2.0) -> None:
        self._line = line
        self.timeout = timeout

    @classmethod
    def open(cls, url: str, *, timeout: float = 2.0) -> IdCardReader:
        """Open ``serial://DEVICE?baudrate=N`` (or a bare device path) with pyserial."""
        import serial  # only the drivers touch the serial port

        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("", "serial"):
            raise ReaderUnreachable(f"{url}: unknown scheme {parts.scheme!r} (serial)")
        device = (parts.netloc + parts.path) if parts.scheme else url
        opts = dict(urllib.parse.parse_qsl(parts.query))
        try:
            baud = int(opts.get("baudrate", "115200"))
            line = serial.Serial(device, baudrate=baud, timeout=0.05, write_timeout=timeout)
        except (OSError, ValueError, serial.SerialException) as exc:
            raise ReaderUnreachable(f"{url}: {exc}") from exc
        return cls(line, timeout=timeout)

    def close(self) -> None:
        self._line.close()

    def __enter__(self) -> IdCardReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations ----------------------------------------------------------------------
    def sam_status(self) -> None:
        """Raises unless the reader's SAM reports itself working."""
        self._call(Command.SAM_STATUS)

    def sam_id(self) -> bytes:
        """The SAM's 16-byte identifier (printed on the reader's label)."""
        return self._call(Command.SAM_ID).data

    def read_card(self) -> IdentityDocument:
        """Find, select and read the card on the reader.

        Raises :class:`NoIdCardError` when there is none, :class:`ReaderStatusError`
        for the SAM's other refusals, :class:`ReaderProtocolError` for a document that
        cannot be read, :class:`ReaderTimeout` for a reader that does not answer.
        """
        self._call(Command.FIND_CARD)
        self._call(Command.SELECT_CARD)
        data = self._call(Command.READ_BASIC).data
        try:
            return decode_basic_info(data)
        except IdCardProtocolError as exc:
            raise ReaderProtocolError(str(exc)) from exc

    # -- the line ------------------------------------------------------------------------
    def _call(self, command: Command, data: bytes = b"") -> Response:
        try:
            answer = self._exchange(Request(command, data))
        except ReaderProtocolError:
            answer = self._exchange(Request(command, data))  # a dropped byte: ask again
        expected = _EXPECT.get(command, Status.OK)
        if answer.status != expected:
            if command is Command.FIND_CARD and answer.status == Status.NO_CARD:
                raise NoIdCardError(answer.status, command)
            raise ReaderStatusError(answer.status, command)
        return answer

    def _exchange(self, request: Request) -> Response:
        try:
            self._line.reset_input_buffer()  # a late answer to an earlier request
            self._line.write(request.encode())
        except OSError as exc:
            raise ReaderUnreachable(str(exc)) from exc
        except Exception as exc:  # pyserial's SerialTimeoutException / SerialException
            raise ReaderUnreachable(f"write failed: {exc}") from exc
        decoder = FrameDecoder()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                payload = decoder.next()
            except FrameError as exc:
                raise ReaderProtocolError(str(exc)) from exc
            if payload is not None:
                try:
                    return Response.parse(payload)
                except FrameError as exc:
                    raise ReaderProtocolError(str(exc)) from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReaderTimeout(f"{request.command:04X}: no answer in {self.timeout} s")
            try:
                self._line.timeout = min(remaining, 0.1)
                # One byte waits for the answer to start; the rest is what has come.
                chunk = self._line.read(1)
                if chunk:
                    chunk += self._line.read(min(self._line.in_waiting, 8192))
            except OSError as exc:
                raise ReaderUnreachable(str(exc)) from exc
            except Exception as exc:  # pyserial's SerialException
                raise ReaderUnreachable(f"read failed: {exc}") from exc
            decoder.feed(chunk)
