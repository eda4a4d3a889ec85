"""The simulated paper: a line buffer laid out like a thermal printer's, then pixels.

Characters sit on the font A grid (12 x 24 dots per half-width cell, a Chinese
character takes two cells), scaled by the character size, bottom-aligned on their
line; a line is printed (becomes pixels) on LF, feed, cut, or when it overflows the
paper width, as a real printer does. Every printed row is also kept as plain text.
The CJK font is found at run time; the simulator shares no code with the driver, so
it is an independent check of what the driver sends.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

CELL_DOTS = 12
LINE_DOTS = 24
DEFAULT_LINE_SPACING = 30


@functools.cache
def simulator_font() -> tuple[str, int]:
    """(file, face index) of a CJK font: fontconfig first, then the usual folders."""
    if shutil.which("fc-match"):
        for family in ("WenQuanYi Micro Hei Mono", "Noto Sans Mono CJK SC", "Noto Sans CJK SC"):
            res = subprocess.run(  # noqa: S603 - fixed argv, no shell
                ["fc-match", "-f", "%{file}|%{index}|%{family}", family],  # noqa: S607
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            path, _, rest = res.stdout.partition("|")
            index, _, families = rest.partition("|")
            if family.lower() in families.lower() and Path(path).is_file():
                return path, int(index or 0)
    for folder in (Path("/usr/share/fonts"), Path("/usr/local/share/fonts")):
        for candidate in sorted(folder.rglob("*")) if folder.is_dir() else []:
            name = candidate.name.lower()
            if candidate.suffix.lower() in (".ttc", ".ttf", ".otf") and (
                "wqy" in name or "cjk" in name
            ):
                return str(candidate), 1 if "wqy" in name and name.endswith(".ttc") else 0
    raise RuntimeError("printer simulator: no CJK font found (install fonts-wqy-microhei)")


@functools.cache
def _font() -> ImageFont.FreeTypeFont:
    path, index = simulator_font()
    probe = ImageFont.truetype(path, 100, index=index)
    ascent, descent = probe.getmetrics()
    return ImageFont.truetype(path, LINE_DOTS * 100 // (ascent + descent), index=index)


@functools.cache
def _notdef_mask() -> bytes:
    return bytes(_font().getmask("\U0010fffd"))


@functools.cache
def glyph(char: str, cells: int, bold: bool) -> Image.Image:
    """A character in its cell(s), 8-bit, black ink = 0; missing glyphs drawn as a box."""
    width = cells * CELL_DOTS
    img = Image.new("L", (width, LINE_DOTS), 255)
    draw = ImageDraw.Draw(img)
    font = _font()
    if char.strip() and bytes(font.getmask(char)) == _notdef_mask() and not char.isascii():
        draw.rectangle((2, 3, width - 3, LINE_DOTS - 3), outline=0)
        return img
    for dx in (0, 1) if bold else (0,):
        draw.text((width / 2 + dx, font.getmetrics()[0]), char, font=font, fill=0, anchor="ms")
    return img.point(lambda v: 0 if v < 128 else 255)  # a thermal dot is on or off


@dataclass
class Item:
    """One thing in the line buffer: a character or an inline bit image (ESC *)."""

    image: Image.Image
    text: str
    underline: int = 0


@dataclass
class Paper:
    """Printed output of the current job: pixel rows and text lines."""

    dots: int
    rows: list[Image.Image] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    line: list[Item] = field(default_factory=list)
    used_dots: int = 0

    @property
    def blank(self) -> bool:
        return not self.rows and not self.line

    def add(self, item: Item, align: int) -> None:
        """Put an item in the line buffer; a full line is printed first (auto wrap)."""
        if self.used_dots + item.image.width > self.dots and self.line:
            self.print_line(align, DEFAULT_LINE_SPACING)
        self.line.append(item)
        self.used_dots += item.image.width

    def print_line(self, align: int, spacing: int) -> int:
        """Print the line buffer (an empty one feeds ``spacing``); returns the dots fed."""
        height = max([LINE_DOTS, *(i.image.height for i in self.line)])
        feed = max(spacing, height)
        row = Image.new("L", (self.dots, feed), 255)
        width = min(self.used_dots, self.dots)
        x = {0: 0, 1: (self.dots - width) // 2, 2: self.dots - width}.get(align, 0)
        for item in self.line:
            top = height - item.image.height
            row.paste(item.image, (x, top))
            if item.underline:
                row.paste(0, (x, height - item.underline, x + item.image.width, height))
            x += item.image.width
        self.rows.append(row)
        self.text.append("".join(i.text for i in self.line).rstrip())
        self.line.clear()
        self.used_dots = 0
        return feed

    def add_block(self, image: Image.Image, align: int, text: str) -> None:
        """A graphic printed on its own (raster image, QR, barcode), aligned."""
        row = Image.new("L", (self.dots, image.height), 255)
        width = min(image.width, self.dots)
        x = {0: 0, 1: (self.dots - width) // 2, 2: self.dots - width}.get(align, 0)
        row.paste(image.crop((0, 0, width, image.height)), (x, 0))
        self.rows.append(row)
        self.text.append(text)

    def feed_dots(self, dots: int) -> None:
        if dots > 0:
            self.rows.append(Image.new("L", (self.dots, dots), 255))

    def render(self) -> Image.Image:
        """All printed rows stacked, with a small margin, as a 1-bit-looking 8-bit image."""
        height = sum(r.height for r in self.rows) + 16
        page = Image.new("L", (self.dots + 16, height), 255)
        y = 8
        for row in self.rows:
            page.paste(row, (8, y))
            y += row.height
        return page
