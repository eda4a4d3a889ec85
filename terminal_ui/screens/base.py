"""What every kiosk screen shares: the controller, the words, the fonts.

A screen draws a :class:`kiosk.core.views.Screen` value (:meth:`KioskScreen.show`)
and calls the controller when the citizen touches something; it never reaches
into the core and keeps no state of its own beyond what it draws.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen as KivyScreen

from kiosk.core.views import Progress, Screen
from kiosk.journeys.citizen_states import State
from kiosk.journeys.maintenance import Maintenance
from kiosk.journeys.queue import Queue
from kiosk.money import format_fen
from terminal_ui.fonts import FontSet
from terminal_ui.i18n import Translator
from terminal_ui.ime.lexicon import LazyLexicon

__all__ = ["SCREEN_FOR_STATE", "KioskScreen", "UiContext", "short_mask"]

_MASK_RUN = re.compile(r"\*{3,}")


def short_mask(holder_masked: str) -> str:
    """A masked name with its run of stars cut to two ("*******提" -> "**提"): the
    stars say only how long the hidden part is, which the holder need not read
    (nor anyone behind them learn)."""
    return _MASK_RUN.sub("**", holder_masked)


# Which screen draws which state: the busy states share the progress screen.
SCREEN_FOR_STATE: dict[StrEnum, str] = {
    State.OUT_OF_SERVICE: "out_of_service",
    State.ATTRACT: "attract",
    State.CHECKING_CARD: "busy",
    State.VERIFYING_PIN: "busy",
    State.PREPARING: "busy",
    State.CHECKING_PRINTER: "busy",
    State.PROCESSING: "busy",
    State.PRINTING: "busy",
    State.CARD_REFUSED: "card_refused",
    State.PIN_ENTRY: "pin",
    State.MENU: "menu",
    State.FORM: "form",
    State.INFO: "info",
    State.CONFIRM: "confirm",
    State.NO_PAPER: "no_paper",
    State.DONE: "done",
    State.TAKE_CARD: "take_card",
    Maintenance.PIN_ENTRY: "pin",
    Maintenance.VERIFYING_PIN: "busy",
    Maintenance.WORKING: "busy",
    **{
        s: "maintenance"
        for s in (
            Maintenance.HOME,
            Maintenance.STATUS,
            Maintenance.TESTS,
            Maintenance.REASON,
            Maintenance.RESULT,
            Maintenance.LINES,
        )
    },
    Maintenance.TAKE_CARD: "take_card",
    # the hall's queue number, without a card
    Queue.LOADING: "busy",
    Queue.CHOOSE: "form",
    Queue.TAKING: "busy",
    Queue.NUMBER: "done",
}


@dataclass(frozen=True)
class UiContext:
    """What the screens need besides the controller (made once by the app)."""

    translator: Translator
    fonts: FontSet | None = None  # None: no fallback fonts (markup still escaped)
    shuffle_pin_pad: bool = False
    # The pinyin dictionary, read the first time a keyboard appears (never at start-up).
    lexicon: LazyLexicon = field(default_factory=LazyLexicon)
    options: dict[str, Any] = field(default_factory=dict)


class KioskScreen(KivyScreen):  # type: ignore[misc]  # Kivy has no type stubs
    """Base of the kiosk's screens. Subclasses draw in :meth:`update`."""

    controller = ObjectProperty(None, allownone=True)
    ctx = ObjectProperty(None)
    view = ObjectProperty(None, allownone=True)
    language = StringProperty("zh-Hans")  # kv binds on it so words change at once
    elder = BooleanProperty(False)

    def t(self, msgid: str, *_bind: Any) -> str:
        """``msgid`` in the screen's language. The ``.kv`` passes ``root.language`` as
        an extra argument only so that Kivy re-evaluates the text when it changes."""
        if not msgid:
            return ""
        return str(self.ctx.translator.gettext(msgid, self.language))

    def fx(self, text: str) -> str:
        """Text from outside (names, catalog titles) as markup: escaped, with a
        fallback font for rare characters the main font lacks."""
        fonts: FontSet | None = self.ctx.fonts
        if fonts is None:
            return text.replace("&", "&amp;").replace("[", "&bl;").replace("]", "&br;")
        return fonts.markup(text)

    @staticmethod
    def money(fen: int | None) -> str:
        return "" if fen is None else format_fen(fen)

    @property
    def portrait(self) -> bool:
        """Whether the kiosk area is taller than wide (the theme knows)."""
        app = App.get_running_app()
        theme = getattr(app, "theme", None)
        return bool(theme.portrait) if theme is not None else True

    def show(self, view: Screen) -> None:
        """Draw ``view`` (called on the Kivy thread for each ScreenChanged)."""
        self.language = view.language.value
        self.elder = view.elder_mode
        self.view = view
        self.update(view)

    def update(self, view: Screen) -> None:
        """Subclasses fill their properties from ``view``."""

    def progress(self, event: Progress) -> None:
        """A busy step's progress (only the busy screen draws it)."""
