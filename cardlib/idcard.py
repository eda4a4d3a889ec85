"""The resident identity card reader's serial protocol: frames and the card's text.

Pure protocol, no I/O: the driver (``drivers/idcard.py``) speaks it over pyserial, the
simulator (``simulators/idcard/``) serves it on a pty. The shape is the one Chinese
counters' second-generation ID card readers use (a SAM module behind a UART, GA 467):

request  ``AA AA AA 96 69 | LEN(2, big-endian) | CMD PARA | data | CHK``
response ``AA AA AA 96 69 | LEN(2, big-endian) | SW1 SW2 SW3 | data | CHK``

``LEN`` counts every byte after itself (command or status, data and CHK); ``CHK`` is the
XOR of the ``LEN`` bytes and every byte after them up to the check. docs/counter.md lists
the commands, the status codes and the text layouts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

__all__ = [
    "MAX_LENGTH",
    "PHOTO_SIZE",
    "PREAMBLE",
    "TEXT_SIZE",
    "ChecksumError",
    "Command",
    "DocumentType",
    "FrameDecoder",
    "FrameError",
    "IdCardProtocolError",
    "IdentityDocument",
    "Request",
    "Response",
    "Status",
    "TextLayoutError",
    "checksum",
    "decode_basic_info",
    "decode_text",
    "encode_basic_info",
    "encode_text",
]

PREAMBLE = bytes.fromhex("AAAAAA9669")
# The longest frame a reader sends is text + photo + fingerprints (~2.3 KB); anything
# announcing more is noise, refused before waiting for bytes that never come.
MAX_LENGTH = 4096
TEXT_SIZE = 256
PHOTO_SIZE = 1024


class IdCardProtocolError(ValueError):
    """Root of the protocol's errors (a frame or a text that cannot be read)."""


class FrameError(IdCardProtocolError):
    """A frame that is malformed: bad length, bad checksum, too short."""


class ChecksumError(FrameError):
    """A whole frame whose check byte does not match its bytes."""


class TextLayoutError(IdCardProtocolError):
    """The card's text block does not hold a readable document."""


class Command(IntEnum):
    """``CMD << 8 | PARA`` of the requests this reader understands."""

    SAM_RESET = 0x10FF
    SAM_STATUS = 0x11FF
    SAM_ID = 0x12FF
    FIND_CARD = 0x2001
    SELECT_CARD = 0x2002
    READ_BASIC = 0x3001  # text (256 bytes) and photo (1024 bytes)


class Status(IntEnum):
    """SW3 of a response (SW1 SW2 are 00 00 on every status this reader sends)."""

    OK = 0x90
    NO_CONTENT = 0x91
    FIND_OK = 0x9F
    CHECKSUM = 0x10
    LENGTH = 0x11
    COMMAND = 0x21
    UNAUTHORIZED = 0x23
    UNKNOWN = 0x24
    CARD_AUTH = 0x31
    SAM_AUTH = 0x32
    VERIFY = 0x33
    CARD_TYPE = 0x40
    READ_FAILED = 0x41
    SAM_SELF_TEST = 0x60
    NO_CARD = 0x80
    SELECT_FAILED = 0x81


def checksum(body: bytes) -> int:
    """XOR of ``body`` (the LEN bytes up to the last byte before CHK)."""
    out = 0
    for b in body:
        out ^= b
    return out


def _frame(payload: bytes) -> bytes:
    length = len(payload) + 1
    if length > MAX_LENGTH:
        raise FrameError(f"a frame holds at most {MAX_LENGTH} bytes, not {length}")
    body = length.to_bytes(2, "big") + payload
    return PREAMBLE + body + bytes([checksum(body)])


@dataclass(frozen=True)
class Request:
    """A request: ``command`` (CMD PARA) and its data."""

    command: int
    data: bytes = b""

    def encode(self) -> bytes:
        return _frame(self.command.to_bytes(2, "big") + self.data)

    @classmethod
    def parse(cls, payload: bytes) -> Request:
        if len(payload) < 2:
            raise FrameError("a request needs CMD and PARA")
        return cls(int.from_bytes(payload[:2], "big"), bytes(payload[2:]))


