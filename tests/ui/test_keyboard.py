"""The pinyin keyboard through real touches in the kiosk's window: a text field of a
form typed in Chinese by pinyin and by initials, paged candidates, Traditional,
Latin letters, digits and signs, delete and clear — the form's controller gets
every value as the citizen builds it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ui


class FormController:
    """What the form screen calls; keeps the field values as the core would."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def set_field(self, name: str, value: str) -> None:
        self.values[name] = value

    def focus_field(self, name: str) -> None:
        pass

    def back(self) -> None:
        pass

    def submit_form(self) -> None:
        pass


def _view(language: str, value: str = "") -> Any:
    from kiosk.core.views import FieldView, FormView, Language, Screen
    from kiosk.journeys.citizen_states import State

    field = FieldView(name="full_name", label="姓名", kind="text", value=value, required=True,
                      focused=True)  # fmt: skip
    form = FormView(service_id="feedback", title="意见反馈", fields=(field,))
    return Screen(state=State.FORM, language=Language(language), elder_mode=False, form=form)


@pytest.fixture
def form(ui_world: Any) -> Iterator[tuple[Any, FormController]]:
    """A form screen with one name field, on top of the kiosk in the shared window."""
    from kivy.core.window import Window

    from terminal_ui.screens.form import FormScreen

    d = ui_world.driver
    lexicon = d.app.ctx.lexicon
    if not lexicon.loaded and lexicon._thread is None:
        # Nothing has typed on this screen yet: the dictionary is not loaded. (Whether
        # OpenCC is imported is checked in a fresh process below: other tests of this
        # process may have imported it.)
        assert not lexicon.loaded
    controller = FormController()
    screen = FormScreen(name="kbd-test", ctx=d.app.ctx, controller=controller)
    screen.size = Window.size
    Window.add_widget(screen)
    screen.show(_view("zh-Hans"))
    d.pump(3)
    try:
        yield screen, controller
    finally:
        Window.remove_widget(screen)
        d.pump(2)


def _keyboard(screen: Any) -> Any:
    from terminal_ui.widgets.pinyin_keyboard import PinyinKeyboard

    return next(w for w in screen.walk() if isinstance(w, PinyinKeyboard))


def _type(d: Any, kb: Any, letters: str) -> None:
    for ch in letters:
        d.tap(kb.key_for(ch))


def _pick(d: Any, kb: Any, word: str, pages: int = 12) -> None:
    for _ in range(pages):
        for b in kb.candidate_buttons:
            if b.word == word:
                d.tap(b)
                return
        assert not kb.next_key.disabled, f"{word!r} not offered: {kb.candidates_shown()}"
        d.tap(kb.next_key)
    raise AssertionError(f"{word!r} not within {pages} pages")


def test_name_by_initials_and_by_pinyin(ui_world: Any, form: Any) -> None:
    d = ui_world.driver
    screen, controller = form
    kb = _keyboard(screen)
    _type(d, kb, "nh")
    d.wait_for(lambda: "你好" in kb.candidates_shown(), what="你好 for nh")
    assert kb.preedit == "n'h"
    row = next(r for r in screen.ids.rows.children if r.name == "full_name")
    assert row.preedit == "n'h"  # the field shows the composition, underlined
    d.tap(kb.clear_key)
    assert kb.preedit == "" and controller.values.get("full_name", "") == ""
    _type(d, kb, "zw")
    _pick(d, kb, "张伟")  # a name field: surname-led words first
    assert controller.values["full_name"] == "张伟"
    d.tap(kb.delete_key)  # nothing composing: deletes from the field
    assert controller.values["full_name"] == "张"
    d.tap(kb.clear_key)
    _type(d, kb, "zhaoyan")
    _pick(d, kb, "赵")
    assert kb.preedit == "赵yan"
    _pick(d, kb, "䶮")  # a rare name character, kept for names
    assert controller.values["full_name"] == "赵䶮"


