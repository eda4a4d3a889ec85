"""The counter station's Kivy App: thin. It loads the ``.kv`` files, registers the font,
builds the root and puts the station's views on the Kivy clock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.widget import Widget

from terminal_ui import fonts
from terminal_ui.counter.screens import CounterRoot, DemoDevices
from terminal_ui.counter.station import Station, StationView
from terminal_ui.i18n import Translator
from terminal_ui.ime.lexicon import LazyLexicon
from terminal_ui.theme import Theme

__all__ = ["CounterApp", "load_counter_kv"]

_KV = Path(__file__).resolve().parent / "station.kv"
_loaded = False


def load_counter_kv() -> None:
    """The toolkit's shared rules, then the counter's (once per process)."""
    global _loaded
    if _loaded:
        return
    from terminal_ui.app import load_kv

    load_kv()
    Builder.load_file(str(_KV))
    _loaded = True


class CounterApp(App):  # type: ignore[misc]  # Kivy has no type stubs
    """The station's window; ``demo`` adds the TEST ONLY device buttons."""

    title = "civicard counter"

    def __init__(
        self,
        station: Station,
        *,
        demo: Callable[[], DemoDevices] | None = None,
        language: str = "zh-Hans",
        font_set: fonts.FontSet | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.station = station
        self.theme = Theme()
        self.fonts = font_set or fonts.find_fonts()
        fonts.register(self.fonts)
        self.translator = Translator()
        self._language = language
        self._demo = demo
        self.counter: CounterRoot | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def t(self, msgid: str, language: str) -> str:
        """Words for widgets outside a screen (the citizen's side, the demo's buttons)."""
        return str(self.translator.gettext(msgid, language)) if msgid else ""

    def build(self) -> Widget:
        load_counter_kv()
        demo = self._demo() if self._demo is not None else None
        root = CounterRoot(station=self.station, translator=self.translator, fonts=self.fonts,
                           lexicon=LazyLexicon(), demo=demo)  # fmt: skip
        root.bind(size=lambda w, size: self.theme.fit(*size))
        self.counter = root
        root.choose_language(self._language)

        def on_view(view: StationView) -> None:
            root.show(view)

        # Views come from the station's worker too: draw them on the Kivy thread.
        self.station.set_deliver(lambda fn: Clock.schedule_once(lambda _dt: fn()))
        self._unsubscribe = self.station.subscribe(on_view)
        return root

    def on_stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
