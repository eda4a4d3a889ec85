"""What may leave the kiosk: the config without secrets, text with card numbers
masked and identity numbers removed, and a scan that proves a bundle is clean.

A technician needs the last four digits of a card to find a session; nobody needs
a holder's name or identity number, so those are never written (names never reach
logs or the trace in the first place: holder-file answers are not traced).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "config_values",
    "find_personal_data",
    "mask_numbers",
    "redact_url",
    "scrub",
]

REDACTED = "<redacted>"
_SECRET_ENDINGS = ("key", "token", "secret", "password", "passwd")

# PRC resident identity number: 17 digits and a digit or X (also with the birth
# date starred out, as the card's holder file keeps it).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{6}[0-9*]{8}\d{3}[0-9Xx](?![0-9A-Za-z])")
# Card numbers (ASN: 20 hex digits) and other long digit runs: keep 4 + 4.
_LONG_NUMBER = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{16,20}(?![0-9A-Fa-f])")


def _is_secret(name: str) -> bool:
    return name.lower().endswith(_SECRET_ENDINGS)


def redact_url(url: str) -> str:
    """A URL without user info, query or fragment (they can hold credentials)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def config_values(config: Any, *, redact: bool = True) -> dict[str, Any]:
    """The effective config as plain values. With ``redact``, secret-named keys show
    only whether they are set, and URLs lose credentials and queries."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = {k: v for k, v in dataclasses.asdict(value).items()}
        elif isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = [str(v) for v in value]
        if redact:
            if _is_secret(f.name) and value not in (None, ""):
                value = f"{REDACTED} (set)"
            elif f.name.endswith("url") and isinstance(value, str):
                value = redact_url(value)
        out[f.name] = value
    return out


def _mask_one(m: re.Match[str]) -> str:
    s = m.group(0)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


def mask_numbers(text: str) -> str:
    """Identity numbers removed, card numbers masked to their first and last four."""
    text = _ID_NUMBER.sub("<id number removed>", text)
    return _LONG_NUMBER.sub(_mask_one, text)


def scrub(value: Any) -> Any:
    """:func:`mask_numbers` over every string of a JSON-like value (keys included)."""
    if isinstance(value, str):
        return mask_numbers(value)
    if isinstance(value, Mapping):
        return {scrub(str(k)): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def find_personal_data(text: str, *, names: Iterable[str] = ()) -> list[str]:
    """What in ``text`` looks personal: a given name, an identity number, an
    unmasked card-length number. Empty when clean."""
    found = [f"name {n!r}" for n in names if n and n in text]
    found += [f"identity number {m.group(0)}" for m in _ID_NUMBER.finditer(text)]
    found += [f"unmasked number {m.group(0)}" for m in _LONG_NUMBER.finditer(text)]
    return found
