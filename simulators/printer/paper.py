"""The simulated paper: a line buffer laid out like a thermal printer's, then pixels.

Characters sit on the font A grid (12 x 24 dots per half-width cell, a Chinese
character takes two cells), scaled by the character size, bottom-aligned on their
line; a line is printed (becomes pixels) on LF, feed, cut, or when it overflows the
paper width, as a real printer does. Every printed row is also kept as plain text.

A job's record is bounded: at most ``limit_dots`` of paper are kept (the rest is
counted, not drawn), and a blank feed is kept as its height, not as pixels, with
long runs of blank paper shortened in the picture. So a few bytes asking for metres
of paper cost what they cost to parse.

Glyphs come from fonts found at run time with fontconfig: the primary CJK font, and
per character any installed font that has it (fontconfig's ``:charset=``), so rare
characters (CJK Extension A, e.g. 䶮) print instead of a box. The simulator shares
no code with the driver, so it is an independent check of what the driver sends.
"""

from __future__ import annotations

import bisect
import functools
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

CELL_DOTS = 12
LINE_DOTS = 24
DEFAULT_LINE_SPACING = 30
# Blank paper longer than this is drawn this long (the job log says how much was fed).
BLANK_RUN_SHOWN = 240


def _fontconfig(*argv: str) -> str:
    """Output of a fontconfig tool, or "" when it is missing or fails."""
    if not shutil.which(argv[0]):
        return ""
    try:
        return subprocess.run(  # noqa: S603 - fontconfig's own tools, fixed arguments
            list(argv), capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _fc_match(pattern: str) -> tuple[str, int, str] | None:
    """(file, index, families) fontconfig picks for ``pattern``, or None."""
    out = _fontconfig("fc-match", "-f", "%{file}|%{index}|%{family}", pattern)
    path, _, rest = out.partition("|")
    index, _, families = rest.partition("|")
    if not path or not Path(path).is_file():
        return None
    return path, int(index or 0), families


@functools.cache
def _coverage() -> list[tuple[str, int, list[int]]]:
    """Every installed face with the code points it has, in fontconfig's order of
    preference for Chinese text: one ``fc-list`` for all, so a glyph lookup is a
    bisection, not a process."""
    out = _fontconfig("fc-list", "--format", "%{file}|%{index}|%{charset}\n")
    fonts: list[tuple[str, int, list[int]]] = []
    for line in out.splitlines():
        path, _, rest = line.partition("|")
        index, _, charset = rest.partition("|")
        bounds: list[int] = []  # [lo, hi + 1, lo, hi + 1, ...]
        for part in charset.split():
            lo, _, hi = part.partition("-")
            bounds += [int(lo, 16), int(hi or lo, 16) + 1]
        if path and Path(path).is_file():
            fonts.append((path, int(index or 0), bounds))
    order = _fontconfig("fc-match", "-s", "-f", "%{file}|%{index}\n", "sans-serif:lang=zh-cn")
    rank = {line: n for n, line in enumerate(reversed(order.splitlines()))}
    fonts.sort(key=lambda f: -rank.get(f"{f[0]}|{f[1]}", -1))
    return fonts


def _covers(bounds: list[int], char: str) -> bool:
    return bisect.bisect_right(bounds, ord(char)) % 2 == 1


@functools.cache
def simulator_font() -> tuple[str, int]:
    """(file, face index) of a CJK font: fontconfig first, then the usual folders."""
    for family in ("WenQuanYi Micro Hei Mono", "Noto Sans Mono CJK SC", "Noto Sans CJK SC"):
        found = _fc_match(family)
        if found and family.lower() in found[2].lower():
            return found[0], found[1]
    for folder in (Path("/usr/share/fonts"), Path("/usr/local/share/fonts")):
        for candidate in sorted(folder.rglob("*")) if folder.is_dir() else []:
            name = candidate.name.lower()
            if candidate.suffix.lower() in (".ttc", ".ttf", ".otf") and (
                "wqy" in name or "cjk" in name
            ):
                return str(candidate), 1 if "wqy" in name and name.endswith(".ttc") else 0
    raise RuntimeError("printer simulator: no CJK font found (install fonts-wqy-microhei)")


@functools.cache
def _face(path: str, index: int) -> ImageFont.FreeTypeFont:
    # Scale the face so ascent + descent fill the 24-dot line. One glyph at a time
    # needs no text shaping: the basic layout (raqm failed on some lone characters).
    basic = ImageFont.Layout.BASIC
    probe = ImageFont.truetype(path, 100, index=index, layout_engine=basic)
    ascent, descent = probe.getmetrics()
    size = LINE_DOTS * 100 // (ascent + descent)
    return ImageFont.truetype(path, size, index=index, layout_engine=basic)


def _font() -> ImageFont.FreeTypeFont:
    return _face(*simulator_font())


@functools.cache
def _primary_bounds() -> list[int] | None:
    path, index = simulator_font()
    for font_path, font_index, bounds in _coverage():
        if (font_path, font_index) == (path, index):
            return bounds
    return None


def _in_primary(char: str) -> bool:
    bounds = _primary_bounds()
    if bounds is not None:
        return _covers(bounds, char)
    font = _font()  # not listed by fontconfig: compare with the missing-glyph box
    return bytes(font.getmask(char)) != bytes(font.getmask("\U0010fffd"))


@functools.lru_cache(maxsize=4096)
def font_for(char: str) -> ImageFont.FreeTypeFont | None:
    """The font to draw ``char`` with: the primary one, else the first installed face
    that has it (per glyph, as a printer with extra font ROMs would); None if none."""
    primary = _font()
    if char.isascii() or not char.strip() or _in_primary(char):
        return primary
    for path, index, bounds in _coverage():
        if _covers(bounds, char):
            return _face(path, index)
    return None


@functools.lru_cache(maxsize=8192)
def glyph(char: str, cells: int, bold: bool) -> Image.Image:
    """A character in its cell(s), 8-bit, black ink = 0; a glyph no font has is a box."""
    width = cells * CELL_DOTS
    img = Image.new("L", (width, LINE_DOTS), 255)
    draw = ImageDraw.Draw(img)
    draw.fontmode = "1"  # a thermal dot is on or off: no antialiasing
    font = font_for(char)
    baseline = _font().getmetrics()[0]  # one baseline for every font on the line
    if font is not None:
        try:
            for dx in (0, 1) if bold else (0,):
                draw.text((width / 2 + dx, baseline), char, font=font, fill=0, anchor="ms")
            return img
        except (OSError, RuntimeError, ValueError):
            img = Image.new("L", (width, LINE_DOTS), 255)  # FreeType refused it: a box
            draw = ImageDraw.Draw(img)
    draw.rectangle((2, 3, width - 3, LINE_DOTS - 3), outline=0)
    return img


@dataclass
class Item:
    """One thing in the line buffer: a character or an inline bit image (ESC *)."""

    image: Image.Image
    text: str
    underline: int = 0


@dataclass
class Paper:
    """Printed output of the current job: pixel rows (or blank heights) and text lines."""

    dots: int
    limit_dots: int = 16_000
    rows: list[Image.Image | int] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    line: list[Item] = field(default_factory=list)
    used_dots: int = 0
    height: int = 0  # dots of paper kept in the picture
    fed_dots: int = 0  # dots of paper the job moved, kept or not
    dropped_dots: int = 0  # dots past the job length limit: counted, not drawn
    shortened_dots: int = 0  # blank paper left out of the picture

    @property
    def blank(self) -> bool:
        return not self.rows and not self.line

    @property
    def full(self) -> bool:
        """True once the job length limit is reached: nothing more is drawn."""
        return self.height >= self.limit_dots

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
        if not self.line:
            self.feed_dots(feed)
            if not self.full:
                self.text.append("")
            return feed
        self.fed_dots += feed
        if self.full:
            self.dropped_dots += feed
        else:
            row = Image.new("L", (self.dots, feed), 255)
            width = min(self.used_dots, self.dots)
            x = {0: 0, 1: (self.dots - width) // 2, 2: self.dots - width}.get(align, 0)
            for item in self.line:
                top = height - item.image.height
                row.paste(item.image, (x, top))
                if item.underline:
                    row.paste(0, (x, height - item.underline, x + item.image.width, height))
                x += item.image.width
            self._keep(row)
            self.text.append("".join(i.text for i in self.line).rstrip())
        self.line.clear()
        self.used_dots = 0
        return feed

    def add_block(self, image: Image.Image, align: int, text: str) -> None:
        """A graphic printed on its own (raster image, QR, barcode), aligned."""
        self.fed_dots += image.height
        if self.full:
            self.dropped_dots += image.height
            return
        row = Image.new("L", (self.dots, image.height), 255)
        width = min(image.width, self.dots)
        x = {0: 0, 1: (self.dots - width) // 2, 2: self.dots - width}.get(align, 0)
        row.paste(image.crop((0, 0, width, image.height)), (x, 0))
        self._keep(row)
        self.text.append(text)

    def feed_dots(self, dots: int) -> None:
        """Blank paper: kept as a height, and a long run of it shortened in the picture."""
        if dots <= 0:
            return
        self.fed_dots += dots
        room = max(self.limit_dots - self.height, 0)
        run = self.rows[-1] if self.rows and isinstance(self.rows[-1], int) else 0
        shown = min(dots, room, max(BLANK_RUN_SHOWN - run, 0))
        self.shortened_dots += min(dots, room) - shown
        self.dropped_dots += dots - min(dots, room)
        if shown:
            if run:
                self.rows[-1] = run + shown
            else:
                self.rows.append(shown)
            self.height += shown

    def _keep(self, row: Image.Image) -> None:
        room = self.limit_dots - self.height
        if row.height > room:
            self.dropped_dots += row.height - room
            row = row.crop((0, 0, row.width, room))
        self.rows.append(row)
        self.height += row.height

    def render(self) -> Image.Image:
        """All kept rows stacked, with a small margin, as a 1-bit-looking 8-bit image."""
        page = Image.new("L", (self.dots + 16, self.height + 16), 255)
        y = 8
        for row in self.rows:
            if isinstance(row, int):
                y += row
            else:
                page.paste(row, (8, y))
                y += row.height
        return page
