"""Command and response APDUs (ISO 7816-4), the connection seam, and the processor stack.

- :class:`CommandApdu` encodes and parses cases 1-4 in short and extended length.
- :class:`Connection` is the one seam to hardware: ``send_and_receive(apdu) -> (data, sw)``.
  drivers/pcsc implements it for a PC/SC reader; simulators implement it in-process.
- :class:`ApduSession` sits on a connection and gives applications
  ``send_apdu(cla, ins, p1, p2, data, le) -> bytes``: command chaining, 61xx GET
  RESPONSE, 6Cxx resend with the right Le; any other status than 9000 is raised
  through :func:`cardlib.errors.raise_for_sw`.
- APDU traffic is logged on logger ``cardlib.apdu`` at level :data:`APDU_TRACE`
  (below DEBUG, off by default) with PIN-bearing payloads redacted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cardlib.errors import ProtocolError, raise_for_sw
from cardlib.sw import SW

__all__ = [
    "APDU_TRACE",
    "ApduSession",
    "CommandApdu",
    "Connection",
    "enable_apdu_trace",
    "format_command",
    "split_response",
]

APDU_TRACE = 7  # below DEBUG; 5 is taken by uvicorn's TRACE
logging.addLevelName(APDU_TRACE, "APDU")
_log = logging.getLogger("cardlib.apdu")

INS_GET_RESPONSE = 0xC0
# Commands whose data field carries PINs, PUKs or keys: never logged in clear.
# 20 VERIFY, 24 PIN UNBLOCK, 2C RESET RETRY COUNTER, 5E CHANGE / RELOAD PIN (JR/T 0025),
# D0/DA/DC/D6 personalization writes under secure messaging (keys).
_REDACTED_INS = frozenset({0x20, 0x24, 0x2C, 0x5E, 0xD0, 0xDA, 0xDC, 0xE2})


@runtime_checkable
class Connection(Protocol):
    """A channel to one chip. Implementations never interpret the status word."""

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one command APDU, return (response data, SW1SW2)."""
        ...


