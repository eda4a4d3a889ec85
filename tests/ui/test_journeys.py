"""Whole citizen journeys through the real widgets: taps, the PIN pad, confirm, take
card; against the card/PSAM/printer simulators and a real central on loopback.
Each checks what the screen says and what the card, the central and the printer
hold afterwards."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.ui

# (language, demo citizen, bill, account): each journey its own citizen and bill.
BILL_JOURNEYS = [
    ("zh-Hans", "1", "water_bill", "1000001"),
    ("zh-Hant", "3", "electricity_bill", "1000003"),
    ("en", "5", "water_bill", "1000005"),
]


def _texts(widget: Any) -> str:
    """Every text drawn under ``widget`` (labels and buttons), joined."""
    return "\n".join(str(w.text) for w in widget.walk(restrict=True) if hasattr(w, "text"))


def _focused(form: Any) -> str | None:
    return next((str(r.name) for r in form.ids.rows.children if r.focused), None)


def _screen_text(ui: Any) -> str:
    return _texts(ui.driver.kiosk.screen()) + "\n" + str(ui.driver.kiosk.notice)


@pytest.mark.parametrize(("language", "who", "bill", "account"), BILL_JOURNEYS)
def test_pay_a_bill(ui: Any, language: str, who: str, bill: str, account: str) -> None:
    w = ui.ui_world.world
    before = w.card_balance(who)
    jobs_before = len(w.printer_sim.jobs)
    ui.attract(snap=False)
    ui.set_language(language)
    ui.snap("attract")
    want = {"zh-Hans": "请插入您的市民卡", "zh-Hant": "請插入您的市民卡",
            "en": "Please insert your citizen card"}[language]  # fmt: skip
    assert want in _screen_text(ui)
    ui.insert_and_pin(who)
    ui.menu()
    ui.balance()
    info_balance = ui.driver.kiosk.screen("info").balance
    assert info_balance.endswith(f"{before // 100}.{before % 100:02d}")
    ui.pay_bill(bill, account)
    done = ui.driver.kiosk.screen("done")
    assert done.ok, _screen_text(ui)
    paid = {"zh-Hans": "缴费成功", "zh-Hant": "繳費成功", "en": "Paid"}[language]
    assert paid in _screen_text(ui)
    amount = before - w.card_balance(who)
    assert amount > 0 and done.amount.endswith(f"{amount // 100}.{amount % 100:02d}")
    ui.finish_and_take_card()
    # The receipt came out of the (simulated) printer, in the citizen's language.
    jobs = w.printer_sim.wait_for_jobs(jobs_before + 1)
    assert account in jobs[-1].text
    # The language went back to the first one for the next citizen.
    ui.driver.wait_for(lambda: ui.driver.kiosk.language == "zh-Hans", what="language reset")


@pytest.mark.parametrize(("language", "who"), [("zh-Hans", "1"), ("zh-Hant", "2"), ("en", "5")])
def test_elder_mode_balance_history_and_a_fixed_price_service(
    ui: Any, language: str, who: str
) -> None:
    theme = ui.driver.app.theme
    normal_body = theme.body
    ui.attract(snap=False)
    ui.set_language(language)
    ui.set_elder(True)
    assert theme.elder and theme.body > normal_body * 1.3
    assert tuple(theme.bg)[:3] == (0, 0, 0)  # high contrast: black background
    ui.snap("attract-elder")
    ui.insert_and_pin(who)
    ui.menu()
    ui.balance()
    ui.choose("history")
    ui.driver.wait_screen("info")
    ui.snap("history")
    assert ui.driver.kiosk.screen("info").ids.rows.children, "history lines shown"
    ui.driver.press("back")
    ui.menu()
    before = ui.ui_world.world.card_balance(who)
    ui.choose("bike_enable")
    ui.driver.wait_screen("confirm")
    ui.snap("confirm")
    assert ui.driver.kiosk.screen("confirm").amount.endswith("10.00")
    ui.driver.press("confirm")
    ui.driver.wait_screen("done")
    ui.snap("done")
    assert ui.ui_world.world.card_balance(who) == before - 1000
    ui.finish_and_take_card()
    assert not theme.elder, "elder mode ends with the session"


def test_wrong_pin_then_right_and_not_enough_money(ui: Any) -> None:
    # Citizen 4, 赵䶮: a name with a CJK Extension A character, and ¥0.80 on the card.
    ui.attract(snap=False)
    ui.ui_world.insert("4")
    pin = ui.driver.wait_screen("pin")
    assert "䶮" in pin.holder  # drawn with a fallback font, or the visible missing box
    ui.driver.type_pin("000000")
    ui.driver.wait_for(lambda: pin.ids.dots.length == 6, what="six dots")
    assert "000000" not in _screen_text(ui) and "0" * 6 not in pin.holder
    ui.driver.press("pin_submit")
    ui.driver.wait_for(lambda: pin.wrong and pin.length == 0, what="wrong PIN shown")
    ui.snap("pin-wrong")
    assert "2" in pin.tries_text(pin.tries_left, pin.wrong)
    ui.driver.type_pin(ui.ui_world.pin_of("4"))
    ui.driver.press("pin_submit")
    ui.menu()
    ui.choose("bike_enable")
    ui.driver.wait_for(lambda: "insufficient_balance" in ui.driver.kiosk.view.notices,
                       what="not enough money")  # fmt: skip
    ui.snap("menu-not-enough-money")
    assert "余额不足" in ui.driver.kiosk.notice
    ui.finish_and_take_card()


def test_card_pulled_in_the_menu_says_so_on_the_attract_screen(ui: Any) -> None:
    ui.attract(snap=False)
    ui.insert_and_pin("2")
    ui.menu()
    ui.ui_world.remove()
    ui.driver.wait_screen("attract")
    ui.snap("attract-card-pulled")
    assert "卡片已被拔出" in ui.driver.kiosk.notice


def test_timeout_warning_more_time_then_timed_out(ui: Any) -> None:
    clock, d = ui.ui_world.clock, ui.driver
    ui.attract(snap=False)
    ui.insert_and_pin("2")
    ui.menu()
    limit = ui.ui_world.world.machine.seconds_for(ui.ui_world.world.machine.state)
    clock.advance(limit - 5)  # inside the warning
    d.wait_for(lambda: d.kiosk.warning, what="timeout warning")
    ui.snap("menu-more-time")
    d.press("more_time")
    d.wait_for(lambda: not d.kiosk.warning, what="warning cleared")
    assert d.kiosk.screen_manager.current == "menu"
    clock.advance(limit + 1)
    d.wait_screen("take_card")
    ui.snap("take-card-timed-out")
    assert "长时间无操作" in d.kiosk.notice
    ui.ui_world.remove()
    d.wait_screen("attract")


def test_no_paper_go_on_without_a_receipt(ui: Any) -> None:
    from simulators.printer.interpreter import PaperState

    w = ui.ui_world.world
    w.printer_sim.set_faults(paper=PaperState.OUT)
    try:
        ui.attract(snap=False)
        ui.set_language("en")
        # A citizen with money enough for the department's gas bill, whatever its amount.
        ui.insert_and_pin("3")
        ui.menu()
        ui.choose("gas_bill")
        ui.driver.wait_screen("form")
        ui.type_field("1000003")
        ui.driver.press("submit_form")
        ui.driver.wait_screen("confirm")
        ui.driver.press("confirm")
        ui.driver.wait_screen("no_paper")
        ui.snap("no-paper")
        assert "paper" in _screen_text(ui)
        ui.driver.press("continue_without_receipt")
        ui.driver.wait_screen("done")
        ui.snap("done-no-receipt")
        assert ui.driver.kiosk.screen("done").ok
        assert "No receipt was printed" in _screen_text(ui)
        ui.finish_and_take_card()
    finally:
        w.printer_sim.load_paper()


def test_change_pin_on_pin_fields_and_back(ui: Any) -> None:
    old = ui.ui_world.pin_of("2")
    for current, new in ((old, "135790"), ("135790", old)):
        ui.attract(snap=False)
        ui.insert_and_pin("2", pin=current)
        ui.menu()
        ui.choose("change_pin")
        form = ui.driver.wait_screen("form")
        names = ["old_pin", "new_pin", "new_pin_again"]
        for i, pin in enumerate((current, new, new)):
            # The core moves the focus on when a PIN is complete; a person waits
            # for the next field to light up before typing on.
            name = names[i]
            ui.driver.wait_for(lambda f=form, n=name: _focused(f) == n, what=f"focus {name}")
            ui.driver.type_pin(pin)
        ui.driver.wait_for(lambda f=form: all(r.value == "●" * 6 for r in f.ids.rows.children),
                           what="three PINs typed")  # fmt: skip
        ui.snap("form-pins")
        values = [row.value for row in form.ids.rows.children]
        assert all(v == "●" * 6 for v in values), values  # dots, never digits
        ui.driver.press("submit_form")
        ui.driver.wait_screen("confirm")
        ui.snap("confirm-pin-change")
        ui.driver.press("confirm")
        ui.driver.wait_screen("done")
        ui.snap("done-pin-changed")
        assert ui.driver.kiosk.screen("done").ok
        ui.finish_and_take_card()


def test_a_card_that_is_not_a_citizen_card_is_refused_with_what_to_do(ui: Any) -> None:
    # The PSAM (a SAM, not a citizen card) put in the citizen's slot.
    w = ui.ui_world.world
    ui.attract(snap=False)
    w.card_reader.insert(w.wallet.open_psam())
    ui.ui_world.controller.card_inserted()
    refused = ui.driver.wait_screen("card_refused")
    ui.snap("card-refused")
    assert refused.code and refused.next_step, refused.code
    assert "请取" in refused.t(refused.next_step)  # tells the citizen to take the card
    ui.driver.press("finish")
    ui.driver.wait_screen("take_card")
    ui.ui_world.remove()
    ui.driver.wait_screen("attract")
