"""The Kivy App: thin. It loads the ``.kv`` files, registers the font, builds the
root and wires the controller's events onto the Kivy clock.

Everything the kiosk decides is in ``kiosk.core``; everything drawn is in the
screens. With a headset (``speech``), the audio guide reads every screen aloud
while audio mode is on; the kiosk's tactile keys (F5 headset on/off, F6 repeat, F7
slower, F8 next speech language) reach it as keys. In kiosk mode Escape, F1 (Kivy's
settings) and closing the window do nothing: a citizen must not be able to leave
the kiosk program.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from drivers.speech import SpeechOutput, Voice
from kiosk.core.controller import KioskController
from kiosk.core.views import KioskEvent
from terminal_ui import fonts
from terminal_ui.i18n import Translator
from terminal_ui.screens.base import UiContext
from terminal_ui.speech.guide import AudioGuide
from terminal_ui.theme import Theme

__all__ = ["KV_FILES", "KioskApp", "load_kv"]

log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent
# Shared widgets first: screens' rules use them.
KV_FILES = (
    _HERE / "widgets" / "common.kv",
    _HERE / "widgets" / "pinpad.kv",
    _HERE / "widgets" / "pinyin_keyboard.kv",
    _HERE / "widgets" / "art.kv",
    _HERE / "widgets" / "demo_panel.kv",
    *sorted((_HERE / "screens").glob("*.kv")),
    _HERE / "root.kv",
)
KEY_ESCAPE, KEY_F1 = 27, 282
# The tactile audio keys beside the headset socket (a kiosk keypad sends them as keys).
KEY_HEADSET, KEY_REPEAT, KEY_SLOWER, KEY_VOICE = 286, 287, 288, 289  # F5..F8
_loaded = False


def load_kv() -> None:
    """Load every ``.kv`` file once per process."""
    global _loaded
    if _loaded:
        return
    # The widget classes must be registered (imported) before their rules load.
    import terminal_ui.root
    import terminal_ui.widgets.art
    import terminal_ui.widgets.demo_panel  # noqa: F401

    for path in KV_FILES:
        Builder.load_file(str(path))
    _loaded = True


class KioskApp(App):  # type: ignore[misc]  # Kivy has no type stubs
    """The kiosk window. ``side_panel`` (the demo's card and receipt panel) is put
    beside the kiosk area when given."""

    title = "civicard"

    def __init__(
        self,
        controller: KioskController,
        *,
        languages: tuple[str, ...] = ("zh-Hans", "zh-Hant", "en"),
        shuffle_pin_pad: bool = False,
        kiosk_mode: bool = True,
        animate: bool = True,
        side_panel: Callable[[], Widget] | None = None,
        font_set: fonts.FontSet | None = None,
        kiosk_aspect: float | None = None,
        speech: SpeechOutput | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.controller = controller
        self.kiosk_mode = kiosk_mode
        self.theme = Theme()
        self.fonts = font_set or fonts.find_fonts()
        fonts.register(self.fonts)
        self.ctx = UiContext(
            translator=Translator(languages),
            fonts=self.fonts,
            shuffle_pin_pad=shuffle_pin_pad,
            options={"animate": animate},
        )
        self.languages = languages
        self._side_panel = side_panel
        self._aspect = kiosk_aspect  # width/height of the kiosk area beside a panel
        self.kiosk: Any = None  # the KioskRoot
        self._unsubscribe: Callable[[], None] | None = None
        self._unsubscribe_guide: Callable[[], None] | None = None
        self.guide = (
            AudioGuide(speech, self.ctx.translator,
                       set_language=lambda lang: self.controller.set_language(lang),
                       set_audio_mode=lambda on: self.controller.set_audio_mode(on),
                       more_time=lambda: self.controller.more_time())
            if speech is not None else None
        )  # fmt: skip
        # Subscribe now, before anyone starts the controller: its first screens
        # (ATTRACT, or OUT_OF_SERVICE) wait on the Kivy clock until the root exists.
        self.attach(controller)

    def build(self) -> Widget:
        load_kv()
        from terminal_ui.root import KioskRoot

        self.kiosk = KioskRoot(ctx=self.ctx, controller=self.controller,
                               languages=list(self.languages))  # fmt: skip
        self.kiosk.bind(size=lambda w, size: self.theme.fit(*size))
        if self._side_panel is None:
            return self.kiosk
        box = BoxLayout(orientation="horizontal")
        if self._aspect is not None:
            # The kiosk area keeps a real kiosk's shape (9:16 portrait) whatever the window.
            self.kiosk.size_hint_x = None
            aspect = self._aspect
            box.bind(height=lambda _w, h: setattr(self.kiosk, "width", h * aspect))
        else:
            self.kiosk.size_hint_x = 0.72
        box.add_widget(self.kiosk)
        box.add_widget(self._side_panel())
        return box

    def on_start(self) -> None:
        if self.guide is not None:
            Window.bind(on_keyboard=self._audio_keys)
        if self.kiosk_mode:
            # Bound after App's own F1 handler, so this one is asked first.
            Window.bind(on_keyboard=self._swallow_keys, on_request_close=self._refuse_close)

    def on_stop(self) -> None:
        self.detach()

    def attach(self, controller: KioskController) -> None:
        """Draw ``controller``'s session from now on (tests reuse one window)."""
        self.detach()
        self.controller = controller
        if self.kiosk is not None:
            self.kiosk.controller = controller

        def deliver(fn: Callable[[], None]) -> None:
            # Events come from the core thread: draw them on the Kivy thread.
            Clock.schedule_once(lambda _dt: fn())

        self._unsubscribe = controller.subscribe(self._on_event, deliver=deliver)
        if self.guide is not None:
            # On the core thread: speech needs no window and never waits for a frame.
            self._unsubscribe_guide = controller.subscribe(self.guide.on_event)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._unsubscribe_guide is not None:
            self._unsubscribe_guide()
            self._unsubscribe_guide = None

    def _on_event(self, event: KioskEvent) -> None:
        self.kiosk.handle(event)

    def open_settings(self, *_args: Any) -> bool:
        if self.kiosk_mode:
            return False  # no Kivy settings panel on a kiosk
        return bool(super().open_settings(*_args))

    def _audio_keys(self, _window: Any, key: int, *_args: Any) -> bool:
        guide = self.guide
        if guide is None or key not in (KEY_HEADSET, KEY_REPEAT, KEY_SLOWER, KEY_VOICE):
            return False
        if key == KEY_HEADSET:
            guide.toggle()
        elif key == KEY_REPEAT:
            guide.repeat()
        elif key == KEY_SLOWER:
            guide.slower()
        else:
            voices = list(Voice)
            guide.set_voice(voices[(voices.index(guide.current_voice()) + 1) % len(voices)])
        return True

    def _swallow_keys(self, _window: Any, key: int, *_args: Any) -> bool:
        return key in (KEY_ESCAPE, KEY_F1)

    def _refuse_close(self, *_args: Any, **_kwargs: Any) -> bool:
        log.info("window close refused (kiosk mode)")
        return True