def test_sentence_paging_traditional_latin_and_signs(ui_world: Any, form: Any) -> None:
    d = ui_world.driver
    screen, controller = form
    kb = _keyboard(screen)
    _type(d, kb, "s")
    first = kb.candidates_shown()
    assert kb.prev_key.disabled and not kb.next_key.disabled
    d.tap(kb.next_key)
    assert kb.candidates_shown() != first and not kb.prev_key.disabled
    d.tap(kb.prev_key)
    assert kb.candidates_shown() == first
    d.tap(kb.delete_key)  # the letter, not the field
    assert kb.preedit == "" and "full_name" not in controller.values
    _type(d, kb, "wodeyinhangkadiule")
    _pick(d, kb, "我的银行卡丢了")
    assert controller.values["full_name"] == "我的银行卡丢了"
    d.tap(kb.clear_key)
    d.tap(kb.script_key)  # 简 → 繁
    _type(d, kb, "yinhang")
    _pick(d, kb, "銀行")
    d.tap(kb.mode_key)  # Latin letters
    for ch in "A1B":
        if ch.isdigit():
            d.tap(kb.digits_key)
            d.tap(kb.key_for(ch))
            d.tap(kb.digits_key)
        else:
            d.tap(kb.key_for(ch))
    assert controller.values["full_name"] == "銀行A1B"
    d.tap(kb.digits_key)
    d.tap(kb.key_for("·"))
    assert controller.values["full_name"].endswith("·")


def test_keyboard_script_follows_the_language(ui_world: Any, form: Any) -> None:
    d = ui_world.driver
    screen, _controller = form
    screen.show(_view("zh-Hant"))
    d.pump(2)
    kb = _keyboard(screen)
    assert kb.script == "hant"
    _type(d, kb, "nihao")
    assert kb.candidates_shown()[0] == "你好"
    _type(d, kb, "zhongguo")
    assert "你好中國" in kb.candidates_shown()


def test_an_amount_out_of_range_says_the_range(ui_world: Any, form: Any) -> None:
    from kiosk.core.views import FieldView, FormView, Language, Screen
    from kiosk.journeys.citizen_states import State

    screen, _controller = form
    field = FieldView(name="amount", label="金额", kind="amount", value="1", required=True,
                      error="out_of_range", focused=True, min_fen=1000, max_fen=50000)  # fmt: skip
    view = Screen(state=State.FORM, language=Language.ZH_HANS, elder_mode=False,
                  form=FormView(service_id="top_up", title="充值", fields=(field,)))  # fmt: skip
    screen.show(view)
    ui_world.driver.pump(2)
    row = next(r for r in screen.ids.rows.children if r.name == "amount")
    assert row.error == "请输入 ¥10.00 至 ¥500.00 之间的金额。"


def test_menu_search_by_initials(ui: Any) -> None:
    """On the menu, "Search", then s f: the water and electricity bills (水费, 电费)
    are what is left; tapping one opens its form."""
    d = ui.driver
    ui.insert_and_pin("2")
    ui.menu()
    d.press("menu_search")
    for ch in "sf":
        d.press("type", char=ch)
    menu = d.kiosk.screen("menu")
    d.wait_for(lambda: menu.query == "sf", what="typed sf")
    found = {b.service_id for b in menu.buttons()}
    assert "water_bill" in found and "balance" not in found, found
    ui.snap("menu-search")
    d.open_service("water_bill")
    d.press("choose_service", service_id="water_bill")
    d.wait_screen("form")
    d.press("back")
    d.wait_screen("menu")
    assert not menu.searching  # a new visit starts without the search
    ui.finish_and_take_card()


def test_the_kiosk_screen_starts_without_the_dictionary_or_opencc() -> None:
    """Start-up and memory do not grow for citizens who never type: importing the
    kiosk screen, its form screen and the input engine loads neither."""
    import subprocess

    code = (
        "import sys\n"
        "import terminal_ui.app, terminal_ui.screens.form, terminal_ui.ime\n"
        "assert 'opencc' not in sys.modules, 'opencc imported at start-up'\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "KIVY_NO_ARGS": "1", "PYTHONPATH": str(root)}
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
