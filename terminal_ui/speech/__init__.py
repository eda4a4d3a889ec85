"""Spoken guidance (audio mode): what each screen says, from the core's views, and
the guide that says it through the headset (``drivers.speech``). No Kivy here: it
works without a screen. See docs/ui.md, "Spoken guidance"."""

from terminal_ui.speech.compose import Speech, compose
from terminal_ui.speech.guide import AudioGuide

__all__ = ["AudioGuide", "Speech", "compose"]
