"""How a line of text is printed on a profile, and how wide it is there.

A line is printed either natively, as runs of ASCII, Chinese-mode GB18030
(``FS &`` ... ``FS .``) and code-page bytes, or, when some character is in neither
the printer's Chinese font nor its code page, as one raster image. Width is counted
in half-width cells (12 dots in font A): in Chinese mode every multi-byte character
takes two cells, a code-page character one; in raster lines East Asian wide,
full-width and ambiguous characters take two. Fields and wrapping use the same count
the printer will, so columns line up.

The encoding is done here, character by character, because python-escpos turns
CJK punctuation and full-width forms into ``?`` and never selects Chinese mode.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from drivers.printer.profiles import PrinterProfile

FS_CHINESE_ON = b"\x1c&"
FS_CHINESE_OFF = b"\x1c."


class RunMode(StrEnum):
    ASCII = "ascii"
    CHINESE = "chinese"
    CODE_PAGE = "code_page"


@dataclass(frozen=True)
class Run:
    mode: RunMode
    text: str


def _in_code_page(char: str, profile: PrinterProfile) -> bool:
    try:
        char.encode(profile.code_page)
    except UnicodeEncodeError:
        return False
    return True


def _char_mode(char: str, profile: PrinterProfile) -> RunMode | None:
    if ord(char) < 0x80:
        return RunMode.ASCII
    # Narrow characters the code page has (¥, ·, é) print half-width from it, as they
    # should; in Chinese mode they would take a full-width cell.
    narrow = unicodedata.east_asian_width(char) not in ("W", "F")
    if narrow and _in_code_page(char, profile):
        return RunMode.CODE_PAGE
    if profile.chinese.covers(char):
        return RunMode.CHINESE
    return RunMode.CODE_PAGE if _in_code_page(char, profile) else None


def plan_line(text: str, profile: PrinterProfile) -> list[Run] | None:
    """Runs to print ``text`` natively, or None when it must go as a raster image."""
    runs: list[Run] = []
    for char in text:
        mode = _char_mode(char, profile)
        if mode is None:
            return None
        if runs and runs[-1].mode is mode:
            runs[-1] = Run(mode, runs[-1].text + char)
        else:
            runs.append(Run(mode, char))
    return runs


def raster_cells(char: str) -> int:
    """Cells a character takes in a raster line (East Asian width W, F and A are wide)."""
    if ord(char) < 0x80:
        return 1
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F", "A") else 1


def char_cells(char: str, profile: PrinterProfile) -> int:
    """Cells ``char`` takes on ``profile`` when its line is printed natively."""
    mode = _char_mode(char, profile)
    if mode is RunMode.ASCII or mode is RunMode.CODE_PAGE:
        return 1
    if mode is RunMode.CHINESE:
        return 2
    return raster_cells(char)


def display_width(text: str, profile: PrinterProfile, *, line: str | None = None) -> int:
    """Width of ``text`` in cells, as the printer will lay it out.

    ``line`` is the whole line ``text`` will be part of (it decides native or raster);
    by default ``text`` itself.
    """
    if plan_line(text if line is None else line, profile) is None:
        return sum(raster_cells(c) for c in text)
    return sum(char_cells(c, profile) for c in text)


def encode_runs(runs: list[Run], profile: PrinterProfile) -> bytes:
    """ESC/POS bytes for native runs: Chinese mode only around GB18030 runs."""
    out = bytearray()
    for run in runs:
        if run.mode is RunMode.ASCII:
            out += run.text.encode("ascii")
        elif run.mode is RunMode.CHINESE:
            out += FS_CHINESE_ON + run.text.encode("gb18030") + FS_CHINESE_OFF
        else:
            out += run.text.encode(profile.code_page)
    return bytes(out)


def wrap(text: str, width: int, profile: PrinterProfile) -> list[str]:
    """Split ``text`` into lines of at most ``width`` cells.

    Latin words break at spaces when they can; CJK text breaks anywhere, but never
    before closing punctuation (a simple kinsoku rule).
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, width, profile))
    return lines


_NO_LINE_START = set("，。、；：！？）」』】》〉,.;:!?)]")


def _wrap_paragraph(text: str, width: int, profile: PrinterProfile) -> list[str]:
    native = plan_line(text, profile) is not None

    def cells(c: str) -> int:
        return char_cells(c, profile) if native else raster_cells(c)

    lines: list[str] = []
    current = ""
    used = 0
    for char in text:
        w = cells(char)
        if used + w > width and current:
            cut = len(current)
            if char != " " and " " in current and char.isascii() and current[-1].isascii():
                space = current.rfind(" ")
                if space > 0:
                    cut = space + 1
            elif char in _NO_LINE_START and len(current) > 1:
                cut = len(current) - 1
            lines.append(current[:cut].rstrip())
            current = current[cut:]
            used = sum(cells(c) for c in current)
        current += char
        used += w
    lines.append(current.rstrip())
    return lines


def fit_field(label: str, value: str, width: int, profile: PrinterProfile) -> list[str]:
    """A label and its value flush right on one line, or on two when they do not fit."""
    lw = display_width(label, profile, line=label + value)
    vw = display_width(value, profile, line=label + value)
    if lw + 1 + vw <= width:
        return [label + " " * (width - lw - vw) + value]
    lines = wrap(label, width, profile)
    for part in wrap(value, width, profile):
        pad = width - display_width(part, profile)
        lines.append(" " * max(pad, 0) + part)
    return lines