@dataclass(frozen=True)
class CommandApdu:
    """One command APDU. ``le`` is None when absent; 1..256 (short) or 1..65536 (extended)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    extended: bool = False

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ProtocolError(f"{name} must be one byte, got {value}")
        if len(self.data) > 65535:
            raise ProtocolError("command data longer than 65535 bytes")
        if self.le is not None and not 1 <= self.le <= 65536:
            raise ProtocolError(f"Le must be 1..65536, got {self.le}")

    @property
    def case(self) -> int:
        """ISO 7816-3 case: 1 (no data, no Le), 2 (Le), 3 (data), 4 (data and Le)."""
        return {(False, False): 1, (False, True): 2, (True, False): 3, (True, True): 4}[
            (bool(self.data), self.le is not None)
        ]

    @property
    def is_extended(self) -> bool:
        return self.extended or len(self.data) > 255 or (self.le is not None and self.le > 256)

    def to_bytes(self) -> bytes:
        header = bytes([self.cla, self.ins, self.p1, self.p2])
        if not self.is_extended:
            body = b""
            if self.data:
                body += bytes([len(self.data)]) + self.data
            if self.le is not None:
                body += bytes([self.le & 0xFF])  # 256 -> 00
            return header + body
        body = b"\x00"
        if self.data:
            body += len(self.data).to_bytes(2, "big") + self.data
        if self.le is not None:
            le = (self.le & 0xFFFF).to_bytes(2, "big")  # 65536 -> 0000
            body += le
        if not self.data and self.le is None:
            return header
        return header + body

    @classmethod
    def from_bytes(cls, raw: bytes) -> CommandApdu:
        """Parse any case, short or extended; raise ProtocolError when malformed."""
        if len(raw) < 4:
            raise ProtocolError(f"APDU shorter than its header: {raw.hex()}")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        body = raw[4:]
        n = len(body)
        if n == 0:
            return cls(cla, ins, p1, p2)
        if n == 1:
            return cls(cla, ins, p1, p2, le=body[0] or 256)
        if body[0] != 0:  # short, case 3 or 4
            lc = body[0]
            if n == 1 + lc:
                return cls(cla, ins, p1, p2, body[1:])
            if n == 2 + lc:
                return cls(cla, ins, p1, p2, body[1 : 1 + lc], le=body[-1] or 256)
            raise ProtocolError(f"Lc {lc} does not match a body of {n} bytes")
        # extended (body[0] == 0 and n > 1)
        if n == 3:
            return cls(
                cla, ins, p1, p2, le=int.from_bytes(body[1:3], "big") or 65536, extended=True
            )
        if n < 3:
            raise ProtocolError("truncated extended length")
        lc = int.from_bytes(body[1:3], "big")
        if lc == 0:
            raise ProtocolError("extended Lc of zero")
        if n == 3 + lc:
            return cls(cla, ins, p1, p2, body[3:], extended=True)
        if n == 5 + lc:
            le = int.from_bytes(body[-2:], "big") or 65536
            return cls(cla, ins, p1, p2, body[3 : 3 + lc], le=le, extended=True)
        raise ProtocolError(f"extended Lc {lc} does not match a body of {n} bytes")


def split_response(raw: bytes) -> tuple[bytes, int]:
    """Split a response APDU into (data, SW1SW2)."""
    if len(raw) < 2:
        raise ProtocolError(f"response shorter than a status word: {raw.hex()}")
    return raw[:-2], int.from_bytes(raw[-2:], "big")


def format_command(apdu: bytes) -> str:
    """Hex of a command APDU for logs, with PIN/key-bearing data redacted."""
    if len(apdu) > 5 and apdu[1] in _REDACTED_INS:
        return f"{apdu[:5].hex(' ').upper()} <{len(apdu) - 5} bytes redacted>"
    return apdu.hex(" ").upper()


def enable_apdu_trace(handler: logging.Handler | None = None) -> None:
    """Turn on APDU trace logging (to stderr unless a handler is given)."""
    _log.setLevel(APDU_TRACE)
    if handler is not None:
        _log.addHandler(handler)
    elif not _log.handlers and not logging.getLogger().handlers:
        logging.basicConfig(level=APDU_TRACE)
    logging.getLogger().setLevel(min(logging.getLogger().level, APDU_TRACE))


class ApduSession:
    """Applications' view of a card: ``send_apdu`` with the processor stack applied.

    ``extended`` says whether the card and reader accept extended-length APDUs; when
    not, data longer than 255 bytes is sent by command chaining (CLA bit 0x10).
    """

    def __init__(self, connection: Connection, *, extended: bool = False) -> None:
        self.connection = connection
        self.extended = extended

    def _transmit(self, apdu: CommandApdu) -> tuple[bytes, int]:
        raw = apdu.to_bytes()
        if _log.isEnabledFor(APDU_TRACE):
            _log.log(APDU_TRACE, "> %s", format_command(raw))
        data, sw = self.connection.send_and_receive(raw)
        if _log.isEnabledFor(APDU_TRACE):
            _log.log(APDU_TRACE, "< %s %04X", data.hex(" ").upper(), sw)
        return data, sw

    def _exchange(self, apdu: CommandApdu) -> tuple[bytes, int]:
        """One logical exchange: 6Cxx resend, then 61xx GET RESPONSE collection."""
        data, sw = self._transmit(apdu)
        if sw >> 8 == 0x6C:
            fixed = CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, apdu.data, (sw & 0xFF) or 256)
            data, sw = self._transmit(fixed)
        out = bytearray(data)
        guard = 0
        while sw >> 8 == 0x61:
            guard += 1
            if guard > 256:
                raise ProtocolError("card keeps answering 61xx")
            get = CommandApdu(apdu.cla & 0x03, INS_GET_RESPONSE, 0, 0, le=(sw & 0xFF) or 256)
            data, sw = self._transmit(get)
            out += data
        return bytes(out), sw

    def send_apdu(
        self,
        cla: int,
        ins: int,
        p1: int,
        p2: int,
        data: bytes = b"",
        le: int | None = None,
    ) -> bytes:
        """Send a command; return its response data; raise a typed error for any SW but 9000."""
        if len(data) > 255 and not self.extended:
            chunks = [data[i : i + 255] for i in range(0, len(data), 255)]
            for chunk in chunks[:-1]:
                _, sw = self._exchange(CommandApdu(cla | 0x10, ins, p1, p2, chunk))
                if sw != SW.OK:
                    raise_for_sw(sw)
            resp, sw = self._exchange(CommandApdu(cla, ins, p1, p2, chunks[-1], le))
        else:
            resp, sw = self._exchange(CommandApdu(cla, ins, p1, p2, data, le))
        raise_for_sw(sw, resp)
        return resp
