"""The demo's side panel: put a demo citizen's card (or the technician's) in, take
it out, run the printer out of paper, press the headset's keys (audio mode, repeat,
slower, the speech language), and see the receipts the simulated printer printed.

Only the demo shows it. The actions are given by the composition root (it owns
the simulated readers and printer); the panel only calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.utils import escape_markup

__all__ = ["DemoActions", "DemoPanel", "PanelButton", "PersonButton"]


@dataclass(frozen=True)
class DemoActions:
    """What the panel can do to the simulated world."""

    people: Sequence[tuple[str, str]]  # (who, button label) for each demo citizen
    insert: Callable[[str], None]
    remove: Callable[[], None]
    receipts: Path  # the printer simulator's output folder (job-NNNN.png)
    paper: Callable[[bool], None] | None = None  # True: paper in; False: paper out
    operators: Sequence[tuple[str, str]] = ()  # (who, label): the technician's card


class PanelButton(ButtonBehavior, Label):  # type: ignore[misc]  # Kivy has no type stubs
    """A plain button of the panel (not themed: the panel is not the kiosk)."""

    action = StringProperty("")
    bg_color = ColorProperty("#2E7D32")


class PersonButton(PanelButton):
    who = StringProperty("")


class DemoPanel(BoxLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """Card buttons on top, the newest receipt below."""

    receipt = StringProperty("")  # path of the newest receipt picture
    count = NumericProperty(0)
    paper_in = BooleanProperty(True)
    actions = ObjectProperty(None)  # DemoActions, given at construction
    guide = ObjectProperty(None, allownone=True)  # the app's AudioGuide, with a headset
    audio_on = BooleanProperty(False)

    def __init__(self, actions: DemoActions, **kwargs: Any) -> None:
        super().__init__(actions=actions, **kwargs)
        # Names through the kiosk's own font fallback (赵䶮: CJK Extension A), as
        # markup: the panel's default font would draw a box.
        app = App.get_running_app()
        self.guide = getattr(app, "guide", None)
        fonts = getattr(app, "fonts", None)
        for who, label in actions.people:
            text = fonts.markup(label) if fonts is not None else escape_markup(label)
            btn = PersonButton(text=text, who=who, action="demo_insert", markup=True)
            btn.bind(on_release=lambda b: self.actions.insert(b.who))
            self.ids.people.add_widget(btn)
        for who, label in actions.operators:
            btn = PersonButton(text=label, who=who, action="demo_insert_operator",
                               bg_color="#6A1B9A")  # fmt: skip
            btn.bind(on_release=lambda b: self.actions.insert(b.who))
            self.ids.operators.add_widget(btn)
        self._poll = Clock.schedule_interval(lambda _dt: self.refresh(), 0.5)

    def headset(self, key: str, voice: str = "") -> None:
        """A headset key, as the kiosk's tactile keys (F5-F8) would press it."""
        if self.guide is None:
            return
        if key == "toggle":
            self.guide.toggle()
        elif key == "repeat":
            self.guide.repeat()
        elif key == "slower":
            self.guide.slower()
        elif key == "voice":
            self.guide.set_voice(voice)

    def refresh(self) -> None:
        """Show the newest receipt the printer simulator saved, and the audio mode."""
        self.audio_on = bool(self.guide is not None and self.guide.on)
        jobs = sorted(self.actions.receipts.glob("job-*.png"))
        if len(jobs) != self.count:
            self.count = len(jobs)
            self.receipt = str(jobs[-1]) if jobs else ""

    def toggle_paper(self) -> None:
        if self.actions.paper is not None:
            self.paper_in = not self.paper_in
            self.actions.paper(self.paper_in)
