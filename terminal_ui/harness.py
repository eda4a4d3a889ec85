"""Driving the real kiosk widgets without a person: tests, the offscreen demo, the bench.

:class:`Driver` runs a :class:`~terminal_ui.app.KioskApp` inside the caller's loop
(no ``App.run()``): :meth:`Driver.pump` turns Kivy's event loop once, :meth:`tap`
sends a real touch (down and up at the widget's centre, through the window, so a
hidden or covered button cannot be tapped), :meth:`wait_for` pumps until a
condition holds, and :meth:`screenshot` saves the window as PNG.
Kivy allows one window per process: make one Driver and :meth:`KioskApp.attach`
each new session's controller.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kivy.base import EventLoop
from kivy.graphics.opengl import glFinish
from kivy.input.motionevent import MotionEvent
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from terminal_ui.app import KioskApp

__all__ = ["WAIT_S", "Driver", "UiTimeout"]

# How long a step may take before it is a failure. Generous: software GL on a
# loaded two-core machine draws a 1080x1920 frame in up to half a second, and a
# step is several frames plus card and network work.
WAIT_S = 45.0


class UiTimeout(AssertionError):
    """A condition did not come true in time (the message says what was on screen)."""


class _Touch(MotionEvent):  # type: ignore[misc]  # Kivy has no type stubs
    _ids = itertools.count(1)

    def __init__(self, x: float, y: float) -> None:
        win = EventLoop.window
        super().__init__("civicard-driver", next(self._ids),
                         {"x": x / max(1, win.width - 1), "y": y / max(1, win.height - 1)},
                         is_touch=True, type_id="touch")  # fmt: skip
        self.profile = ["pos"]

    def depack(self, args: dict[str, float]) -> None:
        self.sx, self.sy = args["x"], args["y"]
        super().depack(args)


class Driver:
    """The kiosk app, started in this process's one window, driven step by step."""

    def __init__(self, app: KioskApp) -> None:
        self.app = app
        self.taps = 0  # touches so far (the modelled citizen's time counts them)
        EventLoop.ensure_window()
        app._run_prepare()  # build, add the root to the window, on_start; no loop
        self.window = EventLoop.window
        if os.environ.get("SDL_VIDEODRIVER") == "offscreen":
            # Offscreen nothing waits for a frame to be shown, and Mesa's threaded
            # llvmpipe queues frame after frame: memory grew ~4 MB a frame
            # (measured) and "drawn" meant only "queued". Finish each frame.
            self.window.bind(on_flip=lambda *_: glFinish())
        # The screens in the order shown (for failure messages): watched here, so the
        # kiosk's root keeps no test hook.
        self.shown: list[str] = [self.kiosk.screen_manager.current]
        self.kiosk.screen_manager.bind(current=lambda _sm, name: self.shown.append(name))
        self.pump(3)

    # -- the loop ----------------------------------------------------------------------
    def pump(self, frames: int = 1) -> None:
        """Run Kivy's loop ``frames`` times (clock, input, drawing)."""
        for _ in range(frames):
            EventLoop.idle()

    def wait_for(self, cond: Callable[[], Any], timeout: float = WAIT_S, what: str = "") -> Any:
        """Pump until ``cond()`` is truthy; returns its value."""
        end = time.monotonic() + timeout
        while True:
            value = cond()
            if value:
                return value
            if time.monotonic() > end:
                raise UiTimeout(f"waited {timeout}s for {what or cond}; "
                                f"screens shown: {self.shown[-8:]}")  # fmt: skip
            self.pump()
            time.sleep(0.005)  # let the core and worker threads run

    def wait_screen(self, name: str, timeout: float = WAIT_S) -> Any:
        """Pump until screen ``name`` shows; returns it."""
        sm = self.kiosk.screen_manager
        self.wait_for(lambda: sm.current == name, timeout, f"screen {name!r}")
        self.pump(2)  # let layout settle before anyone taps
        return self.kiosk.screen(name)

    @property
    def kiosk(self) -> Any:
        return self.app.kiosk

    # -- the citizen -------------------------------------------------------------------
    def tap(self, widget: Widget) -> None:
        """Touch ``widget`` at its centre and let go, as a finger would (scrolling it
        into view first, as a person would)."""
        self.pump()
        self._scroll_into_view(widget)
        x, y = widget.to_window(*widget.center)
        if not (0 <= x < self.window.width and 0 <= y < self.window.height):
            raise UiTimeout(f"{widget!r} is off screen at {x:.0f},{y:.0f}")
        touch = _Touch(x, y)
        self.taps += 1
        EventLoop.post_dispatch_input("begin", touch)
        EventLoop.post_dispatch_input("end", touch)
        self.pump()

    def _scroll_into_view(self, widget: Widget) -> None:
        parent = widget.parent
        while parent is not None and parent is not parent.parent:
            if isinstance(parent, ScrollView):
                if not self._inside(widget, parent):
                    parent.scroll_to(widget, padding=10, animate=False)
                    self.pump(2)
                if not self._inside(widget, parent):
                    raise UiTimeout(f"{widget!r} cannot be scrolled into view")
            parent = parent.parent

    @staticmethod
    def _inside(widget: Widget, view: Widget) -> bool:
        """Whether ``widget``'s centre shows inside ``view`` (window coordinates)."""
        x, y = widget.to_window(*widget.center)
        vx, vy = view.to_window(*view.pos)
        return bool(vx <= x <= vx + view.width and vy <= y <= vy + view.height)

    def find(self, action: str, root: Widget | None = None, **attrs: Any) -> Widget | None:
        """The visible, enabled widget with ``action`` (and ``attrs``) under ``root``
        (default: the current screen, the bar above it and the timeout banner)."""
        for w in self._walk(root):
            if getattr(w, "action", None) != action or w.disabled or w.opacity == 0:
                continue
            if all(getattr(w, k, None) == v for k, v in attrs.items()):
                return w
        return None

    def press(self, action: str, timeout: float = WAIT_S, **attrs: Any) -> None:
        """Tap the widget with ``action`` once it is there and enabled (as a person
        waits for a greyed-out button)."""
        where = self.kiosk.screen_manager.current
        widget = self.wait_for(lambda: self.find(action, **attrs), timeout,
                               f"an enabled {action!r} {attrs or ''} on {where}")  # fmt: skip
        self.tap(widget)

    def _walk(self, root: Widget | None) -> Iterator[Widget]:
        if root is not None:
            yield from root.walk(restrict=True)
            return
        yield from self.kiosk.screen().walk(restrict=True)
        yield from self.kiosk.ids.bar.walk(restrict=True)
        yield from self.kiosk.ids.warning.walk(restrict=True)

    def open_service(self, service_id: str) -> None:
        """On the menu, tap the group holding ``service_id`` unless it shows already
        (the menu shows its groups first)."""
        if self.kiosk.screen_manager.current != "menu":
            return
        if self.find("choose_service", service_id=service_id) is not None:
            return
        menu: Any = self.kiosk.screen("menu")
        group = menu.group_of(service_id)
        if menu.group:
            self.press("menu_groups")
        if group is not None:
            self.press("menu_group", group_id=group)

    def type_pin(self, pin: str) -> None:
        """Tap the PIN pad's keys for ``pin`` wherever they are (shuffled or not)."""
        for ch in pin:
            self.press("pin_digit", digit=int(ch))

    # -- pictures ----------------------------------------------------------------------
    def screenshot(self, path: Path) -> Path:
        """The whole window as a PNG at ``path``."""
        self.pump(2)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.app.root.export_to_png(str(path))
        return path
