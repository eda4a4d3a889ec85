"""BCD dates and times as the card carries them (Asia/Shanghai local time)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from cardlib.errors import ProtocolError

__all__ = ["CARD_TZ", "bcd", "card_now", "from_bcd", "pack_date", "pack_time", "unpack_date"]

CARD_TZ = ZoneInfo("Asia/Shanghai")


def bcd(value: int, nbytes: int) -> bytes:
    """Unsigned integer as packed BCD, left-padded with zeros."""
    digits = f"{value:0{nbytes * 2}d}"
    if len(digits) != nbytes * 2 or value < 0:
        raise ValueError(f"{value} does not fit {nbytes} BCD bytes")
    return bytes.fromhex(digits)


def from_bcd(raw: bytes) -> int:
    text = raw.hex()
    if not text.isdigit():
        raise ProtocolError(f"not BCD: {text.upper()}")
    return int(text)


def pack_date(d: date) -> bytes:
    """YYYYMMDD as 4 BCD bytes."""
    return bcd(d.year * 10000 + d.month * 100 + d.day, 4)


def pack_time(t: datetime) -> bytes:
    """hhmmss as 3 BCD bytes."""
    return bcd(t.hour * 10000 + t.minute * 100 + t.second, 3)


def unpack_date(raw: bytes) -> date:
    v = from_bcd(raw)
    try:
        return date(v // 10000, v // 100 % 100, v % 100)
    except ValueError as exc:
        raise ProtocolError(f"bad BCD date {raw.hex().upper()}") from exc


def unpack_datetime(d: bytes, t: bytes) -> datetime:
    day = unpack_date(d)
    v = from_bcd(t)
    try:
        return datetime(
            day.year, day.month, day.day, v // 10000, v // 100 % 100, v % 100, tzinfo=CARD_TZ
        )
    except ValueError as exc:
        raise ProtocolError(f"bad BCD time {t.hex().upper()}") from exc


def card_now(now: datetime | None = None) -> tuple[bytes, bytes]:
    """(date, time) BCD fields for ``now`` (default: the current time) in card local time."""
    local = (now or datetime.now(CARD_TZ)).astimezone(CARD_TZ)
    return pack_date(local.date()), pack_time(local)
