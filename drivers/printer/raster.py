"""Raster images for what a printer cannot print natively: text in a CJK font, QR codes.

The CJK font is found at run time (fontconfig, then a scan of the usual font folders),
never by a fixed path. Text is drawn cell by cell on the same 12 x 24 dot grid the
printer's own font A uses, so raster lines and native lines share their columns. A
character the CJK font lacks (CJK Extension A such as 䶮 is missing from WenQuanYi)
is drawn with the first installed face that has it, per glyph, as fontconfig lists
their character sets; only a character no installed font has prints as a box.
"""

from __future__ import annotations

import bisect
import functools
import shutil
import subprocess
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from drivers.printer.document import Align, Size
from drivers.printer.errors import PrinterConfigError
from drivers.printer.profiles import PrinterProfile, RasterCommand
from drivers.printer.textlayout import raster_cells

# Preferred families, monospaced first (their Latin glyphs are half-width).
_FAMILIES = (
    "WenQuanYi Micro Hei Mono",
    "WenQuanYi Micro Hei",
    "Noto Sans Mono CJK SC",
    "Noto Sans CJK SC",
    "Droid Sans Fallback",
)
_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
_FILE_HINTS = ("wqy", "notosanscjk", "notosansmonocjk", "droidsansfallback")


@functools.cache
def find_cjk_font() -> tuple[str, int]:
    """(font file, face index) of a font with CJK glyphs; ``PrinterConfigError`` if none."""
    if shutil.which("fc-match"):
        for family in _FAMILIES:
            try:
                out = subprocess.run(  # noqa: S603 - fixed argv, no shell
                    ["fc-match", "-f", "%{file}|%{index}|%{family}", family],  # noqa: S607
                    capture_output=True,
                    text=True,
                    timeout=10,
                    check=True,
                ).stdout
            except (OSError, subprocess.SubprocessError):
                break
            path, _, rest = out.partition("|")
            index, _, families = rest.partition("|")
            if family.lower() in families.lower() and Path(path).is_file():
                return path, int(index or 0)
    for folder in _FONT_DIRS:
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.rglob("*")):
            squashed = candidate.name.lower().replace("-", "").replace("_", "")
            suffix = candidate.suffix.lower()
            if suffix in (".ttc", ".ttf", ".otf") and any(h in squashed for h in _FILE_HINTS):
                return str(candidate), 1 if suffix == ".ttc" and "wqy" in squashed else 0
    raise PrinterConfigError("no CJK font found (install fonts-wqy-microhei)")


