"""Big touch targets and text blocks (their look is in ``common.kv``)."""

from __future__ import annotations

from typing import Any

from kivy.properties import ColorProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label

__all__ = ["BigButton", "Para", "fit_font"]


def fit_font(text: str, width: float, most: float) -> float:
    """The font size (at most ``most``) at which ``text`` fits ``width`` on one line:
    a Chinese character is about a font size wide, a Latin letter about 0.6 of one."""
    units = sum(1.08 if ord(c) >= 0x2E80 else 0.62 for c in text) or 1.0
    return max(1.0, min(most, width / units))


class BigButton(ButtonBehavior, Label):  # type: ignore[misc]  # Kivy has no type stubs
    """A large rounded button. ``action`` names it for tests and the audit of taps."""

    bg_color = ColorProperty("#0B5CAD")
    fg_color = ColorProperty("#FFFFFF")
    action = StringProperty("")


class Para(Label):  # type: ignore[misc]  # Kivy has no type stubs
    """A wrapping paragraph that never leaves one character alone on its last line.

    Chinese wraps between any two characters, so a sentence one character too long
    for its width ends with that character (or its full stop) alone on a line. When
    that happens the paragraph narrows itself by a character at a time (up to
    three) until the last line holds at least two."""

    _MOST = 3

    def __init__(self, **kwargs: Any) -> None:
        self._squeeze = 0
        super().__init__(**kwargs)
        for name in ("text", "width", "font_size", "text_size"):
            self.fbind(name, self._reset)
        self._checking = False
        self.fbind("texture", self._check)  # set anew on every re-render

    def _reset(self, *_args: Any) -> None:
        if self._squeeze:
            self._squeeze = 0
            self.padding = [0.0, 0.0, 0.0, 0.0]

    def _check(self, *_args: Any) -> None:
        if self._checking:
            return
        self._checking = True
        try:
            self._unorphan()
        finally:
            self._checking = False

    def _unorphan(self) -> None:
        while self._squeeze < self._MOST:
            lines = [ln for ln in self.lines() if ln.strip()]
            if len(lines) < 2 or len(lines[-1].strip()) != 1:
                return
            self._squeeze += 1
            room = self._squeeze * float(self.font_size)
            centred = self.halign == "center"
            side = room / 2 if centred else 0.0
            self.padding = [side, 0.0, room - side, 0.0]
            self.texture_update()  # lay the lines out again now, to look at them

    def lines(self) -> list[str]:
        """The text of each line as laid out now."""
        core = getattr(self, "_label", None)
        return ["".join(str(w.text) for w in getattr(line, "words", []))
                for line in (getattr(core, "_cached_lines", None) or [])]  # fmt: skip
