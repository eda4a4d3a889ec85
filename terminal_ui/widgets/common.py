"""Big touch targets and text blocks (their look is in ``common.kv``)."""

from __future__ import annotations

from kivy.properties import ColorProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label

__all__ = ["BigButton"]


class BigButton(ButtonBehavior, Label):  # type: ignore[misc]  # Kivy has no type stubs
    """A large rounded button. ``action`` names it for tests and the audit of taps."""

    bg_color = ColorProperty("#0B5CAD")
    fg_color = ColorProperty("#FFFFFF")
    action = StringProperty("")
