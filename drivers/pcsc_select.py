"""Which reader is the card reader and which holds the PSAM: by name pattern or ATR.

A kiosk has (at least) two PC/SC readers and must not guess which is which: the
configuration names each role by a reader-name pattern (shell-style, case-insensitive)
and/or an ATR pattern (hex, ``??`` for any byte, a trailing ``*`` for any rest).
A production configuration refuses virtual readers (vpcd and the like), so a kiosk
cannot be fed a simulated card or PSAM.

Pure logic over ``{reader name: ATR or None}``; :func:`drivers.pcsc.reader_atrs`
provides that mapping from pcscd.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cardlib.errors import DeviceError

__all__ = [
    "VIRTUAL_READER_PATTERNS",
    "ReaderAssignment",
    "ReaderConfig",
    "ReaderRule",
    "ReaderSelectionError",
    "choose_readers",
    "is_virtual",
]

#: Reader names of virtual or relayed readers (vsmartcard vpcd, jCardSim, pcsc-relay, ...).
VIRTUAL_READER_PATTERNS = (
    "*virtual*",
    "*vpcd*",
    "*vicc*",
    "*jcardsim*",
    "*pcsc-relay*",
    "*remote*",
)


class ReaderSelectionError(DeviceError):
    """No reader, or more than one, fits a configured role; or a refused reader matched."""


def is_virtual(reader: str) -> bool:
    """Whether ``reader`` is (by its name) a virtual or relayed reader."""
    name = reader.casefold()
    return any(fnmatch.fnmatchcase(name, p) for p in VIRTUAL_READER_PATTERNS)


def _atr_regex(pattern: str) -> re.Pattern[str]:
    text = re.sub(r"[\s:]", "", pattern).upper()
    rest = text.endswith("*")
    text = text.rstrip("*")
    if len(text) % 2 or not re.fullmatch(r"([0-9A-F]{2}|\?\?)*", text):
        raise ValueError(f"ATR pattern {pattern!r}: hex bytes, '??' for any byte, '*' at the end")
    body = "".join("[0-9A-F]{2}" if text[i : i + 2] == "??" else text[i : i + 2]
                   for i in range(0, len(text), 2))  # fmt: skip
    return re.compile(body + (".*" if rest else ""))


@dataclass(frozen=True)
class ReaderRule:
    """How to recognise one role's reader; an empty rule matches every reader."""

    name: str | None = None
    atr: str | None = None

    def __post_init__(self) -> None:
        if self.atr is not None:
            _atr_regex(self.atr)  # fail at configuration time, not at the first card

    def matches(self, reader: str, atr: bytes | None) -> bool:
        """Whether ``reader`` (holding a card with ``atr``, or empty) fits this rule."""
        if self.name is not None and not fnmatch.fnmatchcase(
            reader.casefold(), self.name.casefold()
        ):
            return False
        if self.atr is not None:
            return atr is not None and _atr_regex(self.atr).fullmatch(atr.hex().upper()) is not None
        return True

    def __str__(self) -> str:
        parts = [f"name {self.name!r}"] if self.name else []
        parts += [f"ATR {self.atr}"] if self.atr else []
        return " and ".join(parts) or "an empty rule (any reader)"


@dataclass(frozen=True)
class ReaderConfig:
    """The kiosk's reader roles. ``allow_virtual`` is False in production."""

    card: ReaderRule = ReaderRule()
    psam: ReaderRule = ReaderRule()
    allow_virtual: bool = False

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any]) -> ReaderConfig:
        """From configuration keys ``card_reader``, ``card_atr``, ``psam_reader``,
        ``psam_atr``, ``allow_virtual_readers`` (all optional)."""
        known = {"card_reader", "card_atr", "psam_reader", "psam_atr", "allow_virtual_readers"}
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"unknown reader settings: {', '.join(sorted(unknown))}")
        allow = doc.get("allow_virtual_readers", False)
        if not isinstance(allow, bool):
            raise ValueError("allow_virtual_readers must be true or false")
        return cls(
            card=ReaderRule(doc.get("card_reader"), doc.get("card_atr")),
            psam=ReaderRule(doc.get("psam_reader"), doc.get("psam_atr")),
            allow_virtual=allow,
        )


@dataclass(frozen=True)
class ReaderAssignment:
    """The chosen readers."""

    card: str
    psam: str


def choose_readers(readers: Mapping[str, bytes | None], config: ReaderConfig) -> ReaderAssignment:
    """Assign the card and PSAM roles to two distinct readers, or say plainly why not.

    A role whose rule fits several readers is narrowed by removing the reader the other
    role was settled on; what is still ambiguous is an error, never a guess.
    """
    refused = [r for r in readers if is_virtual(r)] if not config.allow_virtual else []
    usable = {r: atr for r, atr in readers.items() if r not in refused}
    card = [r for r, atr in usable.items() if config.card.matches(r, atr)]
    psam = [r for r, atr in usable.items() if config.psam.matches(r, atr)]
    for _ in range(2):
        if len(psam) == 1 and len(card) > 1:
            card = [r for r in card if r != psam[0]]
        if len(card) == 1 and len(psam) > 1:
            psam = [r for r in psam if r != card[0]]
    for role, rule, found in (("card", config.card, card), ("PSAM", config.psam, psam)):
        if len(found) == 1:
            continue
        note = (
            f"; virtual readers refused (production): {', '.join(refused)}"
            if refused and any(rule.matches(r, readers[r]) for r in refused)
            else ""
        )
        if not found:
            raise ReaderSelectionError(f"no {role} reader matches {rule}{note}")
        raise ReaderSelectionError(
            f"{len(found)} readers match the {role} rule ({rule}): {', '.join(found)}; "
            "configure a name or ATR pattern"
        )
    if card[0] == psam[0]:
        raise ReaderSelectionError(f"card and PSAM rules both pick {card[0]}")
    return ReaderAssignment(card=card[0], psam=psam[0])
