"""Checks a drawn kiosk screen for what would stop a citizen using it.

:func:`check` walks the widget tree under the kiosk's root (what is shown: the
bar, the notice, the current screen, the timeout banner) and reports
:class:`Finding` s: text or touch widgets overlapping each other; text clipped by
its own widget, or anything outside the window; content under a scroll bar; a
touch target smaller than 9 mm at the screen's DPI; text contrast below 4.5:1
(7:1 in elder mode, WCAG 1.4.3 / 1.4.6) against the colour drawn behind it; a
wrapped line that leaves one character alone, or splits a number.

It needs no pixels: backgrounds are read from the canvas instructions the
``.kv`` rules draw (a ``Color`` then a rectangle over the widget's own box).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kivy.graphics import Color, Rectangle, RoundedRectangle
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

__all__ = ["Finding", "check", "contrast", "min_target_px", "settle"]

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in window pixels
_SLACK = 1.5  # pixels of rounding that are no finding


@dataclass(frozen=True)
class Finding:
    """One problem: what kind, on which widget(s), in words."""

    # "overlap", "clipped", "outside", "scrollbar", "target", "contrast", "orphan", "split"
    kind: str
    what: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}"


def min_target_px(dpi: float, mm: float = 9.0) -> float:
    """``mm`` millimetres in pixels at ``dpi``."""
    return mm / 25.4 * dpi


def contrast(fg: tuple[float, float, float], bg: tuple[float, float, float]) -> float:
    """WCAG contrast ratio of two sRGB colours (0..1 channels)."""

    def lum(c: tuple[float, float, float]) -> float:
        ch = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    a, b = sorted((lum(fg), lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _name(w: Widget) -> str:
    text = str(getattr(w, "text", "") or "")
    text = text.replace("\n", " ")
    label = f"{type(w).__name__}"
    action = getattr(w, "action", "")
    if action:
        label += f"[{action}]"
    if text:
        label += f" {text[:24]!r}"
    return label


def _rect(w: Widget) -> Rect:
    x0, y0 = w.to_window(w.x, w.y)
    return (x0, y0, x0 + w.width, y0 + w.height)


def _clip(a: Rect, b: Rect) -> Rect | None:
    r = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return r if r[2] - r[0] > _SLACK and r[3] - r[1] > _SLACK else None


def _shown(root: Widget) -> Iterator[tuple[Widget, Rect | None]]:
    """Every widget drawn under ``root`` (opacity above 0, some size), with the
    part of the window it may show in (a scroll view's viewport; None: anywhere)."""

    def walk(w: Widget, view: Rect | None) -> Iterator[tuple[Widget, Rect | None]]:
        if w.opacity <= 0.01 or w.width < 1 or w.height < 1:
            return
        yield w, view
        inner = view
        if isinstance(w, ScrollView):
            r = _rect(w)
            inner = r if view is None else _clip(r, view)
            if inner is None:
                return
        for child in reversed(w.children):
            yield from walk(child, inner)

    yield from walk(root, None)


def _is_text(w: Widget) -> bool:
    return isinstance(w, Label) and bool(str(w.text).strip())


def _is_touch(w: Widget) -> bool:
    return isinstance(w, ButtonBehavior)


def _background(w: Widget, fallback: tuple[float, ...]) -> tuple[float, float, float]:
    """The colour drawn behind ``w``: the nearest widget (itself or an ancestor)
    whose canvas fills its own box, blended over what is behind that."""
    layers: list[tuple[float, ...]] = []
    node: Widget | None = w
    while node is not None:
        # canvas.before only: a label's own canvas holds its text's rectangle.
        for group in (node.canvas.before,):
            color: tuple[float, ...] | None = None
            for ins in group.children:
                if isinstance(ins, Color):
                    color = tuple(ins.rgba)
                elif isinstance(ins, Rectangle | RoundedRectangle) and color is not None:
                    same = abs(ins.size[0] - node.width) < 2 and abs(ins.size[1] - node.height) < 2
                    if same and color[3] > 0.05:
                        layers.append(color)
        if layers and layers[-1][3] >= 0.99:
            break
        parent = node.parent
        node = None if parent is None or parent is node else parent
    base = tuple(fallback[:3])
    for c in reversed(layers):
        a = c[3]
        base = tuple(c[i] * a + base[i] * (1 - a) for i in range(3))
    return (base[0], base[1], base[2])


def _lines(w: Label) -> list[str]:
    core = getattr(w, "_label", None)
    lines = getattr(core, "_cached_lines", None) or []
    out = []
    for line in lines:
        out.append("".join(str(word.text) for word in getattr(line, "words", [])))
    return out


def settle(root: Widget, tick: Any, *, most: int = 30) -> int:
    """Run ``tick`` (one turn of Kivy's clock: layout and text, no drawing) until
    nothing under ``root`` moves, resizes or re-renders its text; returns the turns."""
    last: list[Any] = []
    for n in range(1, most + 1):
        tick()
        now = [(tuple(w.pos), tuple(w.size), tuple(getattr(w, "texture_size", ())))
               for w in root.walk(restrict=True)]  # fmt: skip
        if now == last:
            return n
        last = now
    return most


def check(root: Widget, window_size: tuple[int, int], *, dpi: float, elder: bool,
          background: tuple[float, ...] = (1, 1, 1, 1)) -> list[Finding]:  # fmt: skip
    """Everything wrong with what ``root`` shows in a window of ``window_size``."""
    win: Rect = (0.0, 0.0, float(window_size[0]), float(window_size[1]))
    findings: list[Finding] = []
    items: list[tuple[Widget, Rect]] = []
    scrolls: list[tuple[ScrollView, Rect]] = []
    for w, view in _shown(root):
        r = _rect(w)
        if isinstance(w, ScrollView):
            scrolls.append((w, r))
        if not (_is_text(w) or _is_touch(w)):
            continue
        visible = r if view is None else _clip(r, view)
        if visible is None:
            continue  # scrolled out of sight
        if (visible[0] < -_SLACK or visible[1] < -_SLACK or visible[2] > win[2] + _SLACK
                or visible[3] > win[3] + _SLACK):  # fmt: skip
            findings.append(Finding("outside", f"{_name(w)} at {_fmt(visible)} in {_fmt(win)}"))
        items.append((w, visible))
        if _is_text(w):
            findings += _text_findings(w, elder, background)
        if _is_touch(w) and not w.disabled:
            need = min_target_px(dpi)
            if min(w.width, w.height) + _SLACK < need:
                size = f"{w.width:.0f}x{w.height:.0f} px"
                why = f"under {need:.0f} px (9 mm at {dpi:g} dpi)"
                findings.append(Finding("target", f"{_name(w)} is {size}, {why}"))
    for i, (a, ra) in enumerate(items):
        for b, rb in items[i + 1 :]:
            if _related(a, b):
                continue
            o = _clip(ra, rb)
            if o is not None:
                findings.append(Finding("overlap", f"{_name(a)} and {_name(b)} at {_fmt(o)}"))
    for sv, r in scrolls:
        content = sv.children[0] if sv.children else None
        if content is None or content.height <= sv.height + 1 or not sv.do_scroll_y:
            continue
        bar = (r[2] - sv.bar_width - sv.bar_margin, r[1], r[2], r[3])
        for w, rw in items:
            if _inside(w, sv) and _clip(rw, bar) is not None:
                findings.append(Finding("scrollbar", f"{_name(w)} runs under the scroll bar"))
    return findings


def _text_findings(w: Label, elder: bool, background: tuple[float, ...]) -> list[Finding]:
    out: list[Finding] = []
    tw, th = w.texture_size
    if tw > w.width + _SLACK or th > w.height + _SLACK:
        out.append(Finding("clipped", f"{_name(w)}: text {tw:.0f}x{th:.0f} in a "
                                      f"{w.width:.0f}x{w.height:.0f} box"))  # fmt: skip
    if not w.disabled:
        fg = tuple(w.color)
        bg = _background(w, background)
        a = fg[3] if len(fg) > 3 else 1.0
        ink = (
            fg[0] * a + bg[0] * (1 - a),
            fg[1] * a + bg[1] * (1 - a),
            fg[2] * a + bg[2] * (1 - a),
        )
        ratio = contrast(ink, bg)
        need = 7.0 if elder else 4.5
        if ratio + 1e-6 < need:
            out.append(Finding("contrast", f"{_name(w)}: {ratio:.2f}:1, under {need:g}:1"))
    lines = [ln for ln in _lines(w) if ln.strip()]
    if len(lines) > 1:
        if len(lines[-1].strip()) == 1:
            out.append(Finding("orphan", f"{_name(w)}: last line {lines[-1].strip()!r} alone"))
        for a, b in itertools.pairwise(lines):
            # digits and the stars of a masked card number are one number
            if _numeric(a.rstrip()[-1:]) and _numeric(b.lstrip()[:1]):
                where = f"{a.strip()[-6:]!r} / {b.strip()[:6]!r}"
                out.append(Finding("split", f"{_name(w)}: a number broken over lines ({where})"))
    return out


def _numeric(ch: str) -> bool:
    return bool(ch) and (ch.isdigit() or ch == "*")


def _related(a: Widget, b: Widget) -> bool:
    return _ancestor(a, b) or _ancestor(b, a)


def _ancestor(a: Widget, b: Widget) -> bool:
    node = b.parent
    while node is not None and node is not node.parent:
        if node is a:
            return True
        node = node.parent
    return False


def _inside(w: Widget, sv: Widget) -> bool:
    return _ancestor(sv, w)


def _fmt(r: Rect) -> str:
    return f"({r[0]:.0f},{r[1]:.0f})-({r[2]:.0f},{r[3]:.0f})"
