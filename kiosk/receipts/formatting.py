"""Receipt field formatting: masked card numbers and names, local time, money."""

from __future__ import annotations

import datetime as dt

from cardlib.bcd import CARD_TZ
from kiosk.money import format_fen

__all__ = ["LOCAL_TZ", "format_fen", "local_time", "mask_card_number", "mask_name"]

LOCAL_TZ = CARD_TZ  # receipts show the card's local time


def mask_card_number(number: str) -> str:
    """Keep the first four and last four digits: ``3205 **** **** 5678``.

    Receipts never carry the full card number nor any identity number.
    """
    digits = "".join(c for c in number if c.isalnum())
    if len(digits) < 9:
        return "*" * max(len(digits) - 2, 1) + digits[-2:]
    masked = digits[:4] + "*" * (len(digits) - 8) + digits[-4:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


def mask_name(name: str) -> str:
    """All but the last character masked (``*龑``, ``**明``); a Latin name keeps its initial."""
    name = name.strip()
    if not name:
        return ""
    if name.isascii():
        return name[0] + "*" * (len(name) - 1) if len(name) > 1 else name
    return "*" * (len(name) - 1) + name[-1]


def local_time(at: dt.datetime) -> str:
    """``2026-11-28 13:30:05`` in Asia/Shanghai (card and receipt time are local)."""
    if at.tzinfo is None:
        raise ValueError("receipt times must be timezone-aware")
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
