"""A device-independent printed document: what a receipt says, not how a printer says it.

Receipt layouts (kiosk.receipts) build a :class:`Document`; the printer driver renders
it for one capability profile (native GB18030 text or raster text, native or raster
QR, cutter or not). Documents are plain frozen data and round-trip through JSON, so
the on-disk print queue keeps the document itself and can reprint it later, on
another profile if the printer was swapped, with a reprint mark added.

This module imports neither escpos nor PIL: the kiosk may import it freely.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


class Size(StrEnum):
    """Character magnification, as ESC/POS ``GS !`` offers it."""

    NORMAL = "normal"
    TALL = "tall"  # double height
    WIDE = "wide"  # double width
    DOUBLE = "double"  # both

    @property
    def width_factor(self) -> int:
        return 2 if self in (Size.WIDE, Size.DOUBLE) else 1

    @property
    def height_factor(self) -> int:
        return 2 if self in (Size.TALL, Size.DOUBLE) else 1


@dataclass(frozen=True)
class Text:
    """One paragraph; the driver wraps it to the paper width by display width."""

    text: str
    align: Align = Align.LEFT
    bold: bool = False
    underline: bool = False
    size: Size = Size.NORMAL


@dataclass(frozen=True)
class Field:
    """A label on the left and its value flush right on the same line (wrapped if too long)."""

    label: str
    value: str
    bold: bool = False


@dataclass(frozen=True)
class Rule:
    """A horizontal separator across the paper."""

    char: str = "-"


@dataclass(frozen=True)
class QRCode:
    """A QR code, centred; ``module_dots`` is a hint the profile may lower to fit the paper."""

    payload: str
    module_dots: int = 4


@dataclass(frozen=True)
class Barcode:
    """A linear barcode with its human-readable text below (CODE128 only for now)."""

    data: str
    height_dots: int = 60

    def __post_init__(self) -> None:
        if not self.data or not all(" " <= c <= "~" for c in self.data):
            raise ValueError("barcode data must be printable ASCII")


@dataclass(frozen=True)
class Feed:
    """Blank lines."""

    lines: int = 1


Block = Text | Field | Rule | QRCode | Barcode | Feed

_BLOCK_TYPES: dict[str, type[Text | Field | Rule | QRCode | Barcode | Feed]] = {
    "text": Text,
    "field": Field,
    "rule": Rule,
    "qr": QRCode,
    "barcode": Barcode,
    "feed": Feed,
}
_TYPE_NAMES = {cls: name for name, cls in _BLOCK_TYPES.items()}


@dataclass(frozen=True)
class Document:
    """A printable document.

    ``kind`` names the layout (``purchase``, ``top_up``...), ``reference`` the business
    object it records (a transaction id): the print queue uses it to report which
    receipt failed. ``language`` is a BCP 47 tag (``zh-Hans``, ``zh-Hant``, ``en``).
    """

    kind: str
    reference: str
    language: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    cut: bool = True

    def with_blocks_before(self, *blocks: Block) -> Document:
        """A copy with ``blocks`` prepended (used for the reprint mark)."""
        return Document(self.kind, self.reference, self.language, blocks + self.blocks, self.cut)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, UTF-8 text kept as is)."""
        return json.dumps(
            {
                "kind": self.kind,
                "reference": self.reference,
                "language": self.language,
                "cut": self.cut,
                "blocks": [_block_to_dict(b) for b in self.blocks],
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Document:
        """Inverse of :meth:`to_json`; raises ``ValueError`` on anything malformed."""
        try:
            raw = json.loads(text)
            blocks = tuple(_block_from_dict(b) for b in raw["blocks"])
            return cls(
                kind=str(raw["kind"]),
                reference=str(raw["reference"]),
                language=str(raw["language"]),
                blocks=blocks,
                cut=bool(raw["cut"]),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a printable document: {exc}") from exc

    def plain_text(self) -> str:
        """Every text the document carries, one block per line (for logs and tests)."""
        lines: list[str] = []
        for block in self.blocks:
            if isinstance(block, Text):
                lines.append(block.text)
            elif isinstance(block, Field):
                lines.append(f"{block.label} {block.value}")
            elif isinstance(block, Barcode):
                lines.append(block.data)
        return "\n".join(lines)


def _block_to_dict(block: Block) -> dict[str, Any]:
    out: dict[str, Any] = {"type": _TYPE_NAMES[type(block)]}
    for name, value in vars(block).items():
        out[name] = value.value if isinstance(value, Enum) else value
    return out


def _block_from_dict(raw: dict[str, Any]) -> Block:
    data = dict(raw)
    cls = _BLOCK_TYPES.get(data.pop("type", ""))
    if cls is None:
        raise ValueError(f"unknown block type in {raw!r}")
    if "align" in data:
        data["align"] = Align(data["align"])
    if "size" in data:
        data["size"] = Size(data["size"])
    return cls(**data)