@functools.cache
def _face(path: str, index: int, line_dots: int) -> ImageFont.FreeTypeFont:
    # Scale the face so ascent + descent fill the line height. Glyphs are drawn one
    # at a time: no shaping needed, so the basic layout engine.
    basic = ImageFont.Layout.BASIC
    probe = ImageFont.truetype(path, 100, index=index, layout_engine=basic)
    ascent, descent = probe.getmetrics()
    size = max(8, line_dots * 100 // (ascent + descent))
    return ImageFont.truetype(path, size, index=index, layout_engine=basic)


def _font(line_dots: int) -> ImageFont.FreeTypeFont:
    return _face(*find_cjk_font(), line_dots)


@functools.cache
def _coverage() -> tuple[tuple[str, int, tuple[int, ...]], ...]:
    """Installed faces and the code points each has (``fc-list``, once), in
    fontconfig's order of preference for Chinese; empty without fontconfig."""
    if not shutil.which("fc-list"):
        return ()
    try:
        listed = subprocess.run(
            ["fc-list", "--format", "%{file}|%{index}|%{charset}\n"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        order = subprocess.run(
            ["fc-match", "-s", "-f", "%{file}|%{index}\n", "sans-serif:lang=zh-cn"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return ()
    faces = []
    for line in listed.splitlines():
        path, _, rest = line.partition("|")
        index, _, charset = rest.partition("|")
        bounds: list[int] = []  # lo, hi + 1, lo, hi + 1, ...: bisect finds inside/outside
        for span in charset.split():
            lo, _, hi = span.partition("-")
            bounds += [int(lo, 16), int(hi or lo, 16) + 1]
        if Path(path).is_file():
            faces.append((path, int(index or 0), tuple(bounds)))
    rank = {key: n for n, key in enumerate(order)}
    faces.sort(key=lambda f: rank.get(f"{f[0]}|{f[1]}", len(rank)))
    return tuple(faces)


def _has(bounds: tuple[int, ...], char: str) -> bool:
    return bisect.bisect_right(bounds, ord(char)) % 2 == 1


@functools.lru_cache(maxsize=4096)
def font_for(char: str, line_dots: int) -> ImageFont.FreeTypeFont:
    """The face to draw ``char`` with: the CJK font, else the first installed face
    that has it; the CJK font again (its missing-glyph box) if none does."""
    primary_key = find_cjk_font()
    faces = _coverage()
    primary = next((b for p, i, b in faces if (p, i) == primary_key), None)
    if char.isascii() or primary is None or _has(primary, char):
        return _font(line_dots)
    for path, index, bounds in faces:
        if _has(bounds, char):
            return _face(path, index, line_dots)
    return _font(line_dots)


def render_text_line(
    text: str,
    profile: PrinterProfile,
    *,
    align: Align = Align.LEFT,
    bold: bool = False,
    underline: bool = False,
    size: Size = Size.NORMAL,
) -> Image.Image:
    """One line of text as a 1-bit image as wide as the paper (black = 1 after printing)."""
    cell, height = profile.cell_dots, profile.line_dots
    cells = [raster_cells(c) for c in text]
    width = sum(cells) * cell
    line = Image.new("L", (max(width, 1), height), 255)
    draw = ImageDraw.Draw(line)
    baseline = _font(height).getmetrics()[0]  # one baseline for every face on the line
    x = 0
    for char, n in zip(text, cells, strict=True):
        if n:
            centre = x + n * cell / 2
            font = font_for(char, height)
            for dx in (0, 1) if bold else (0,):
                draw.text((centre + dx, baseline), char, font=font, fill=0, anchor="ms")
        x += n * cell
    if underline:
        draw.rectangle((0, height - 2, width - 1, height - 1), fill=0)
    line = line.point(lambda v: 0 if v < 128 else 255)
    scaled = line.resize(
        (line.width * size.width_factor, height * size.height_factor), Image.Resampling.NEAREST
    )
    # Raster lines carry the gap a native line gets from the line spacing, except for
    # ESC * whose 24-dot bands the printer spaces itself.
    gap = 0 if profile.raster is RasterCommand.COLUMN else profile.line_gap_dots
    paper = Image.new("L", (profile.dots_per_line, scaled.height + gap), 255)
    free = max(paper.width - scaled.width, 0)
    offset = {Align.LEFT: 0, Align.CENTER: free // 2, Align.RIGHT: free}[align]
    paper.paste(
        scaled.crop((0, 0, min(scaled.width, paper.width), scaled.height)), (offset, gap // 2)
    )
    return paper.point(lambda v: 0 if v < 128 else 255).convert("1")


def qr_modules(payload: str) -> list[list[bool]]:
    """The QR symbol (error correction M) as rows of dark modules, without quiet zone."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(payload.encode("utf-8"))
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def fit_module_dots(payload: str, wanted: int, profile: PrinterProfile) -> int:
    """The largest module size up to ``wanted`` at which the symbol and its quiet zone fit."""
    # best_fit() finds the symbol version without building the matrix (mask choice
    # is most of qrcode's time), which a printer drawing its own QR does not need.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(payload.encode("utf-8"))
    modules = 17 + 4 * int(code.best_fit()) + 8
    return max(1, min(wanted, profile.dots_per_line // modules))


def render_qr(payload: str, module_dots: int, profile: PrinterProfile) -> Image.Image:
    """A QR code centred on a paper-wide 1-bit image, its height a multiple of 24 dots."""
    matrix = qr_modules(payload)
    side = len(matrix) * module_dots
    height = -(-(side + 8 * module_dots) // 24) * 24  # quiet zone, rounded up for ESC *
    paper = Image.new("1", (profile.dots_per_line, height), 1)
    draw = ImageDraw.Draw(paper)
    left = (profile.dots_per_line - side) // 2
    top = (height - side) // 2
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = left + x * module_dots, top + y * module_dots
                draw.rectangle((x0, y0, x0 + module_dots - 1, y0 + module_dots - 1), fill=0)
    return paper
