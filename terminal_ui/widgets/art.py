"""The card-and-slot picture of the attract and "take your card" screens, and the
success tick of the done screen."""

from __future__ import annotations

from kivy.properties import BooleanProperty, ColorProperty, NumericProperty
from kivy.uix.widget import Widget

__all__ = ["CardArt", "Tick"]


class CardArt(Widget):  # type: ignore[misc]  # Kivy has no type stubs
    """A card over a slot; ``phase`` 0 is out of the slot, 1 fully in (drawn in kv).
    The screens animate ``phase`` (in for attract, out for "take your card")."""

    phase = NumericProperty(0.0)
    card_color = ColorProperty("#0B5CAD")
    slot_color = ColorProperty("#15202B")
    chip_color = ColorProperty("#E8C25A")
    arrow_up = BooleanProperty(False)  # True: the arrow points out of the slot


class Tick(Widget):  # type: ignore[misc]  # Kivy has no type stubs
    """A drawn check mark (drawn in kv): a font's "✓" came out as a square-root
    sign (√), which reads as mathematics, not as "done"."""

    color = ColorProperty("#1E7B34")
