"""The kiosk's promises that are not a journey: kiosk mode keys, the PIN pad, the
font for all three languages, complete catalogs, both screen shapes."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[2]


def test_kiosk_mode_swallows_escape_f1_and_window_close(ui_world: Any) -> None:
    from kivy.core.window import Window

    from terminal_ui.app import KEY_ESCAPE, KEY_F1

    app = ui_world.driver.app
    assert app.kiosk_mode
    for key in (KEY_ESCAPE, KEY_F1):
        # dispatch returns True when a handler consumed the key: nobody else sees it
        assert Window.dispatch("on_keyboard", key, 0, None, []) is True
    assert Window.dispatch("on_keyboard", ord("a"), 0, "a", []) is not True
    assert Window.dispatch("on_request_close") is True
    assert app.open_settings() is False
    ui_world.driver.pump(2)
    assert ui_world.driver.kiosk.screen_manager.current == "attract"  # still running


def test_pin_pad_layouts() -> None:
    from terminal_ui.widgets.pinpad import key_order

    assert key_order(False) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    rng = random.Random(1)
    orders = {tuple(key_order(True, rng)) for _ in range(20)}
    assert all(sorted(o) == list(range(10)) for o in orders)
    assert len(orders) > 15  # a fresh layout nearly every time


def test_shuffled_pin_pad_sends_the_digit_on_the_key_and_shows_only_dots(ui_world: Any) -> None:
    from terminal_ui.widgets.pinpad import PinDots, PinPad

    sent: list[int] = []

    class Recorder:
        def pin_digit(self, d: int) -> None:
            sent.append(d)

    pad = PinPad(controller=Recorder(), shuffle=True)
    pad.reshuffle()
    labels = [k.text for k in pad.keys]
    assert sorted(labels) == [str(d) for d in range(10)]
    for key in pad.keys:
        key.dispatch("on_release")
    assert sent == [int(t) for t in labels]
    dots = PinDots(length=3, max_length=6)
    assert not hasattr(dots, "text")  # nothing there could hold a digit


@pytest.mark.parametrize("char", ["请", "請", "龍", "A", "¥", "●"])
def test_the_cjk_font_draws_all_three_languages(ui_world: Any, char: str) -> None:
    from terminal_ui.fonts import covers

    fonts = ui_world.driver.app.fonts
    assert covers(fonts.primary, char)


def test_a_character_no_font_has_shows_as_a_visible_box(ui_world: Any) -> None:
    from kivy.core.text import Label as CoreLabel

    fonts = ui_world.driver.app.fonts
    # 䶮 (CJK Extension A, in a demo citizen's name): drawn by a fallback font when
    # one is installed, else the primary font's visible "missing" box — never blank.
    rare = "䶮"
    label = CoreLabel(text=fonts.markup(rare), font_size=48, markup=True)
    label.refresh()
    pixels = bytes(label.texture.pixels)
    assert any(pixels[3::4]), "something is drawn"
    if fonts.font_for(rare) not in (None, fonts.primary):
        assert "[font=" in fonts.markup(rare)


def test_markup_escapes_names() -> None:
    from terminal_ui.fonts import _escape

    assert "".join(map(_escape, "[b]A&B[/b]")) == "&bl;b&br;A&amp;B&bl;/b&br;"


def test_catalogs_translate_every_message() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("ui_messages", ROOT / "scripts/ui_messages.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert len(mod.extract()) > 100
    assert mod.check() == []


def test_each_language_has_its_own_words() -> None:
    from terminal_ui.i18n import Translator

    t = Translator()
    msg = "Please insert your citizen card"
    words = {lang: t.gettext(msg, lang) for lang in t.languages}
    assert words == {"zh-Hans": "请插入您的市民卡", "zh-Hant": "請插入您的市民卡", "en": msg}


def test_landscape_screen_lays_the_menu_out_in_three_columns(ui: Any) -> None:
    from kivy.core.window import Window

    d = ui.driver
    theme = d.app.theme
    portrait_size = tuple(Window.size)
    Window.size = (portrait_size[1], portrait_size[0])
    try:
        d.wait_for(lambda: not theme.portrait, what="landscape theme")
        ui.attract()
        ui.insert_and_pin("1")
        ui.menu()
        grids = [w for w in d.kiosk.screen("menu").ids.groups.children if hasattr(w, "cols")]
        assert grids and all(g.cols == 3 for g in grids)
        ui.finish_and_take_card()
    finally:
        Window.size = portrait_size
        d.wait_for(lambda: theme.portrait, what="portrait theme")


def test_busy_and_out_of_service_screens_draw_their_views(ui: Any) -> None:
    """Screens the journeys pass too fast to photograph, drawn from the core's views."""
    from kiosk.core.views import Language, Progress, Screen
    from kiosk.journeys.citizen_states import State

    d = ui.driver
    before = d.kiosk.view
    try:
        view = Screen(State.CHECKING_CARD, Language.EN, False, busy="reading_card",
                      cancellable=True)  # fmt: skip
        d.kiosk.show(view)
        d.kiosk.handle(Progress("authenticating", 0.7))
        busy = d.wait_screen("busy")
        assert busy.fraction == pytest.approx(0.7)
        assert busy.t(busy.step) == "Checking the card is genuine…"
        assert d.find("cancel") is not None
        ui.snap("busy")
        d.kiosk.show(Screen(State.OUT_OF_SERVICE, Language.ZH_HANT, False, notices=("no_psam",)))
        oos = d.wait_screen("out_of_service")
        assert oos.t(oos.what) == "本機暫停服務。"
        assert d.kiosk.notice == ""  # the reason is for staff, in small type, not a banner
        ui.snap("out-of-service")
    finally:
        d.kiosk.show(before)
        d.wait_screen("attract")


def test_the_demo_panel_draws_rare_names_through_the_font_fallback(
    ui_world: Any, tmp_path: Path
) -> None:
    from terminal_ui.widgets.demo_panel import DemoActions, DemoPanel, PersonButton

    fonts = ui_world.driver.app.fonts
    label = "赵䶮 202501"
    panel = DemoPanel(DemoActions(people=[("4", label)], insert=lambda _w: None,
                                  remove=lambda: None, receipts=tmp_path))  # fmt: skip
    try:
        (btn,) = [w for w in panel.walk() if isinstance(w, PersonButton)]
        assert btn.markup and btn.text == fonts.markup(label)
    finally:
        panel._poll.cancel()
