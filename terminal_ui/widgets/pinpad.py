"""The PIN pad: keys go straight to the controller; the screen shows dots only.

The widget never holds a digit: a key press calls ``controller.pin_digit(d)``
and the dots are drawn from ``screen.pin.length``, which is all the core lets
out. With ``shuffle`` the digit keys change places every time the pad is shown
(a watcher of the hand learns nothing from positions).
"""

from __future__ import annotations

import random
from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Ellipse, Line
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from terminal_ui.widgets.common import BigButton

__all__ = ["DigitKey", "PadKey", "PinDots", "PinPad", "key_order"]

_PLAIN = (1, 2, 3, 4, 5, 6, 7, 8, 9, 0)


def key_order(shuffle: bool, rng: random.Random | None = None) -> list[int]:
    """The digits in key order: the phone layout, or a fresh random permutation."""
    if not shuffle:
        return list(_PLAIN)
    order = list(_PLAIN)
    (rng or random.SystemRandom()).shuffle(order)
    return order


class PadKey(BigButton):
    """A key of the pad (delete, clear): the size of a digit key."""


class DigitKey(PadKey):
    """One digit key; ``digit`` is what it sends."""

    digit = NumericProperty(0)


class PinPad(GridLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """Ten digit keys plus delete and clear, in four rows of three."""

    controller = ObjectProperty(None, allownone=True)
    shuffle = BooleanProperty(False)
    order = ListProperty(list(_PLAIN))
    delete_text = StringProperty("Delete")
    clear_text = StringProperty("Clear")
    key_size = NumericProperty(150)  # a key's side (pinpad.kv: the theme's, or less if cramped)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cols = 3
        self.fbind("order", lambda *_: self._relabel())
        self._keys: list[DigitKey] = []
        for _ in range(10):
            key = DigitKey(action="pin_digit")
            key.bind(on_release=self._digit)
            self._keys.append(key)
        self.delete_key = PadKey(action="pin_delete", text=self.delete_text)
        self.delete_key.bind(on_release=lambda *_: self._call("pin_delete"))
        self.clear_key = PadKey(action="pin_clear", text=self.clear_text)
        self.clear_key.bind(on_release=lambda *_: self._call("pin_clear"))
        for key in self._keys[:9]:
            self.add_widget(key)
        self.add_widget(self.clear_key)
        self.add_widget(self._keys[9])
        self.add_widget(self.delete_key)
        self.fbind("delete_text", lambda *_: setattr(self.delete_key, "text", self.delete_text))
        self.fbind("clear_text", lambda *_: setattr(self.clear_key, "text", self.clear_text))
        self._relabel()

    @property
    def keys(self) -> list[DigitKey]:
        """The digit keys in screen order (tests find a digit's key here)."""
        return list(self._keys)

    def reshuffle(self) -> None:
        """Lay the digits out afresh (a new PIN entry begins)."""
        self.order = key_order(self.shuffle)

    def _relabel(self) -> None:
        for key, digit in zip(self._keys, self.order, strict=True):
            key.digit = digit
            key.text = str(digit)

    def _digit(self, key: DigitKey) -> None:
        if self.controller is not None:
            self.controller.pin_digit(int(key.digit))

    def _call(self, name: str) -> None:
        if self.controller is not None:
            getattr(self.controller, name)()


class PinDots(Widget):  # type: ignore[misc]  # Kivy has no type stubs
    """``max_length`` circles, the first ``length`` filled: never a digit."""

    length = NumericProperty(0)
    max_length = NumericProperty(6)
    color = ColorProperty("#15202B")
    wrong = BooleanProperty(False)
    wrong_color = ColorProperty("#B3261E")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Drawn once per frame, after layout: drawing on each change could keep the
        # geometry of a step in between (dots off to the left on the first
        # landscape PIN screen).
        self._redraw = Clock.create_trigger(lambda _dt: self._draw(), -1)
        for name in ("length", "max_length", "color", "wrong", "pos", "size"):
            self.fbind(name, self._redraw)
        self._draw()

    def _draw(self) -> None:
        self.canvas.clear()
        n = max(1, int(self.max_length))
        d = min(self.height * 0.8, self.width / (n * 1.6))
        gap = d * 0.6
        x0 = self.center_x - (n * d + (n - 1) * gap) / 2
        y = self.center_y - d / 2
        with self.canvas:
            Color(rgba=self.wrong_color if self.wrong else self.color)
            for i in range(n):
                x = x0 + i * (d + gap)
                if i < self.length:
                    Ellipse(pos=(x, y), size=(d, d))
                else:
                    Line(ellipse=(x, y, d, d), width=max(1.5, d * 0.06))
