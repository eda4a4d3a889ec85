"""A CJK font for the kiosk screen, found at run time and registered with Kivy.

Kivy's default font (Roboto) has no Chinese glyphs. :func:`find_fonts` asks
fontconfig for installed fonts that cover both Simplified and Traditional Chinese
(fonts-wqy-microhei, installed by scripts/setup.sh; Noto CJK if present), never
a hard-coded path, and checks each with Pillow by rendering sample characters.
The first becomes Kivy's default font; the others are fallbacks for rare
characters in names (䶮 is in CJK Extension A, which WenQuanYi lacks):
:meth:`FontSet.markup` switches font for just those characters. A character no
installed font has is drawn as the font's visible "missing" box, never dropped.

Fallbacks are opened only when a character the primary font lacks turns up: each
font checked is read by FreeType (memory-mapped, the pages it touches count in the
process's resident set), and a Noto CJK collection is 20 MB; checking them all at
start-up cost the kiosk about 20 MB for fonts most sessions never draw.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from PIL import ImageFont

__all__ = ["SAMPLES", "FontSet", "NoCjkFont", "covers", "find_fonts"]

log = logging.getLogger(__name__)

# Characters each screen language needs: zh-Hans, zh-Hant, en, money and PIN dots.
SAMPLES = "请插入您的卡余额缴费请插入您的卡餘額繳費龍體Insert your card ¥0123456789●"
# Where fonts live when fontconfig is not installed (searched, not assumed).
_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
_KNOWN = ("wqy-microhei", "wqy-zenhei", "NotoSansCJK", "NotoSerifCJK", "DroidSansFallback")
_NOT_A_CHARACTER = "\U0010fffd"  # private use: every font draws .notdef for it


class NoCjkFont(RuntimeError):
    """No installed font covers Chinese; the screen would show empty boxes."""


@cache
def _font(path: str, size: int = 48) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@cache
def _notdef(path: str) -> tuple[tuple[int, int, int, int] | None, bytes]:
    mask = _font(path).getmask(_NOT_A_CHARACTER)
    return mask.getbbox(), bytes(mask)


@cache
def covers(path: str, char: str) -> bool:
    """Whether the font at ``path`` has a glyph of its own for ``char``."""
    if char.isspace():
        return True
    mask = _font(path).getmask(char)
    return (mask.getbbox(), bytes(mask)) != _notdef(path)


def _candidates() -> list[str]:
    found: list[str] = []
    fc_list = shutil.which("fc-list")
    if fc_list:
        try:
            out = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [fc_list, ":lang=zh-cn", "file"], capture_output=True, text=True, timeout=10
            ).stdout
            found += [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
        except (OSError, subprocess.SubprocessError):
            log.warning("fc-list failed; searching font folders instead")
    for folder in _FONT_DIRS:
        if folder.is_dir():
            found += [str(p) for p in folder.rglob("*") if p.suffix.lower() in (".ttc", ".ttf",
                                                                                ".otf")
                      and any(k.lower() in p.name.lower() for k in _KNOWN)]  # fmt: skip
    # Known good families first, then whatever else fontconfig offered.
    rank = {k.lower(): i for i, k in enumerate(_KNOWN)}

    def order(path: str) -> int:
        name = Path(path).name.lower()
        return min((i for k, i in rank.items() if k in name), default=len(rank))

    return sorted(dict.fromkeys(found), key=order)


@dataclass(frozen=True)
class FontSet:
    """The primary CJK font and fallbacks for the characters it lacks."""

    primary: str
    fallbacks: tuple[str, ...] = field(default=())

    def font_for(self, char: str) -> str | None:
        """The first font with a glyph for ``char`` (None: no installed font has it).
        A fallback is opened here, the first time the primary lacks a character."""
        for path in (self.primary, *self.fallbacks):
            try:
                if covers(path, char):
                    return path
            except OSError:  # unreadable, or not a font Pillow knows
                continue
        return None

    def missing(self, text: str) -> set[str]:
        """Characters of ``text`` no font of the set can draw."""
        return {ch for ch in text if self.font_for(ch) is None}

    def markup(self, text: str) -> str:
        """``text`` as Kivy markup (escaped), switching to a fallback font for each run
        of characters the primary font lacks. Labels showing it set ``markup: True``."""
        out: list[str] = []
        run_font: str | None = None
        for ch in text:
            font = self.primary if covers(self.primary, ch) else self.font_for(ch)
            font = font or self.primary  # nobody has it: the primary's visible box
            if font != run_font:
                if run_font not in (None, self.primary):
                    out.append("[/font]")
                if font != self.primary:
                    out.append(f"[font={font}]")
                run_font = font
            out.append(_escape(ch))
        if run_font not in (None, self.primary):
            out.append("[/font]")
        return "".join(out)


def _escape(ch: str) -> str:
    return {"&": "&amp;", "[": "&bl;", "]": "&br;"}.get(ch, ch)


def find_fonts(samples: str = SAMPLES, candidates: Iterable[str] | None = None) -> FontSet:
    """The best installed font that draws every character of ``samples``, the other
    candidates after it as fallbacks (checked when first needed, see the module doc).
    Raises :class:`NoCjkFont` when there is none (scripts/setup.sh installs one)."""
    paths = list(candidates if candidates is not None else _candidates())
    for i, path in enumerate(paths):
        try:
            if all(covers(path, ch) for ch in samples):
                return FontSet(path, tuple(paths[i + 1 :]))
        except OSError:  # unreadable or not a font Pillow knows
            continue
    raise NoCjkFont(
        "no installed font covers Chinese; install fonts-wqy-microhei (scripts/setup.sh)"
    )


def register(fonts: FontSet, names: Sequence[str] = ("Roboto",)) -> None:
    """Make ``fonts.primary`` Kivy's default font (every Label without a font_name).
    Imports Kivy: call after :func:`terminal_ui.env.prepare`."""
    from kivy.core.text import LabelBase

    for name in names:
        LabelBase.register(name, fn_regular=fonts.primary)
