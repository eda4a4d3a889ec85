"""The composite (CAPP) purchase: the transit record a bus validator keeps on the card.

A composite purchase (transaction type 09) is a purse purchase that also rewrites
one record of the card's composite application file (SFI 19) — the transit
record — in the same atomic commit as the debit. The terminal sends INITIALIZE
FOR CAPP PURCHASE (``80 50 03 02``), then UPDATE CAPP DATA CACHE (``80 DC``) with
the new record, then DEBIT FOR CAPP PURCHASE (``80 54 01 00``, the purchase's own
command); the card keeps the cached record until that DEBIT commits it, and
forgets it if anything else comes first. docs/card-spec.md §15 is the normative text;
the record layout below is the project's choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cardlib.errors import ProtocolError

__all__ = [
    "CAPP_P1",
    "CAPP_RECORDS",
    "CAPP_RECORD_LEN",
    "INS_UPDATE_CAPP_DATA_CACHE",
    "SFI_CAPP",
    "TAG_BUS",
    "TransitRecord",
    "TransitUpdate",
]

INS_UPDATE_CAPP_DATA_CACHE = 0xDC  # CLA 80 (CLA 00 DC is UPDATE RECORD)
CAPP_P1 = 0x03  # INITIALIZE P1 for the composite purchase (01 purchase, 00 load)
SFI_CAPP = 0x19  # composite application file: fixed records, READ RECORD always
CAPP_RECORDS = 2  # record 1 the bus operator's, record 2 free for another (metro)
CAPP_RECORD_LEN = 32
TAG_BUS = 0x01  # application tag in byte 0 of the bus operator's record

# Record status byte: a flat-fare ride is complete at the tap.
STATUS_FLAT_RIDE = 0x00


@dataclass(frozen=True)
class TransitRecord:
    """One 32-byte composite record: tag(1) status(1) line(2) vehicle(2) terminal id(6)
    date(4) time(3) fare(4) ATC of the ride(2) rides counted(2) RFU(5)."""

    tag: int
    status: int
    line: int
    vehicle: int
    terminal_id: bytes
    date: bytes
    time: bytes
    fare: int
    atc: int
    rides: int

    def __post_init__(self) -> None:
        if not 1 <= self.tag <= 0xFF:
            raise ValueError("the application tag is 01..FF (00 marks an unused record)")
        if len(self.terminal_id) != 6 or len(self.date) != 4 or len(self.time) != 3:
            raise ValueError("terminal id is 6 bytes, date 4, time 3")
        for name, bound in (("line", 0xFFFF), ("vehicle", 0xFFFF), ("atc", 0xFFFF),
                            ("rides", 0xFFFF), ("fare", 0xFFFFFFFF), ("status", 0xFF)):  # fmt: skip
            if not 0 <= getattr(self, name) <= bound:
                raise ValueError(f"{name} out of range")

    def to_bytes(self) -> bytes:
        raw = (
            bytes([self.tag, self.status])
            + self.line.to_bytes(2, "big")
            + self.vehicle.to_bytes(2, "big")
            + self.terminal_id
            + self.date
            + self.time
            + self.fare.to_bytes(4, "big")
            + self.atc.to_bytes(2, "big")
            + self.rides.to_bytes(2, "big")
        )
        return raw + bytes(CAPP_RECORD_LEN - len(raw))

    @classmethod
    def from_bytes(cls, raw: bytes) -> TransitRecord | None:
        """The record, or None for an unused one (all zero)."""
        if len(raw) != CAPP_RECORD_LEN:
            raise ProtocolError(f"transit record is {CAPP_RECORD_LEN} bytes, got {len(raw)}")
        if raw[0] == 0:
            return None
        return cls(
            tag=raw[0],
            status=raw[1],
            line=int.from_bytes(raw[2:4], "big"),
            vehicle=int.from_bytes(raw[4:6], "big"),
            terminal_id=raw[6:12],
            date=raw[12:16],
            time=raw[16:19],
            fare=int.from_bytes(raw[19:23], "big"),
            atc=int.from_bytes(raw[23:25], "big"),
            rides=int.from_bytes(raw[25:27], "big"),
        )


@dataclass(frozen=True)
class TransitUpdate:
    """What a composite purchase writes: record ``record_number`` of SFI 19, made by
    ``make(offline ATC, date, time)`` once INITIALIZE FOR CAPP PURCHASE told the ATC."""

    record_number: int
    make: Callable[[int, bytes, bytes], bytes]
