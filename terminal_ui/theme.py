"""Sizes and colours, for the window's shape and for elder mode.

Everything scales with the short side of the window, so the same ``.kv`` fills a
1080×1920 portrait kiosk and a 1920×1080 landscape one. Elder mode makes text
about 40 % larger and switches to a high-contrast palette (white and yellow on
black, WCAG AAA contrast); the core doubles its timeouts.
"""

from __future__ import annotations

from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty

__all__ = ["Theme"]

_NORMAL = {
    "bg": "#F3F5F8",
    "fg": "#15202B",
    "muted": "#4A5868",
    "panel": "#FFFFFF",
    "primary": "#0B5CAD",
    "ink_primary": "#FFFFFF",
    "secondary": "#DDE3EA",
    "ink_secondary": "#15202B",
    "danger": "#B3261E",
    "ok": "#1E7B34",
    "alert": "#FFB300",
    "ink_alert": "#000000",
    "accent": "#FFB300",  # the elder-mode button
    "line": "#C5CED8",
}
_ELDER = {
    "bg": "#000000",
    "fg": "#FFFFFF",
    "muted": "#E6E6E6",
    "panel": "#111111",
    "primary": "#FFD400",
    "ink_primary": "#000000",
    "secondary": "#FFFFFF",
    "ink_secondary": "#000000",
    "danger": "#FF6B6B",
    "ok": "#7CFC7C",
    "alert": "#FFD400",
    "ink_alert": "#000000",
    "accent": "#FF8A00",  # orange: not the yellow of the chosen language
    "line": "#FFFFFF",
}


class Theme(EventDispatcher):  # type: ignore[misc]  # Kivy has no type stubs
    """Bound to by every ``.kv`` rule (``app.theme.body``, ``app.theme.fg``...).

    Text colour on a coloured fill is ``ink_<fill>``, never ``on_<fill>``: Kivy
    would take ``on_primary`` for the handler of ``primary``'s changes."""

    elder = BooleanProperty(False)
    portrait = BooleanProperty(True)
    unit = NumericProperty(1.0)  # pixels per design pixel (design: 1080 short side)

    title = NumericProperty(64)
    heading = NumericProperty(48)
    body = NumericProperty(38)
    small = NumericProperty(28)
    button = NumericProperty(44)
    bar = NumericProperty(32)  # the language bar: must fit four buttons in any mode
    button_height = NumericProperty(140)
    key = NumericProperty(150)  # PIN pad key side
    pad = NumericProperty(32)
    radius = NumericProperty(24)

    bg = ColorProperty(_NORMAL["bg"])
    fg = ColorProperty(_NORMAL["fg"])
    muted = ColorProperty(_NORMAL["muted"])
    panel = ColorProperty(_NORMAL["panel"])
    primary = ColorProperty(_NORMAL["primary"])
    ink_primary = ColorProperty(_NORMAL["ink_primary"])
    secondary = ColorProperty(_NORMAL["secondary"])
    ink_secondary = ColorProperty(_NORMAL["ink_secondary"])
    danger = ColorProperty(_NORMAL["danger"])
    ok = ColorProperty(_NORMAL["ok"])
    alert = ColorProperty(_NORMAL["alert"])
    ink_alert = ColorProperty(_NORMAL["ink_alert"])
    accent = ColorProperty(_NORMAL["accent"])
    line = ColorProperty(_NORMAL["line"])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._size = (1080, 1920)
        self.fbind("elder", lambda *_: self._apply())
        self._apply()

    def fit(self, width: int, height: int) -> None:
        """Scale to a window (or the kiosk area of the demo) of this size."""
        self._size = (max(1, int(width)), max(1, int(height)))
        self._apply()

    def _apply(self) -> None:
        w, h = self._size
        self.portrait = h >= w
        self.unit = u = min(w, h) / 1080
        # Landscape has less height per row: keep buttons slightly lower there.
        tall = 1.0 if self.portrait else 0.85
        scale = 1.4 if self.elder else 1.0
        self.title = 64 * u * scale
        self.heading = 48 * u * scale
        self.body = 38 * u * scale
        self.small = 28 * u * scale
        self.button = 44 * u * scale
        self.bar = 32 * u * (1.15 if self.elder else 1.0)
        self.button_height = 140 * u * tall * (1.25 if self.elder else 1.0)
        self.key = 170 * u * tall * (1.15 if self.elder else 1.0)
        self.pad = 32 * u
        self.radius = 24 * u
        palette = _ELDER if self.elder else _NORMAL
        for name, value in palette.items():
            setattr(self, name, value)
        # Re-announce every colour, in palette order: a widget whose rules set one
        # property from two colours (BigButton's ink_primary, then the elder button's
        # ink_alert) must end on the later rule's, even when that colour is the same
        # in both palettes and so never changed (it showed white on orange).
        for name in palette:
            self.property(name).dispatch(self)
