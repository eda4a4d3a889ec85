"""The kiosk's root widget: language bar, notices, the screens, the timeout banner.

:meth:`KioskRoot.handle` takes every :data:`kiosk.core.views.KioskEvent` (on the
Kivy thread) and draws it; it is the only place that picks the screen for a state.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.core.views import (
    KioskEvent,
    Progress,
    Screen,
    ScreenChanged,
    TimeoutCleared,
    TimeoutWarning,
)
from kiosk.journeys.citizen_states import State
from terminal_ui import texts
from terminal_ui.screens.attract import AttractScreen
from terminal_ui.screens.base import SCREEN_FOR_STATE, KioskScreen
from terminal_ui.screens.busy import BusyScreen
from terminal_ui.screens.card_refused import CardRefusedScreen
from terminal_ui.screens.confirm import ConfirmScreen
from terminal_ui.screens.done import DoneScreen
from terminal_ui.screens.form import FormScreen
from terminal_ui.screens.info import InfoScreen
from terminal_ui.screens.maintenance import MaintenanceScreen
from terminal_ui.screens.menu import MenuScreen
from terminal_ui.screens.no_paper import NoPaperScreen
from terminal_ui.screens.out_of_service import OutOfServiceScreen
from terminal_ui.screens.pin import PinScreen
from terminal_ui.screens.take_card import TakeCardScreen

__all__ = ["LANGUAGE_NAMES", "SCREENS", "KioskRoot"]

SCREENS: dict[str, type[KioskScreen]] = {
    "out_of_service": OutOfServiceScreen,
    "attract": AttractScreen,
    "busy": BusyScreen,
    "card_refused": CardRefusedScreen,
    "pin": PinScreen,
    "menu": MenuScreen,
    "form": FormScreen,
    "info": InfoScreen,
    "confirm": ConfirmScreen,
    "no_paper": NoPaperScreen,
    "done": DoneScreen,
    "take_card": TakeCardScreen,
    "maintenance": MaintenanceScreen,
}
NOTICE_ON_ATTRACT_S = 20.0  # how long the last session's notice stays for the next citizen
# Each language button names its language in that language.
LANGUAGE_NAMES = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}


class KioskRoot(FloatLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """Everything inside the kiosk window (the demo adds its panel beside it)."""

    controller = ObjectProperty(None, allownone=True)
    ctx = ObjectProperty(None)
    language = StringProperty("zh-Hans")
    languages = ListProperty(["zh-Hans", "zh-Hant", "en"])
    elder = BooleanProperty(False)
    notice = StringProperty("")  # words, already translated
    warning = BooleanProperty(False)  # the timeout banner is up
    seconds_left = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view: Screen | None = None
        self._notice_codes: tuple[str, ...] = ()
        self._countdown: Any = None
        self._notice_timer: Any = None
        self._expired: tuple[str, ...] = ()
        sm: ScreenManager = self.ids.screens
        sm.transition = NoTransition()  # instant: a kiosk has no time for slides
        # Screens are built when first shown: one a session never reaches (the
        # technician's pages, a refused card) costs no widgets and no text textures.
        self.screen("attract")
        sm.current = "attract"
        self.fbind("controller", self._rebind)

    # -- what tests and the app call ---------------------------------------------------
    @property
    def screen_manager(self) -> ScreenManager:
        return self.ids.screens

    def screen(self, name: str | None = None) -> KioskScreen:
        """The screen called ``name`` (default: the one showing), built the first time."""
        sm: ScreenManager = self.ids.screens
        name = name or sm.current
        if not sm.has_screen(name):
            sm.add_widget(SCREENS[name](name=name, ctx=self.ctx, controller=self.controller))
        screen: KioskScreen = sm.get_screen(name)
        return screen

    def t(self, msgid: str, *_bind: Any) -> str:
        return "" if not msgid else str(self.ctx.translator.gettext(msgid, self.language))

    def handle(self, event: KioskEvent) -> None:
        """Draw one event from the core (on the Kivy thread)."""
        if isinstance(event, ScreenChanged):
            self.show(event.screen)
        elif isinstance(event, Progress):
            self.screen().progress(event)
        elif isinstance(event, TimeoutWarning):
            self._warn(event.seconds_left)
        elif isinstance(event, TimeoutCleared):
            self._unwarn()

    def show(self, view: Screen) -> None:
        """Show the screen for ``view.state`` and draw ``view`` on it."""
        self.view = view
        self.language = view.language.value
        self.elder = view.elder_mode
        app = App.get_running_app()
        if app is not None and getattr(app, "theme", None) is not None:
            app.theme.elder = view.elder_mode
        codes = tuple(view.notices)
        if view.state is State.OUT_OF_SERVICE:
            codes = ()  # there the notice is the reason, for the staff line of the screen
        on_attract = view.state is State.ATTRACT
        if not on_attract:
            self._expired = ()
        elif codes == self._expired:
            codes = ()  # shown long enough already; a language switch must not revive it
        if codes != self._notice_codes:
            self._notice_codes = codes
            if self._notice_timer is not None:
                self._notice_timer.cancel()
                self._notice_timer = None
            if codes and on_attract:
                # What happened to the last citizen is not the next one's business.
                self._notice_timer = Clock.schedule_once(self._expire_notice,
                                                         NOTICE_ON_ATTRACT_S)  # fmt: skip
        self._draw_notice()
        name = SCREEN_FOR_STATE[view.state]
        if view.card is None and self.ids.screens.has_screen("menu"):
            menu: Any = self.screen("menu")
            menu.reset()  # the next citizen starts at the menu's groups
        screen = self.screen(name)
        screen.show(view)
        sm: ScreenManager = self.ids.screens
        if sm.current != name:
            sm.current = name

    def _expire_notice(self, _dt: float) -> None:
        self._notice_timer = None
        self._expired = self._notice_codes
        self._notice_codes = ()
        self._draw_notice()

    # -- the bar on top ----------------------------------------------------------------
    def choose_language(self, language: str) -> None:
        if self.controller is not None:
            self.controller.set_language(language)

    def toggle_elder(self) -> None:
        if self.controller is not None:
            self.controller.set_elder_mode(not self.elder)

    def on_language(self, *_args: Any) -> None:
        self._draw_notice()

    # -- internals ---------------------------------------------------------------------
    def _rebind(self, *_args: Any) -> None:
        for screen in self.ids.screens.screens:
            screen.controller = self.controller

    def _draw_notice(self) -> None:
        words = [self.t(texts.lookup(texts.NOTICES, c, texts.NOTICE_UNKNOWN))
                 for c in self._notice_codes]  # fmt: skip
        self.notice = "\n".join(words)

    def _warn(self, seconds_left: float) -> None:
        self.warning = True
        self.seconds_left = max(0, round(seconds_left))
        if self._countdown is None:
            self._countdown = Clock.schedule_interval(self._tick, 1.0)

    def _tick(self, _dt: float) -> None:
        self.seconds_left = max(0, self.seconds_left - 1)

    def _unwarn(self) -> None:
        self.warning = False
        if self._countdown is not None:
            self._countdown.cancel()
            self._countdown = None

    def more_time(self) -> None:
        if self.controller is not None:
            self.controller.more_time()
