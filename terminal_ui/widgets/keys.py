"""On-screen keys for form fields (Kivy has no input method on a kiosk)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kivy.properties import NumericProperty, StringProperty
from kivy.uix.gridlayout import GridLayout

from terminal_ui.widgets.common import BigButton

__all__ = ["ALNUM", "AMOUNT", "DIGITS", "CharKey", "CharKeys"]

DIGITS = tuple("1234567890")
AMOUNT = (*tuple("1234567890"), ".")
ALNUM = (*tuple("1234567890"), *tuple("ABCDEFGHJKLMNPQRSTUVWXYZ"), "-")  # no I/O: plates


class CharKey(BigButton):
    """A key typing ``char`` (``char`` "" with ``edit`` "delete"/"clear" edits)."""

    char = StringProperty("")
    edit = StringProperty("")


class CharKeys(GridLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """A grid of keys; each press calls ``on_key(char, edit)``."""

    key_height = NumericProperty(100)

    def __init__(
        self,
        chars: Sequence[str],
        on_key: Callable[[str, str], None],
        *,
        delete_text: str,
        clear_text: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cols = 3 if len(chars) <= 12 else 7
        self._on_key = on_key
        for ch in chars:
            self._add(CharKey(text=ch, char=ch, action="type"))
        self._add(CharKey(text=delete_text, edit="delete", action="delete"))
        self._add(CharKey(text=clear_text, edit="clear", action="clear"))

    def _add(self, key: CharKey) -> None:
        key.bind(on_release=lambda k: self._on_key(k.char, k.edit))
        self.add_widget(key)

    def key_for(self, char: str) -> CharKey:
        """The key typing ``char`` (tests)."""
        return next(k for k in self.children if isinstance(k, CharKey) and k.char == char)
