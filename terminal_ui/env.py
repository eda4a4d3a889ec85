"""Kivy's process environment, set before Kivy is first imported.

Kivy reads its settings from the environment and from ``KIVY_HOME`` at import
time, parses ``sys.argv`` unless told not to, and takes over logging. A kiosk,
the demo, the tests and the bench all start it through :func:`prepare` so they
behave the same way.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

__all__ = ["has_display", "prepare"]

_PREPARED = "CIVICARD_KIVY_PREPARED"


def prepare(
    *,
    home: Path | None = None,
    size: tuple[int, int] | None = None,
    fullscreen: bool = False,
    offscreen: bool | None = None,
) -> Path:
    """Set Kivy's environment; returns the ``KIVY_HOME`` used.

    ``home`` None makes a private temporary one (tests, demo), so no user's
    ``~/.kivy/config.ini`` changes what the kiosk looks like. ``offscreen`` None
    renders offscreen when there is no display (SDL then uses EGL/Mesa).
    Must run before the first ``import kivy``.
    """
    if "kivy" in sys.modules:
        if os.environ.get(_PREPARED):  # prepared before, in this process: keep it
            return Path(os.environ["KIVY_HOME"])
        raise RuntimeError("terminal_ui.env.prepare() must run before Kivy is imported")
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="civicard-kivy-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["KIVY_HOME"] = str(home)
    os.environ["KIVY_NO_ARGS"] = "1"  # argv belongs to civicard's CLI, not Kivy
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # leave the root logger alone
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    if offscreen is None:
        offscreen = not has_display()
    if offscreen:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
    if size is not None:
        # Read by kivy.config on import; equivalent to Config.set before the window.
        os.environ["KCFG_GRAPHICS_WIDTH"] = str(size[0])
        os.environ["KCFG_GRAPHICS_HEIGHT"] = str(size[1])
    os.environ["KCFG_GRAPHICS_FULLSCREEN"] = "auto" if fullscreen else "0"
    os.environ["KCFG_GRAPHICS_RESIZABLE"] = "1"
    # No multisample anti-aliasing: Kivy's default (2) keeps multisampled colour and
    # depth buffers of the whole window beside the normal ones; with software GL they
    # are process memory (about 60 MB at 1080x1920, measured: docs/ui.md, "Memory"),
    # for slightly smoother rounded corners on a screen of flat shapes and text.
    os.environ.setdefault("KCFG_GRAPHICS_MULTISAMPLES", "0")
    os.environ["KCFG_KIVY_EXIT_ON_ESCAPE"] = "0"  # a kiosk never quits on Escape
    os.environ["KCFG_INPUT_MOUSE"] = "mouse,disable_multitouch"  # no red multitouch dots
    os.environ[_PREPARED] = "1"
    return home


def has_display() -> bool:
    """Whether a window can be shown (X11 or Wayland)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
