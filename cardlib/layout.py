"""Files, records and constants of the civicard application, shared by card and terminal.

docs/card-spec.md is the normative description; the simulators build their files
with these classes and the clients parse with them, so both sides agree by
construction and the spec tests pin the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum

from cardlib import tlv
from cardlib.bcd import pack_date, unpack_date, unpack_datetime
from cardlib.errors import ProtocolError

__all__ = [
    "CARD_AID",
    "PSAM_AID",
    "Holder",
    "Ins",
    "LogRecord",
    "PublicInfo",
    "Sfi",
]

# Proprietary AIDs (RID-less, category F): "F0" "CIVICARD" + application byte.
CARD_AID = bytes.fromhex("F0434956494341524401")  # citizen application: purse + identity
PSAM_AID = bytes.fromhex("F0434956494341524450")  # terminal security module application


class Sfi(IntEnum):
    PUBLIC_INFO = 0x15  # binary, 30 bytes
    HOLDER = 0x16  # binary, 128 bytes, BER-TLV (on the PSAM: terminal id, 6 bytes)
    PURSE = 0x17  # internal; never readable
    LOG = 0x18  # cyclic, 10 records of 23 bytes
    KEYS = 0x1A  # internal; never readable
    CERTIFICATE = 0x1B  # binary, the card's X.509 certificate (DER)


class Ins(IntEnum):
    SELECT = 0xA4
    READ_BINARY = 0xB0
    READ_RECORD = 0xB2
    UPDATE_BINARY = 0xD6
    UPDATE_RECORD = 0xDC
    APPEND_RECORD = 0xE2
    GET_CHALLENGE = 0x84
    GET_RESPONSE = 0xC0
    INITIALIZE = 0x50  # P1 01 purchase, 00 load
    CREDIT_FOR_LOAD = 0x52
    DEBIT_FOR_PURCHASE = 0x54
    GET_TRANSACTION_PROVE = 0x5A
    GET_BALANCE = 0x5C
    APPLICATION_UNBLOCK = 0x18
    APPLICATION_BLOCK = 0x1E
    VERIFY = 0x20
    PIN_UNBLOCK = 0x24  # CLA 84 (PBOC)
    CHANGE_PIN = 0x5E  # P1 01 change, 00 reload (PBOC)
    RESET_RETRY_COUNTER = 0x2C
    INTERNAL_AUTHENTICATE = 0x88
    GET_DATA = 0xCA
    MUTUAL_AUTHENTICATE = 0x82
    STORE_DATA = 0xE2
    GENERATE_KEY_PAIR = 0x46
    ACTIVATE = 0x44
    # PSAM
    INIT_SAM_FOR_PURCHASE = 0x70
    CREDIT_SAM_FOR_PURCHASE = 0x72
    INIT_FOR_DESCRYPT = 0x1A  # 80 1A: choose the key and its diversification
    MAINTENANCE_MAC = 0xFA  # 80 FA CIPHER DATA, P1 05: a MAC under the chosen key


LOG_RECORD_LEN = 23
LOG_RECORDS = 10
HOLDER_FILE_LEN = 128
PUBLIC_INFO_LEN = 30


@dataclass(frozen=True)
class PublicInfo:
    """SFI 15: issuer id(8) app type(1) app version(1) ASN(10) start(4) expiry(4) FCI(2)."""

    issuer_id: bytes
    asn: bytes
    start: date
    expiry: date
    app_type: int = 0x01
    app_version: int = 0x01
    fci: bytes = b"\x00\x00"

    def __post_init__(self) -> None:
        if len(self.issuer_id) != 8 or len(self.asn) != 10 or len(self.fci) != 2:
            raise ValueError("issuer id is 8 bytes, ASN 10, FCI data 2")

    def to_bytes(self) -> bytes:
        return (
            self.issuer_id
            + bytes([self.app_type, self.app_version])
            + self.asn
            + pack_date(self.start)
            + pack_date(self.expiry)
            + self.fci
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> PublicInfo:
        if len(raw) != PUBLIC_INFO_LEN:
            raise ProtocolError(f"public info is {PUBLIC_INFO_LEN} bytes, got {len(raw)}")
        return cls(
            issuer_id=raw[0:8],
            app_type=raw[8],
            app_version=raw[9],
            asn=raw[10:20],
            start=unpack_date(raw[20:24]),
            expiry=unpack_date(raw[24:28]),
            fci=raw[28:30],
        )

    @property
    def card_number(self) -> str:
        """The ASN as the decimal digits printed on the card."""
        return self.asn.hex()


@dataclass(frozen=True)
class LogRecord:
    """SFI 18 record: ATC(2) overdraft(3) amount(4) type(1) terminal(6) date(4) time(3)."""

    atc: int
    overdraft_limit: int
    amount: int
    ttype: int
    terminal_id: bytes
    date: bytes
    time: bytes

    def to_bytes(self) -> bytes:
        return (
            self.atc.to_bytes(2, "big")
            + self.overdraft_limit.to_bytes(3, "big")
            + self.amount.to_bytes(4, "big")
            + bytes([self.ttype])
            + self.terminal_id
            + self.date
            + self.time
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> LogRecord:
        if len(raw) != LOG_RECORD_LEN:
            raise ProtocolError(f"log record is {LOG_RECORD_LEN} bytes, got {len(raw)}")
        return cls(
            atc=int.from_bytes(raw[0:2], "big"),
            overdraft_limit=int.from_bytes(raw[2:5], "big"),
            amount=int.from_bytes(raw[5:9], "big"),
            ttype=raw[9],
            terminal_id=raw[10:16],
            date=raw[16:20],
            time=raw[20:23],
        )

    @property
    def when(self) -> datetime:
        return unpack_datetime(self.date, self.time)


# Holder data objects (SFI 16), project tags in the private class.
TAG_HOLDER = 0xBF10  # constructed template
TAG_NAME = 0x5F20  # UTF-8
TAG_CARD_NUMBER = 0xDF01  # ASCII digits as printed
TAG_ID_MASKED = 0xDF02  # ASCII, masked ID number (e.g. 3205**********1234)
TAG_BIRTH = 0xDF03  # BCD YYYYMMDD
TAG_SERVICES = 0xDF05  # bitmap, see Service flags in docs/card-spec.md


@dataclass(frozen=True)
class Holder:
    """Cardholder data kept in SFI 16 as one BER-TLV template padded with 00."""

    name: str
    card_number: str
    id_masked: str
    birth: date
    services: int = 0
    extra: dict[int, bytes] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        body = tlv.build(
            [
                (TAG_NAME, self.name.encode("utf-8")),
                (TAG_CARD_NUMBER, self.card_number.encode("ascii")),
                (TAG_ID_MASKED, self.id_masked.encode("ascii")),
                (TAG_BIRTH, pack_date(self.birth)),
                (TAG_SERVICES, self.services.to_bytes(2, "big")),
                *sorted(self.extra.items()),
            ]
        )
        raw = tlv.Tlv(TAG_HOLDER, body).to_bytes()
        if len(raw) > HOLDER_FILE_LEN:
            raise ValueError(f"holder data is {len(raw)} bytes; the file holds {HOLDER_FILE_LEN}")
        return raw + bytes(HOLDER_FILE_LEN - len(raw))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Holder:
        items = tlv.parse(raw)
        template = next((t for t in items if t.tag == TAG_HOLDER), None)
        if template is None:
            raise ProtocolError("holder file has no holder template")
        fields = {t.tag: t.value for t in template.children()}
        try:
            return cls(
                name=fields.pop(TAG_NAME).decode("utf-8"),
                card_number=fields.pop(TAG_CARD_NUMBER).decode("ascii"),
                id_masked=fields.pop(TAG_ID_MASKED).decode("ascii"),
                birth=unpack_date(fields.pop(TAG_BIRTH)),
                services=int.from_bytes(fields.pop(TAG_SERVICES, b"\x00\x00"), "big"),
                extra=fields,
            )
        except (KeyError, UnicodeDecodeError) as exc:
            raise ProtocolError(f"holder data incomplete or not text: {exc}") from exc
