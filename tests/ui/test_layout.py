"""Every kiosk screen × three languages × portrait 1080×1920 and landscape
1920×1080 × normal and elder mode, checked by terminal_ui.layout_check: nothing
overlaps, is clipped or off the window, no touch target under 9 mm at the
configured DPI, contrast at least 4.5:1 (7:1 elder), no line leaving one
character alone or splitting a number.

The screens are the core's own views, collected from a session on a world of its
own (so no other test's bills or balances change): each language runs the water
bill, balance, history, a wrong PIN, the printer out of paper and a pulled card.
Views the demo cannot reach (a refused card, out of service, a text field) are
the same views with that state. All are drawn in the one window, resized.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ui

SIZES = {"portrait": (1080, 1920), "landscape": (1920, 1080)}
LANGUAGES = ("zh-Hans", "zh-Hant", "en")
OUT = Path(__file__).resolve().parents[2] / "out" / "layout"


class Views:
    """The core's screens as a subscriber sees them."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __call__(self, event: Any) -> None:
        from kiosk.core.views import ScreenChanged

        if isinstance(event, ScreenChanged):
            self.seen.append(event.screen)

    def wait(self, cond: Callable[[Any], bool], what: str, start: int = 0,
             timeout: float = 30) -> Any:  # fmt: skip
        """The newest view since ``start`` for which ``cond`` holds (waiting for it)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for v in reversed(self.seen[start:]):
                if cond(v):
                    return v
            time.sleep(0.01)
        raise AssertionError(
            f"no {what}; states: {[(v.state.name, v.notices) for v in self.seen[-8:]]}"
        )


class _Marking:
    """Calls through to ``target``, marking the views first (what comes after answers)."""

    def __init__(self, target: Any, mark: Callable[[], None]) -> None:
        self._target, self._mark = target, mark

    def __getattr__(self, name: str) -> Callable[..., Any]:
        fn = getattr(self._target, name)

        def call(*args: Any) -> Any:
            self._mark()
            return fn(*args)

        return call


def _session(tmp: Path) -> dict[str, list[tuple[str, Any]]]:
    """(label, view) of every screen, per language, from a real session."""
    from kiosk.core.clock import ManualClock
    from kiosk.core.controller import KioskController
    from kiosk.core.views import FieldView, FormView
    from kiosk.demo.issuer import create_demo_wallet
    from kiosk.demo.world import DemoWorld
    from kiosk.journeys.citizen_states import State
    from simulators.printer.interpreter import PaperState

    create_demo_wallet(tmp / "wallet", seed=11)
    world = DemoWorld.build(tmp, clock=ManualClock())
    c = KioskController(world.machine)
    views = Views()
    c.subscribe(views)
    c.start(tick=0.01)
    out: dict[str, list[tuple[str, Any]]] = {}

    def at(state: State, what: str = "", pred: Callable[[Any], bool] = lambda v: True) -> Any:
        return views.wait(lambda v: v.state is state and pred(v), what or state.name,
                          max(0, marks[-1] - 1))  # fmt: skip

    marks = [0]

    def mark() -> None:
        """Views from here on answer the next wait (the last one before may too)."""
        marks.append(len(views.seen))

    k, w = _Marking(c, mark), _Marking(world, mark)
    try:
        # Citizens with money enough for a bill and a bike card (1, 3, 5), one per language.
        for i, lang in zip((1, 3, 5), LANGUAGES, strict=True):
            shots: list[tuple[str, Any]] = []
            out[lang] = shots
            k.set_language(lang)
            shots.append(
                ("attract", at(State.ATTRACT, pred=lambda v, lang=lang: v.language == lang))
            )
            w.insert(str(i))
            shots.append(("pin", at(State.PIN_ENTRY)))
            for _ in range(6):
                c.pin_digit(0)
            k.pin_submit()
            shots.append(
                (
                    "pin-wrong",
                    at(State.PIN_ENTRY, "wrong PIN", lambda v: bool(v.pin and v.pin.wrong)),
                )
            )
            for d in str(world.citizen(i).pin):
                c.pin_digit(int(d))
            shots.append(
                (
                    "pin-typed",
                    at(State.PIN_ENTRY, "6 digits", lambda v: bool(v.pin and v.pin.length == 6)),
                )
            )
            k.pin_submit()
            menu = at(State.MENU)
            shots.append(("menu", menu))
            shots.append(("menu-group", menu))  # the payments group open
            k.choose_service("water_bill")
            form = at(State.FORM)
            shots.append(("form", form))
            k.set_field("account", "999")  # no such account: the field's error
            k.submit_form()
            shots.append(
                (
                    "form-error",
                    at(
                        State.FORM,
                        "a field error",
                        lambda v: bool(
                            v.form and (v.form.error or any(f.error for f in v.form.fields))
                        ),
                    ),
                )
            )
            k.set_field("account", str(1_000_000 + i))
            shots.append(
                (
                    "form-typed",
                    at(
                        State.FORM,
                        "typed",
                        lambda v, i=i: bool(
                            v.form and v.form.fields[0].value == str(1_000_000 + i)
                        ),
                    ),
                )
            )
            k.submit_form()
            shots.append(("confirm", at(State.CONFIRM)))
            k.confirm()
            shots.append(("done", at(State.DONE)))
            k.back()
            at(State.MENU)
            k.choose_service("balance")
            shots.append(("info-balance", at(State.INFO)))
            k.back()
            at(State.MENU)
            k.choose_service("history")
            shots.append(("info-history", at(State.INFO)))
            k.back()
            at(State.MENU)
            # The city services (through the central, from the department simulator).
            for sid in ("social_security", "housing_fund", "application_progress"):
                k.choose_service(sid)
                if sid == "application_progress":
                    at(State.FORM)
                    k.submit_form()  # the number left empty: all of the holder's
                shots.append((f"info-{sid}", at(State.INFO)))
                k.back()
                at(State.MENU)
            # A fine to pay, the vehicles and none, or not money enough (the menu, told).
            k.choose_service("traffic_fines")
            traffic = views.wait(lambda v: v.state in (State.CONFIRM, State.INFO) or (
                v.state is State.MENU and bool(v.notices)), "traffic",
                max(0, marks[-1] - 1))  # fmt: skip
            shots.append(("traffic", traffic))
            if traffic.state is not State.MENU:
                k.back()
            menu_down = at(State.MENU)
            shots.append(("menu-department-down", dataclasses.replace(
                menu_down, notices=("department_unavailable",))))  # fmt: skip
            world.printer_sim.set_faults(paper=PaperState.OUT)
            k.choose_service("bike_enable")
            at(State.CONFIRM)
            k.confirm()
            shots.append(("no-paper", at(State.NO_PAPER)))
            k.continue_without_receipt()
            shots.append(("done-no-receipt", at(State.DONE)))
            world.printer_sim.load_paper()
            _feedback_screens(k, w, world, shots, at)
            k.finish()
            shots.append(("take-card", at(State.TAKE_CARD)))
            w.remove()
            at(State.ATTRACT)
            # a card pulled mid-session: the next citizen is told on the attract screen
            w.insert(str(i))
            at(State.PIN_ENTRY)
            w.remove()
            shots.append(
                ("attract-notice", at(State.ATTRACT, "a notice", lambda v: bool(v.notices)))
            )
            # What the demo cannot reach: the same views in those states.
            base = shots[1][1]
            shots.append(
                (
                    "card-refused",
                    dataclasses.replace(base, state=State.CARD_REFUSED, refusal="expired"),
                )
            )
            shots.append(
                (
                    "out-of-service",
                    dataclasses.replace(
                        shots[0][1], state=State.OUT_OF_SERVICE, notices=("no_psam",)
                    ),
                )
            )
            text = FieldView(name="full_name", label=form.form.fields[0].label, kind="text",
                             value="张伟", required=True, focused=True)  # fmt: skip
            shots.append(("form-text", dataclasses.replace(form, form=FormView(
                service_id="feedback", title=form.form.title, fields=(text,)))))  # fmt: skip
            shots.append(("busy", next(v for v in views.seen if v.state is State.CHECKING_CARD)))
            shots += _booking_shots(lang, shots, form)
            shots.append(("menu-warning", menu))
            shots.append(("menu-search", menu))
            shots.append(("menu-search-sb", menu))
    finally:
        c.stop()
        world.close()
    return out


def _feedback_screens(k: Any, w: Any, world: Any, shots: list[tuple[str, Any]],
                      at: Callable[..., Any]) -> None:  # fmt: skip
    """The feedback flows' own screens: the long form with the pinyin keyboard, its
    confirmation, the one-a-day refusal on the form, and a case looked up after the
    department answered (with both clocks). Their done and rating screens are the
    common ones, checked with the others (each screen here costs 12 renders)."""
    import sqlalchemy as sa

    from backend_sync.central.feedback import cases
    from backend_sync.central.feedback.models import feedback_cases
    from kiosk.journeys.citizen_states import State

    values = {"ftype": "report", "category": "water.quality", "urgency": "2",
              "place": "金港大道88号", "identity": "pseudonymous", "publish": "yes"}  # fmt: skip

    def fill() -> None:
        k.choose_service("feedback")
        at(State.FORM)
        for name, value in values.items():
            k.set_field(name, value)
        k.set_field("body", "自来水发黄，有异味")
        k.focus_field("body")

    def typing(v: Any) -> bool:
        return bool(v.form and any(f.focused and f.name == "body" and f.value
                                   for f in v.form.fields))  # fmt: skip

    k.back()  # from the last outcome
    at(State.MENU)
    fill()

    shots.append(("feedback-form", at(State.FORM, "the text focused", typing)))
    k.submit_form()
    shots.append(("feedback-confirm", at(State.CONFIRM)))
    k.confirm()
    tracking = at(State.DONE).result.reference  # the done screen: checked with the others
    k.back()
    at(State.MENU)
    fill()
    k.submit_form()
    shots.append(("feedback-refused", at(State.FORM, "one a day", lambda v: bool(
        v.form and v.form.error == "already_submitted"))))  # fmt: skip
    k.back()
    at(State.MENU)
    w.sync()
    staff = cases.Actor("water", "department_staff", "water")
    with world.central.engine.connect() as conn:
        case_id = conn.execute(sa.select(feedback_cases.c.id).where(
            feedback_cases.c.tracking == tracking)).scalar_one()  # fmt: skip
    cases.take(world.central, staff, case_id)
    cases.answer(world.central, staff, case_id,
                 "已安排检测，管网冲洗后水质恢复正常。如仍有异味，请拨打供水热线，"
                 "我们将在两个工作日内上门复检。")  # fmt: skip
    k.choose_service("feedback_lookup")
    at(State.FORM)
    k.submit_form()
    shots.append(("feedback-case", at(State.INFO)))
    k.back()
    at(State.MENU)
    k.choose_service("feedback_rate")
    at(State.FORM)
    k.set_field("tracking", tracking)
    k.set_field("verdict", "unsatisfied")
    k.submit_form()
    at(State.CONFIRM)  # a confirmation like feedback-confirm's
    k.back()
    at(State.MENU)
    k.choose_service("bike_enable")  # the session goes on from an outcome, as before
    at(State.CONFIRM)
    k.confirm()
    at(State.DONE)


def _booking_shots(lang: str, shots: list[tuple[str, Any]], form: Any) -> list[tuple[str, Any]]:
    """Appointments, bus tickets, bikes and the card-less queue number: the views the
    flows publish (their live choices as the departments simulator offers them)."""
    from kiosk.core.views import FieldView, FormView, InfoView, ResultView
    from kiosk.flows.appointment import DEPARTMENTS, slot_label
    from kiosk.journeys.queue import Queue

    got = dict(shots)
    attract, done, info = got["attract"], got["done"], got["info-balance"]
    depts = tuple((c, n[lang]) for c, n in DEPARTMENTS.items())
    slots = tuple((f"s{i}", slot_label(f"2026-12-0{3 + i // 4}T{9 + i % 4}:30", 3)[lang])
                  for i in range(8))  # fmt: skip
    fields = (
        FieldView("department", "部门", "choice", "housing_fund", True, depts),
        FieldView("service", "事项", "choice", "hf-loan", True,
                  (("hf-withdraw", "公积金提取"), ("hf-loan", "公积金贷款"))),
        FieldView("slot", "时间", "choice", "", True, slots, focused=True),
    )  # fmt: skip
    hall = (("ss-card", "社保卡补换"), ("ss-transfer", "社保关系转移"),
            ("hf-withdraw", "公积金提取"), ("hf-loan", "公积金贷款"), ("hukou", "户籍办理"),
            ("permit", "居住证"))  # fmt: skip
    queue_form = FormView("queue", "大厅取号", (FieldView("service", "办理事项", "choice", "hukou",
                                                          True, hall, focused=True),))  # fmt: skip
    booked = ResultView("appointment", "大厅预约", True, "booked", kind="booking",
                        reference="bk-320500000001-14fc012cc303", receipt="printed")  # fmt: skip
    ticket = ResultView("bus_ticket", "长途汽车票", True, "ticket_issued", 3_000, 9_850,
                        "T20261202-0001-000042", "printed", "ticket",
                        "5f0c3b2a9d8e4f6a8b7c6d5e4f3a2b1c")  # fmt: skip
    number = ResultView("queue", "户籍办理", True, "queue_number", kind="queue_number",
                        reference="HU012", receipt="printed")  # fmt: skip
    bike = InfoView("bike_rental", "自行车租用状态", None,
                    details=(("bike_status", "held"), ("deposit", "¥100.00")))  # fmt: skip
    rep = dataclasses.replace
    return [
        ("form-live-choices", rep(form, form=FormView("appointment", "大厅预约", fields))),
        ("done-booking", rep(done, result=booked)),
        ("done-ticket", rep(done, result=ticket)),
        ("info-bike", rep(info, info=bike)),
        ("attract-queue", rep(attract, extra={"card_less": "queue"})),
        ("queue-choose", rep(attract, state=Queue.CHOOSE, journey="queue", form=queue_form,
                             card=None, extra={})),
        ("queue-number", rep(attract, state=Queue.NUMBER, journey="queue", result=number,
                             card=None, extra={"ahead": "3"})),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def screens(
    ui_world: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[tuple[str, Any]]]:
    return _session(tmp_path_factory.mktemp("layout-world"))


@pytest.fixture
def window(ui_world: Any) -> Iterator[Any]:
    """The shared window, given back at its size showing what it showed."""
    from kivy.core.window import Window

    d = ui_world.driver
    before, view = tuple(Window.size), d.kiosk.view
    try:
        yield d
    finally:
        d.kiosk._unwarn()
        d.kiosk.screen("menu").set_search(None)
        d.kiosk.screen("menu").open_group("")
        Window.size = before
        if view is not None:
            d.kiosk.show(view)
        d.pump(3)


def _settle(d: Any) -> int:
    """Lay out and render text without drawing frames (software GL is slow)."""
    from kivy.clock import Clock
    from kivy.lang import Builder

    from terminal_ui.layout_check import settle

    def turn() -> None:  # EventLoop.idle() without input and without the draw
        Clock.tick()
        Builder.sync()  # canvas expressions (colours) are applied here
        Clock.tick_draw()
        Builder.sync()

    return settle(d.app.root, turn)


def test_every_screen_in_every_language_shape_and_mode(window: Any, screens: Any) -> None:
    from kivy.core.window import Window

    from kiosk.config import SCHEMA
    from terminal_ui.layout_check import check

    d = window
    dpi = float(SCHEMA["screen"]["dpi"][1])  # the demo's value, as the kiosk config has it
    report: list[str] = []
    checked = 0
    for shape, size in SIZES.items():
        Window.size = size
        d.pump(2)
        d.wait_for(lambda size=size: tuple(d.kiosk.size) == size, what=f"{shape} window")
        for lang, shots in screens.items():
            for elder in (False, True):
                for label, view in shots:
                    v = dataclasses.replace(view, elder_mode=elder)
                    d.kiosk.show(v)
                    if label == "menu-warning":
                        d.kiosk._warn(25)
                    else:
                        d.kiosk._unwarn()
                    menu_screen = d.kiosk.screen("menu")
                    menu_screen.open_group("payments" if label == "menu-group" else "")
                    if label == "menu-search":  # the search open, "sf" typed
                        d.kiosk.screen("menu").set_search("sf")
                    if label == "menu-search-sb":  # "sb" finds 社保 (social security)
                        d.kiosk.screen("menu").set_search("sb")
                    _settle(d)
                    found = check(d.kiosk, size, dpi=dpi, elder=elder,
                                  background=tuple(d.app.theme.bg))  # fmt: skip
                    checked += 1
                    where = f"{shape} {lang} {'elder' if elder else 'normal'} {label}"
                    report += [f"{where}: {f}" for f in dict.fromkeys(map(str, found))]
                    if found and os.environ.get("CIVICARD_LAYOUT_SHOTS"):
                        # Pictures of what was found (a frame each: only on request).
                        d.screenshot(OUT / f"{where.replace(' ', '-')}.png")
    assert checked == len(SIZES) * 2 * sum(len(s) for s in screens.values())
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "findings.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
    assert not report, (
        f"{len(report)} layout findings (all in {OUT / 'findings.txt'}):\n" + "\n".join(report[:60])
    )
