"""The kiosk's feedback flows on the demo world: a citizen reports a problem (the
category list is the central's), takes a receipt with the tracking number and a
signed QR, is told plainly that a second one in the same category today is not
taken, looks the case up by number and by card after a department answered,
rates it (not satisfied reopens it); a case submitted offline and uploaded two
days later shows a wait two days longer than the department's clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa

from backend_sync.central.feedback import cases, rules
from backend_sync.central.feedback.models import feedback_cases
from backend_sync.tracking import format_tracking
from kiosk.core.clock import ManualClock
from kiosk.demo.catalog import DEMO_FEEDBACK_CATEGORIES
from kiosk.journeys.citizen_states import State
from kiosk.receipts.signing import verify_reference
from tests.kiosk.conftest import Kiosk

WATER = cases.Actor("water", "department_staff", "water")
FORM = {"ftype": "report", "category": "water.quality", "urgency": "2", "body": "自来水发黄",
        "place": "金港大道88号", "identity": "pseudonymous", "publish": "yes"}  # fmt: skip


def _submit(k: Kiosk, **values: str) -> None:
    k.m.choose_service("feedback")
    k.settle()
    assert k.state is State.FORM, k.m.screen()
    for name, value in {**FORM, **values}.items():
        k.m.set_field(name, value)
    k.m.submit_form()
    k.settle()


def _case(k: Kiosk, tracking: str) -> sa.Row:  # type: ignore[type-arg]
    with k.world.central.engine.connect() as conn:
        return conn.execute(
            sa.select(feedback_cases).where(feedback_cases.c.tracking == tracking)
        ).one()


def _details(k: Kiosk) -> dict[str, str]:
    scr = k.m.screen()
    view = scr.info if scr.info is not None else scr.confirm
    assert view is not None, scr
    return dict(view.details)


def test_report_receipt_one_a_day_lookup_and_rate(kiosk: Kiosk) -> None:
    k = kiosk
    # The central's list changes: the kiosk's form follows it after a sync.
    lights = {"code": "road.lights", "department": "city-transport", "deadline_days": 3,
              "importance": 2,
              "names": {"zh-Hans": "路灯", "zh-Hant": "路燈", "en": "Street lights"}}  # fmt: skip
    rules.set_categories(k.world.central, [*DEMO_FEEDBACK_CATEGORIES, lights])
    k.world.sync()
    k.login(1)
    k.m.choose_service("feedback")
    k.settle()
    form = k.m.screen().form
    assert form is not None
    category = next(f for f in form.fields if f.name == "category")
    assert ("road.lights", "路灯") in category.choices and len(category.choices) == 5
    k.m.back()
    k.settle()
    _submit(k)
    assert k.state is State.CONFIRM, k.m.screen()
    assert _details(k)["fb_category"] == "水质问题" and _details(k)["fb_text"] == "自来水发黄"
    k.m.set_language("en")
    k.settle()
    assert _details(k)["fb_category"] == "Water quality"
    assert _details(k)["fb_identity"] == "Do not show my name"
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and (res.ok, res.code, res.kind) == (
        True,
        "submitted",
        "tracking_number",
    )
    assert res.receipt == "printed" and res.reference is not None
    tracking = res.reference
    slip = k.world.printer_sim.jobs[-1]
    assert format_tracking(tracking) in slip.text and "Water quality" in slip.text
    assert "自来水发黄" not in slip.text  # the text stays off the paper
    ref = verify_reference(slip.qr_payloads[0].decode(), k.world.terminal_cert)
    assert (ref.kind, ref.transaction_id, ref.amount_fen) == ("tracking_number", tracking, 0)

    # A second one in the same category today: said on the form, nothing sent.
    k.m.back()
    k.settle()
    _submit(k, body="还是发黄")
    scr = k.m.screen()
    assert k.state is State.FORM and scr.form is not None
    assert scr.form.error == "already_submitted"
    assert next(f for f in scr.form.fields if f.name == "category").error == "already_submitted"
    # ...also once the first has left the outbox (the central's cases of this card).
    k.world.sync()
    assert k.world.outbox.status().acked_seq >= 1
    k.m.submit_form()
    k.settle()
    assert k.state is State.FORM and k.m.screen().form.error == "already_submitted"  # type: ignore[union-attr]
    k.m.set_field("category", "water.supply")  # another category is fine
    k.m.submit_form()
    k.settle()
    assert k.state is State.CONFIRM
    k.m.back()
    k.settle()

    row = _case(k, tracking)
    assert (row.state, row.department, row.identified, row.citizen_name) == (
        "dispatched", "water", False, None)  # fmt: skip
    # The kiosk's last clock sample travels with the record; this one is in step.
    assert row.clock_skew_ms is not None and abs(row.clock_skew_ms) < 5_000
    assert not row.skew_flagged
    # Rating before an answer: refused on the form.
    k.m.choose_service("feedback_rate")
    k.settle()
    k.m.set_field("tracking", tracking.lower())
    k.m.set_field("verdict", "unsatisfied")
    k.m.submit_form()
    k.settle()
    assert k.state is State.FORM and k.m.screen().form.error == "not_answered"  # type: ignore[union-attr]
    k.m.back()
    k.settle()

    cases.take(k.world.central, WATER, row.id)
    cases.answer(k.world.central, WATER, row.id, "已冲洗管道，水质恢复正常。")
    # By the card (no number typed): state, answer, both clocks.
    k.m.choose_service("feedback_lookup")
    k.settle()
    k.m.submit_form()
    k.settle()
    assert k.state is State.INFO, k.m.screen()
    d = _details(k)
    assert (d["fb_number"], d["fb_state"]) == (format_tracking(tracking), "answered")
    assert d["fb_answer"] == "已冲洗管道，水质恢复正常。" and d["fb_category"] == "水质问题"
    assert int(d["fb_wait"]) >= int(d["fb_dept"]) >= 0
    k.m.back()
    k.settle()
    # A mistyped number is caught by its check symbol before the central is asked.
    k.m.choose_service("feedback_lookup")
    k.settle()
    bad = tracking[:3] + tracking[4] + tracking[3] + tracking[5:]
    k.m.set_field("tracking", bad if bad != tracking else tracking[:-1] + "0")
    k.m.submit_form()
    k.settle()
    assert k.state is State.FORM
    assert k.m.screen().form.fields[0].error == "not_a_tracking_number"  # type: ignore[union-attr]
    k.m.back()
    k.settle()

    # Not satisfied: the case goes back to the department with a fresh deadline.
    k.m.choose_service("feedback_rate")
    k.settle()
    k.m.set_field("tracking", format_tracking(tracking))
    k.m.set_field("verdict", "unsatisfied")
    k.m.submit_form()
    k.settle()
    assert k.state is State.CONFIRM and _details(k)["fb_answer"] == "已冲洗管道，水质恢复正常。"
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and (res.ok, res.code) == (True, "case_reopened")
    assert _case(k, tracking).state == "reopened"


def test_another_card_cannot_rate_and_a_refused_case_says_why(kiosk: Kiosk) -> None:
    k = kiosk
    k.world.sync()
    k.login(1)
    _submit(k, identity="named")
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.reference is not None
    tracking = res.reference
    k.world.sync()
    row = _case(k, tracking)
    assert row.identified and row.citizen_name == k.world.citizen(1).name
    cases.take(k.world.central, WATER, row.id)
    cases.answer(k.world.central, WATER, row.id, "已处理。")
    k.m.finish()
    k.settle()
    k.remove()
    k.login(2)
    k.m.choose_service("feedback_rate")
    k.settle()
    k.m.set_field("tracking", tracking)
    k.m.set_field("verdict", "satisfied")
    k.m.submit_form()
    k.settle()
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and (res.ok, res.code) == (False, "not_your_case")
    assert _case(k, tracking).state == "answered"


def test_offline_two_days_the_citizen_waited_two_days_longer(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    # The kiosk's clock says two days ago: it took the case then, and uploads now.
    two_days = 2 * 86_400
    now = dt.datetime.now(dt.UTC).astimezone().replace(microsecond=0)
    k = make_kiosk(clock=ManualClock(now - dt.timedelta(seconds=two_days)))
    k.start()
    k.login(1)
    _submit(k)
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.reference is not None
    k.world.sync()
    k.m.back()
    k.settle()
    k.m.choose_service("feedback_lookup")
    k.settle()
    k.m.set_field("tracking", res.reference)
    k.m.submit_form()
    k.settle()
    d = _details(k)
    assert d["fb_state"] == "dispatched"
    assert abs(int(d["fb_wait"]) - int(d["fb_dept"]) - two_days * 1000) < 60_000


def test_a_hostile_or_damaged_category_list_never_reaches_the_form(kiosk: Kiosk) -> None:
    from backend_sync.central import documents

    k = kiosk
    good = {"code": "road.lights", "names": {"zh-Hans": "路灯", "zh-Hant": "路燈", "en": "Lights"}}
    empty = {"zh-Hans": "", "zh-Hant": "", "en": ""}
    bad = [{"code": 5, "names": good["names"]}, {"code": "x", "names": {"zh-Hans": "缺语言"}},
           "not an object", {"code": "y", "names": empty}]  # fmt: skip
    # Signed by the central but odd: only the well-formed entry is listed.
    k.world.store.save_document(documents.signed(
        k.world.central, "feedback_categories", 99, {"categories": [*bad, good]}))  # fmt: skip
    k.login(1)
    k.m.choose_service("feedback")
    k.settle()
    form = k.m.screen().form
    assert form is not None
    assert next(f for f in form.fields if f.name == "category").choices == (
        ("road.lights", "路灯"),
    )
    k.m.back()
    k.settle()
    # The kept file altered on disk: its signature fails, the catalog's own list is used.
    path = k.world.store.root / "feedback_categories.json"
    path.write_text(path.read_text(encoding="utf-8").replace("路灯", "假的"), encoding="utf-8")
    k.m.choose_service("feedback")
    k.settle()
    form = k.m.screen().form
    assert form is not None
    codes = [v for v, _ in next(f for f in form.fields if f.name == "category").choices]
    assert codes == [c["code"] for c in DEMO_FEEDBACK_CATEGORIES]
    # The code from the damaged list is no longer one the form takes.
    _submit(k, category="road.lights")
    assert k.state is State.FORM
    assert next(f for f in k.m.screen().form.fields if f.name == "category").error  # type: ignore[union-attr]
