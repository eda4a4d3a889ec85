"""The counter station's view-model (no Kivy): what the clerk's screen may learn, the
shift rule, the checks before any operation runs, refusals back on the form."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from kiosk.counter.holder import HolderData
from kiosk.counter.station_ports import Clerk, CounterRefused, Op, Outcome
from simulators.idcard import demo_document
from terminal_ui.counter.station import Page, Station, StationView


class Core:
    """The station core's side, recording what it was asked (the station's outer edge)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def sign_in(self, pin: str) -> Clerk:
        self.calls.append(("sign_in", pin))
        if pin != "800001":
            raise CounterRefused("clerk_pin_wrong")
        return Clerk("陈静", "3215", "clerk")

    def sign_out(self) -> None:
        self.calls.append(("sign_out", None))

    def read_id_card(self) -> Any:
        return demo_document("孙浩然")

    def issue_card(self, holder: HolderData, pin: str, opening_fen: int) -> Outcome:
        self.calls.append(("issue_card", (holder, pin, opening_fen)))
        return Outcome(Op.ISSUE, (("Holder", holder.name),), True)

    def open_shift(self, float_fen: int) -> Outcome:
        self.calls.append(("open_shift", float_fen))
        return Outcome(Op.SHIFT_OPEN, (), True)

    def refund(self, id_number: str, supervisor_pin: str = "") -> Outcome:
        if not supervisor_pin:
            raise CounterRefused("supervisor_required")
        raise CounterRefused("card_terminated")


def _station() -> tuple[Station, Core, list[StationView]]:
    core = Core()
    st = Station(core, today=lambda: dt.date(2026, 12, 2))  # type: ignore[arg-type]
    seen: list[StationView] = []
    st.subscribe(seen.append)
    return st, core, seen


def _page(st: Station) -> Page:
    return st.view.page  # (a call: mypy would keep the page narrowed from before)


def _pin(st: Station, pin: str) -> None:
    for ch in pin:
        st.pin_digit(int(ch))
    st.pin_submit()
    assert st.wait_idle()


def test_no_view_ever_holds_a_pin_digit() -> None:
    st, core, seen = _station()
    _pin(st, "000000")
    assert _page(st) == Page.SIGN_IN and st.view.message == "clerk_pin_wrong"
    _pin(st, "800001")
    st.open_op(Op.SHIFT_OPEN)
    st.set_field("float", "500")
    st.submit()
    assert st.wait_idle()
    st.home()
    st.open_op(Op.ISSUE)
    st.read_id_card()
    assert st.wait_idle()
    st.submit()
    assert _page(st) == Page.CITIZEN_PIN and st.view.pin_for == "new_pin"
    _pin(st, "135790")
    assert _page(st) == Page.RESULT
    holder, pin, opening = core.calls[-1][1]
    assert (holder.number, pin, opening) == ("320582200809150330", "135790", 0)
    dumped = "".join(repr(dataclasses.asdict(v)) for v in seen)
    for secret in ("800001", "135790"):
        assert secret not in dumped  # only lengths leave the buffer
    assert max(v.pin_length for v in seen) == 6


def test_cash_operations_wait_for_an_open_shift() -> None:
    st, _core, _seen = _station()
    _pin(st, "800001")
    st.open_op(Op.ISSUE)
    assert _page(st) == Page.HOME and st.view.message == "shift_needed"
    st.open_op(Op.SHIFT_CLOSE)
    assert st.view.message == "no_shift"


def test_the_form_is_checked_before_anything_runs() -> None:
    st, core, _seen = _station()
    _pin(st, "800001")
    st.open_op(Op.SHIFT_OPEN)
    st.set_field("float", "12.345")
    st.submit()
    assert st.view.field_errors == {"float": "amount_format"} and _page(st) == Page.FORM
    st.set_field("float", "500")
    st.submit()
    assert st.wait_idle() and st.view.shift_open
    st.home()
    st.open_op(Op.ISSUE)
    st.set_field("number", "320582200809150331")
    st.set_field("birth", "20080915")
    st.submit()
    assert st.view.field_errors["number"] == "number_check"
    assert st.view.field_errors["name"] == "field_missing"
    assert not any(c[0] == "issue_card" for c in core.calls)


def test_a_refusal_comes_back_to_the_form_with_its_code() -> None:
    st, _core, _seen = _station()
    _pin(st, "800001")
    st.open_op(Op.SHIFT_OPEN)
    st.set_field("float", "0")
    st.submit()
    assert st.wait_idle()
    st.open_op(Op.REFUND)
    st.set_field("number", "320582200809150330")
    st.submit()
    assert st.wait_idle()
    # Above the limit: the supervisor's PIN asked on the pad, then the core's refusal.
    assert _page(st) == Page.CITIZEN_PIN and st.view.pin_for == "supervisor"
    _pin(st, "700003")
    assert st.wait_idle()
    assert _page(st) == Page.FORM and st.view.message == "card_terminated"