@dataclass(frozen=True)
class Response:
    """A response: ``status`` (SW3; SW1 SW2 kept as ``sw12``) and its data."""

    status: int
    data: bytes = b""
    sw12: int = 0

    def encode(self) -> bytes:
        return _frame(self.sw12.to_bytes(2, "big") + bytes([self.status]) + self.data)

    @classmethod
    def parse(cls, payload: bytes) -> Response:
        if len(payload) < 3:
            raise FrameError("a response needs SW1 SW2 SW3")
        return cls(payload[2], bytes(payload[3:]), int.from_bytes(payload[:2], "big"))


class FrameDecoder:
    """Cuts a byte stream into frame payloads (between LEN and CHK).

    Bytes before a preamble are skipped (a line can start mid-frame); a frame whose
    length is out of range or whose check fails raises :class:`FrameError` and is
    dropped, and decoding goes on after its preamble, so one bad frame never wedges
    the stream. Memory is bounded: at most one frame's worth is buffered.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped = 0  # bytes thrown away looking for a preamble

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def pending(self) -> int:
        """Bytes held that are not yet a whole frame."""
        return len(self._buf)

    def next(self) -> bytes | None:
        """The next whole payload, ``None`` if more bytes are needed."""
        buf = self._buf
        start = buf.find(PREAMBLE)
        if start < 0:
            # Keep a tail that could be the start of a preamble.
            keep = max(len(buf) - (len(PREAMBLE) - 1), 0)
            self.skipped += keep
            del buf[:keep]
            return None
        if start:
            self.skipped += start
            del buf[:start]
        head = len(PREAMBLE)
        if len(buf) < head + 2:
            return None
        length = int.from_bytes(buf[head : head + 2], "big")
        if not 2 <= length <= MAX_LENGTH:
            del buf[:head]  # resynchronize on the next preamble
            raise FrameError(f"frame length {length} out of range 2..{MAX_LENGTH}")
        end = head + 2 + length
        if len(buf) < end:
            return None
        body = bytes(buf[head : end - 1])
        chk = buf[end - 1]
        if checksum(body) != chk:
            del buf[:head]
            raise ChecksumError(f"checksum {chk:02X} != {checksum(body):02X}")
        del buf[:end]
        return body[2:]


# -- the card's text -----------------------------------------------------------------------


class DocumentType(StrEnum):
    """The document a reader found (the card-type character of the text block)."""

    RESIDENT = "resident"  # 居民身份证
    FOREIGNER = "foreigner"  # 外国人永久居留身份证, 15-character number
    FOREIGNER_2023 = "foreigner_18"  # 外国人永久居留身份证, 18-digit number
    HMT = "hmt"  # 港澳台居民居住证


_TYPE_CHAR = {
    DocumentType.RESIDENT: " ",
    DocumentType.FOREIGNER: "I",
    DocumentType.FOREIGNER_2023: "Y",
    DocumentType.HMT: "J",
}
_CHAR_TYPE = {v: k for k, v in _TYPE_CHAR.items()}

# Field name and width in characters (UCS-2 LE), in order; each layout is 128 characters.
_LAYOUTS: dict[DocumentType, tuple[tuple[str, int], ...]] = {
    DocumentType.RESIDENT: (
        ("name", 15), ("sex", 1), ("ethnicity", 2), ("birth", 8), ("address", 35),
        ("number", 18), ("authority", 15), ("valid_from", 8), ("valid_to", 8),
        ("-", 14), ("type", 1), ("-", 3),
    ),
    DocumentType.HMT: (
        ("name", 15), ("sex", 1), ("-", 2), ("birth", 8), ("address", 35),
        ("number", 18), ("authority", 15), ("valid_from", 8), ("valid_to", 8),
        ("pass_number", 9), ("issue_count", 2), ("-", 3), ("type", 1), ("-", 3),
    ),
    DocumentType.FOREIGNER: (
        ("english_name", 60), ("sex", 1), ("number", 15), ("nationality", 3),
        ("name", 15), ("valid_from", 8), ("valid_to", 8), ("birth", 8),
        ("version", 2), ("authority", 4), ("type", 1), ("-", 3),
    ),
    DocumentType.FOREIGNER_2023: (
        ("english_name", 60), ("sex", 1), ("number", 18), ("nationality", 3),
        ("name", 15), ("valid_from", 8), ("valid_to", 8), ("birth", 8),
        ("version", 2), ("-", 1), ("type", 1), ("-", 3),
    ),
}  # fmt: skip
_TYPE_OFFSET = 124  # characters: byte 248 in every layout


@dataclass(frozen=True)
class IdentityDocument:
    """What a reader reads off an identity document. Dates are ``YYYYMMDD`` text as the
    card holds them (``valid_to`` may be 长期, "long term"); checking them is
    ``kiosk.counter.holder``'s job, not the reader's."""

    document_type: DocumentType
    name: str  # Chinese name (a foreigner's card may leave it empty)
    sex: str  # "1" male, "2" female (GB/T 2261.1)
    birth: str
    number: str
    valid_from: str
    valid_to: str
    address: str = ""
    ethnicity: str = ""  # two-digit GB/T 3304 code, residents only
    authority: str = ""
    english_name: str = ""
    nationality: str = ""  # ISO 3166-1 alpha-3, foreigners only
    pass_number: str = ""  # the HK/Macau/Taiwan travel permit's number
    issue_count: str = ""
    version: str = ""
    photo: bytes = field(default=b"", repr=False)  # WLT-compressed, not decoded here

    def birth_date(self) -> dt.date | None:
        """The birth date, or ``None`` if the text is not a valid date."""
        try:
            return dt.datetime.strptime(self.birth, "%Y%m%d").date()
        except ValueError:
            return None


def encode_text(doc: IdentityDocument) -> bytes:
    """The 256-byte text block for ``doc`` (fields too long are refused)."""
    out = []
    for name, width in _LAYOUTS[doc.document_type]:
        if name == "type":
            value = _TYPE_CHAR[doc.document_type]
        elif name == "-":
            value = ""
        else:
            value = str(getattr(doc, name))
        if len(value) > width:
            raise TextLayoutError(f"{name} is longer than {width} characters")
        out.append(value.ljust(width))
    return "".join(out).encode("utf-16-le")


def decode_text(block: bytes, photo: bytes = b"") -> IdentityDocument:
    """The document in a 256-byte text block; :class:`TextLayoutError` if it is not one."""
    if len(block) != TEXT_SIZE:
        raise TextLayoutError(f"the text block is {len(block)} bytes, not {TEXT_SIZE}")
    try:
        text = block.decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise TextLayoutError("the text block is not UCS-2") from exc
    if len(text) != TEXT_SIZE // 2:
        raise TextLayoutError("the text block holds surrogate pairs")  # UCS-2 has none
    if any(ord(c) < 0x20 for c in text):
        raise TextLayoutError("the text block holds control characters")
    kind = _CHAR_TYPE.get(text[_TYPE_OFFSET])
    if kind is None:
        raise TextLayoutError(f"unknown card type {text[_TYPE_OFFSET]!r}")
    fields: dict[str, str] = {}
    pos = 0
    for name, width in _LAYOUTS[kind]:
        if name not in ("-", "type"):
            fields[name] = text[pos : pos + width].rstrip(" ")
        pos += width
    return IdentityDocument(document_type=kind, photo=photo, **fields)


def encode_basic_info(doc: IdentityDocument) -> bytes:
    """The data of a READ_BASIC response: text length, photo length, text, photo."""
    text = encode_text(doc)
    photo = doc.photo
    return len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big") + text + photo


def decode_basic_info(data: bytes) -> IdentityDocument:
    """The document in a READ_BASIC response's data."""
    if len(data) < 4:
        raise TextLayoutError("the answer has no text and photo lengths")
    tlen, plen = int.from_bytes(data[:2], "big"), int.from_bytes(data[2:4], "big")
    if 4 + tlen + plen != len(data):
        raise TextLayoutError(
            f"lengths {tlen} + {plen} do not match the {len(data) - 4} bytes sent"
        )
    return decode_text(data[4 : 4 + tlen], data[4 + tlen :])
