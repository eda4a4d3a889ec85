"""Capability profiles: what one printer model can do. The renderer asks, never guesses.

A profile fixes the paper (dots per line, characters per line in font A), the
character set the printer's own font covers (a single-byte code page, and a Chinese
font or none), whether it has a native QR command and a cutter, and which raster
command it takes for images. Three are shipped; docs/printing.md explains them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChineseFont(StrEnum):
    """Which Chinese characters the printer's resident font can print in FS & mode."""

    NONE = "none"
    GBK = "gbk"  # two-byte codes only (most 58 mm printers sold in China)
    GB18030 = "gb18030"  # two- and four-byte codes

    def covers(self, char: str) -> bool:
        """True when ``char`` (non-ASCII) can be printed natively in Chinese mode."""
        if self is ChineseFont.NONE:
            return False
        try:
            char.encode(self.value)
        except UnicodeEncodeError:
            return False
        return True


class RasterCommand(StrEnum):
    """The image command a printer accepts (python-escpos ``impl`` names)."""

    RASTER = "bitImageRaster"  # GS v 0
    GRAPHICS = "graphics"  # GS ( L
    COLUMN = "bitImageColumn"  # ESC *


@dataclass(frozen=True)
class PrinterProfile:
    """Capabilities of one printer model."""

    name: str
    description: str
    dots_per_line: int
    columns: int  # font A, 12 x 24 dots per half-width cell
    chinese: ChineseFont
    native_qr: bool
    cutter: bool
    raster: RasterCommand
    process_id: bool = False  # answers GS ( H once everything before it is printed
    code_page: str = "cp437"  # Python codec of the single-byte table selected with ESC t
    code_page_number: int = 0  # its ESC t number
    cell_dots: int = 12
    line_dots: int = 24
    line_gap_dots: int = 6  # default line spacing (30 dots) minus the font height

    def __post_init__(self) -> None:
        if self.columns * self.cell_dots > self.dots_per_line:
            raise ValueError(f"{self.name}: {self.columns} columns do not fit {self.dots_per_line}")


GB18030_80MM = PrinterProfile(
    name="gb18030-80mm",
    description="80 mm thermal printer with a resident GB18030 font, native QR, cutter",
    dots_per_line=576,
    columns=48,
    chinese=ChineseFont.GB18030,
    native_qr=True,
    cutter=True,
    raster=RasterCommand.RASTER,
    process_id=True,
)

NO_CJK_58MM = PrinterProfile(
    name="nocjk-58mm",
    description="58 mm printer without Chinese fonts: non-Latin text goes as raster images",
    dots_per_line=384,
    columns=32,
    chinese=ChineseFont.NONE,
    native_qr=True,
    cutter=False,
    raster=RasterCommand.GRAPHICS,
)

NO_QR_80MM = PrinterProfile(
    name="noqr-80mm",
    description="older 80 mm printer, GBK font, no QR command: QR codes go as images (ESC *)",
    dots_per_line=576,
    columns=48,
    chinese=ChineseFont.GBK,
    native_qr=False,
    cutter=True,
    raster=RasterCommand.COLUMN,
)

PROFILES: dict[str, PrinterProfile] = {p.name: p for p in (GB18030_80MM, NO_CJK_58MM, NO_QR_80MM)}


def get_profile(name: str) -> PrinterProfile:
    """The shipped profile called ``name``; ``KeyError`` lists the known names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown printer profile {name!r}; known: {sorted(PROFILES)}") from None
