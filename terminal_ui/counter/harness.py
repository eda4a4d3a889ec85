"""Driving the counter station's real widgets without a person: tests, screenshots,
the offscreen demo. Same idea as :mod:`terminal_ui.harness` (real touches through the
window, Kivy's loop turned by the caller), for the counter's root."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from kivy.base import EventLoop
from kivy.graphics.opengl import glFinish
from kivy.uix.widget import Widget

from terminal_ui.counter.app import CounterApp
from terminal_ui.harness import WAIT_S, UiTimeout, _Touch

__all__ = ["CounterDriver"]


class CounterDriver:
    """The counter app in this process's one window, driven step by step."""

    def __init__(self, app: CounterApp) -> None:
        import os

        self.app = app
        EventLoop.ensure_window()
        app._run_prepare()  # build, add the root to the window, on_start; no loop
        self.window = EventLoop.window
        if os.environ.get("SDL_VIDEODRIVER") == "offscreen":
            self.window.bind(on_flip=lambda *_: glFinish())  # see terminal_ui.harness
        self.shown: list[str] = [self.root.pages.current]
        self.root.pages.bind(current=lambda _sm, name: self.shown.append(name))
        self.pump(3)

    @property
    def root(self) -> Any:
        return self.app.counter

    def pump(self, frames: int = 1) -> None:
        for _ in range(frames):
            EventLoop.idle()

    def wait_for(self, cond: Callable[[], Any], timeout: float = WAIT_S, what: str = "") -> Any:
        end = time.monotonic() + timeout
        while True:
            value = cond()
            if value:
                return value
            if time.monotonic() > end:
                raise UiTimeout(f"waited {timeout}s for {what or cond}; "
                                f"pages shown: {self.shown[-8:]}")  # fmt: skip
            self.pump()
            time.sleep(0.005)

    def wait_page(self, name: str, timeout: float = WAIT_S) -> Any:
        self.wait_for(lambda: self.root.pages.current == name, timeout, f"page {name!r}")
        self.pump(2)
        return self.root.screen(name)

    def _walk(self, root: Widget | None) -> Iterator[Widget]:
        yield from (root or self.root.ids.bar).walk(restrict=True)
        if root is None:
            yield from self.root.screen().walk(restrict=True)
            yield from self.root.ids.citizen_column.walk(restrict=True)

    def find(self, action: str, root: Widget | None = None, **attrs: Any) -> Widget | None:
        for w in self._walk(root):
            if getattr(w, "action", None) != action or w.disabled or w.opacity == 0:
                continue
            if all(getattr(w, k, None) == v for k, v in attrs.items()):
                return w
        return None

    def tap(self, widget: Widget) -> None:
        self.pump()
        x, y = widget.to_window(*widget.center)
        if not (0 <= x < self.window.width and 0 <= y < self.window.height):
            raise UiTimeout(f"{widget!r} is off screen at {x:.0f},{y:.0f}")
        touch = _Touch(x, y)
        EventLoop.post_dispatch_input("begin", touch)
        EventLoop.post_dispatch_input("end", touch)
        self.pump()

    def press(self, action: str, timeout: float = WAIT_S, **attrs: Any) -> None:
        where = self.root.pages.current
        widget = self.wait_for(lambda: self.find(action, **attrs), timeout,
                               f"an enabled {action!r} {attrs or ''} on {where}")  # fmt: skip
        self.tap(widget)

    def type_keys(self, text: str) -> None:
        """Tap the on-screen character keys (CharKeys) for ``text``."""
        for ch in text:
            self.press("type", char=ch)

    def type_pin(self, pin: str, root: Widget | None = None) -> None:
        for ch in pin:
            widget = self.wait_for(partial(self.find, "pin_digit", root, digit=int(ch)),
                                   what=f"PIN key {ch}")  # fmt: skip
            self.tap(widget)

    def screenshot(self, path: Path) -> Path:
        self.pump(2)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.app.root.export_to_png(str(path))
        return path
