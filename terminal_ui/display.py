"""The display the demo window opens on, found at run time, and a window that fits it.

A fixed 1280×900 window is larger than a 1080-wide portrait screen. Kivy 2.3 has no
call for the display's size, so this asks SDL (the library Kivy's window runs on,
already loaded in the process) for each display's usable bounds (without task bars)
and sizes the window to the display its centre is on: the kiosk area keeps its
shape, the demo panel gets at least its own width, and all of it fits, centred.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PANEL_MIN_W", "Rect", "fit_demo", "place_demo_window", "usable_displays"]

log = logging.getLogger(__name__)

PANEL_MIN_W = 360  # the demo panel's buttons ("Paper out", the headset keys) in a row


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x < self.x + self.w and self.y <= y < self.y + self.h


class _SdlRect(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int),
                ("h", ctypes.c_int)]  # fmt: skip


def _sdl() -> Any:
    """The SDL2 library Kivy's window uses (its wheel bundles one), or the system's."""
    try:
        import kivy

        bundled = sorted((Path(kivy.__file__).parent.parent / "Kivy.libs").glob("libSDL2-2*.so*"))
        name = str(bundled[0]) if bundled else ctypes.util.find_library("SDL2")
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def usable_displays() -> list[Rect]:
    """Each display's usable area (screen coordinates); empty when SDL cannot say."""
    sdl = _sdl()
    if sdl is None:
        return []
    out = []
    for i in range(max(0, int(sdl.SDL_GetNumVideoDisplays()))):
        r = _SdlRect()
        if sdl.SDL_GetDisplayUsableBounds(i, ctypes.byref(r)) == 0 and r.w > 0 and r.h > 0:
            out.append(Rect(r.x, r.y, r.w, r.h))
    return out


def fit_demo(
    display: Rect, aspect: float, *, panel_min_w: int = PANEL_MIN_W, margin: float = 0.05
) -> Rect:
    """The window on ``display``: a kiosk area of width/height ``aspect`` beside the
    panel, as large as fits within ``margin`` of the display's edges, centred."""
    room_w = int(display.w * (1 - margin))
    room_h = int(display.h * (1 - margin))
    kiosk_h = min(room_h, int((room_w - panel_min_w) / aspect))
    kiosk_h = max(kiosk_h, 1)
    width = min(room_w, int(kiosk_h * aspect) + max(panel_min_w, int(kiosk_h * aspect * 0.45)))
    return Rect(display.x + (display.w - width) // 2, display.y + (display.h - kiosk_h) // 2,
                width, kiosk_h)  # fmt: skip


def place_demo_window(window: Any, aspect: float) -> Rect | None:
    """Size and place Kivy's ``window`` for the display it is on; None (left as it is)
    when the display cannot be found."""
    displays = usable_displays()
    if not displays:
        log.info("display size unknown: the demo window keeps its size")
        return None
    w, h = window.size
    centre = (window.left + w / 2, window.top + h / 2)
    display = next((d for d in displays if d.contains(*centre)), displays[0])
    r = fit_demo(display, aspect)
    window.size = (r.w, r.h)
    window.left, window.top = r.x, r.y
    log.info("demo window %dx%d at %d,%d on a %dx%d display", r.w, r.h, r.x, r.y,
             display.w, display.h)  # fmt: skip
    return r
