"""Feedback in the console, driven in the shared headless Chromium: a case arrives
through a kiosk's outbox upload, lands in the right queue, is answered, the kiosk
sees the answer and the figures move; roles and CSRF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from backend_sync.central import registry
from backend_sync.central.console import accounts
from backend_sync.central.feedback import rules
from backend_sync.central.feedback.calendar import TZ
from backend_sync.central.feedback.models import feedback_cases
from backend_sync.terminal import feedback as kiosk_fb
from tests.backend_sync.support import terminal

from .conftest import PASSWORD, Console
from .test_console import log_in, shot

CATEGORIES = [
    {"code": "water.quality", "department": "water", "deadline_days": 3, "importance": 2,
     "names": {"zh-Hans": "水质", "zh-Hant": "水質", "en": "Water quality"}},
    {"code": "bus.route", "department": "transit", "deadline_days": 5, "importance": 1,
     "names": {"zh-Hans": "公交线路", "zh-Hant": "公車路線", "en": "Bus routes"}},
]  # fmt: skip
ASN1, ASN2 = "32150000000000000101", "32150000000000000102"


def _now() -> int:
    import datetime as dt

    return int(dt.datetime(2026, 12, 2, 10, 0, tzinfo=TZ).timestamp() * 1000)  # a Wednesday


def _world(console: Console, tmp_path: Path) -> tuple[Any, str, str]:
    central = console.central
    central.clock = lambda: _now() / 1000  # fixed before any login: sessions follow it
    rules.set_categories(central, CATEGORIES)
    for asn in (ASN1, ASN2):
        registry.register_card(central, asn=asn, algorithm=0, key_version=1)
    k = terminal(central, console.url, tmp_path, "00000000C0DE")
    k.client._now_ms = central.now_ms
    water = kiosk_fb.submit(
        k.outbox, asn=ASN1, category="water.quality", ftype="report", urgency=2,
        body="自来水发黄，有异味", place="金港大道 88 号", identified=False,
        publish_consent=True, now_ms=_now() - 2 * 86_400_000,
    )  # fmt: skip
    bus = kiosk_fb.submit(
        k.outbox, asn=ASN2, category="bus.route", ftype="suggest", urgency=1,
        body="建议 12 路延长到高铁站", identified=True, name="王芳", now_ms=_now(),
    )  # fmt: skip
    assert k.agent.upload_pending().ok
    return k, water.tracking, bus.tracking


def _case_id(console: Console, tracking: str) -> int:
    with console.central.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(feedback_cases.c.id).where(feedback_cases.c.tracking == tracking)
            ).scalar_one()
        )


def _seed_history(console: Console) -> None:
    """Six earlier weeks of answered water and transit cases (written directly)."""
    import random

    from backend_sync.central.feedback.intake import iso_week
    from backend_sync.tracking import new_tracking

    rnd = random.Random(19)
    rows = []
    for w in range(1, 7):
        at = _now() - w * 7 * 86_400_000
        for i in range(20):
            dept = "water" if i % 2 else "transit"
            rows.append({
                "tracking": new_tracking(), "terminal_id": "00000000C0DE",
                "seq": 10_000 + len(rows),
                "asn": f"3215{len(rows):016d}", "identified": False, "category": "water.quality"
                if dept == "water" else "bus.route", "department": dept, "ftype": "ask",
                "urgency": 1, "importance": 2, "body": "…", "publish_consent": False,
                "state": "closed", "submitted_ms": at, "submitted_day": str(w), "arrived_ms": at,
                "arrived_week": iso_week(at), "deadline_ms": at + 3 * 86_400_000,
                "skew_flagged": False, "escalated": False, "reopened": 0, "updated_ms": at,
                "first_answered_ms": at, "answered_ms": at, "at_once": rnd.random() < 0.6,
                "within_2wd": rnd.random() < 0.95, "on_time": rnd.random() < 0.9,
                "satisfied": rnd.random() < 0.8,
            })  # fmt: skip
    with console.central.engine.begin() as conn:
        conn.execute(feedback_cases.insert(), rows)


def test_the_whole_loop(page: Any, console: Console, tmp_path: Path) -> None:
    k, water, bus = _world(console, tmp_path)
    # An older water case, past its deadline: marked overdue and escalated.
    kiosk_fb.submit(k.outbox, asn=ASN2, category="water.quality", ftype="ask", urgency=3,
                    body="停水通知在哪里看？", identified=False, now_ms=_now())  # fmt: skip
    assert k.agent.upload_pending().ok
    with console.central.engine.begin() as conn:
        conn.execute(
            feedback_cases.update()
            .where(feedback_cases.c.asn == ASN2, feedback_cases.c.category == "water.quality")
            .values(deadline_ms=_now() - 3_600_000)
        )
    log_in(page, console, "water1")
    page.goto(console.url + "/console/figures")
    assert page.inner_text("tr[data-dept=water] td.answered") == "0"
    page.goto(console.url + "/console/feedback")
    queue = page.inner_text("table.queue")
    assert water in queue and bus not in queue  # transit's case is not in water's queue
    assert page.locator("tr.overdue").count() == 1 and "Overdue" in queue
    assert "Escalated" in page.inner_text("tr.overdue")
    shot(page, "10-feedback-queue")
    page.click(f"a:has-text('{water}')")
    page.wait_for_selector("dl.facts")
    content = page.content()
    assert ASN1 not in content and "Pseudonymous" in content
    # Uploaded two days late: the citizen has waited two days longer.
    assert page.inner_text("dd.wait").startswith("2 days") and page.inner_text("dd.dept") == (
        "0 days 0 hours"
    )
    page.click("button:has-text('Start work')")
    page.wait_for_selector(".message.ok")
    page.fill(".answer-form textarea[name=text]", "已检测水质，管道冲洗后恢复正常。")
    page.click(".answer-form button[type=submit]")
    # Not ".message.ok": the last step's message is still on the page until htmx swaps.
    page.wait_for_selector("dd.state[data-state=answered]")
    shot(page, "11-feedback-case")
    [view] = kiosk_fb.lookup(k.client, tracking=water)
    assert view.state == "answered" and view.answer == "已检测水质，管道冲洗后恢复正常。"
    assert view.citizen_wait_ms - view.department_ms == 2 * 86_400_000
    assert kiosk_fb.rate(k.client, tracking=water, asn=ASN1, satisfied=True) == "closed"
    page.goto(console.url + "/console/figures")
    row = page.locator("tr[data-dept=water]")
    assert row.locator("td.answered").inner_text() == "1"
    # One of water's two cases answered within the hour (at once), and satisfied.
    assert row.locator("td.at_once").inner_text() == "50.0 %"
    assert row.locator("td.satisfied").inner_text() == "100.0 %"
    _seed_history(console)  # earlier weeks, for a chart worth looking at
    page.goto(console.url + "/console/figures")
    assert page.locator("svg polyline").count() == 4
    shot(page, "12-feedback-figures")


def test_other_departments_case_is_404_even_by_url_and_csrf_is_checked(
    page: Any, console: Console, tmp_path: Path
) -> None:
    _k, water, bus = _world(console, tmp_path)
    wid, bid = _case_id(console, water), _case_id(console, bus)
    log_in(page, console, "transit1")
    resp = page.goto(f"{console.url}/console/feedback/{wid}")
    assert resp.status == 404 and water not in page.content()
    page.goto(f"{console.url}/console/feedback/{bid}")
    assert "王芳" in page.content()  # identified: the name is shown, the card never
    assert ASN2 not in page.content()
    token, staff = accounts.login(console.central, username="transit1", password=PASSWORD,
                                  client="t")  # fmt: skip
    with httpx.Client(base_url=console.url, cookies={"civicard_console": token}) as c:
        r = c.post(f"/console/feedback/{wid}/answer", data={"csrf": staff.csrf_token,
                                                              "text": "not ours"})  # fmt: skip
        assert r.status_code == 404
        r = c.post(f"/console/feedback/{bid}/answer", data={"text": "no token"})
        assert r.status_code == 403
        r = c.post(f"/console/feedback/{bid}/return", data={"csrf": staff.csrf_token,
                                                             "text": "属于交警"})  # fmt: skip
        assert r.status_code == 303
    hot, _hstaff = accounts.login(console.central, username="hot1", password=PASSWORD,
                                 client="h")  # fmt: skip
    with httpx.Client(base_url=console.url, cookies={"civicard_console": hot}) as c:
        assert c.get("/console/feedback").status_code == 403
        assert c.get(f"/console/feedback/{bid}").status_code == 403
    with console.central.engine.connect() as conn:
        states = dict(conn.execute(sa.select(feedback_cases.c.id, feedback_cases.c.state)).all())
    assert states == {wid: "dispatched", bid: "returned"}
    # The supervisor sees the returned case and dispatches it again.
    log_in(page, console, "super1")
    page.goto(f"{console.url}/console/feedback/{bid}")
    page.fill(".dispatch-form input[name=text]", "traffic_police")
    page.click(".dispatch-form button[type=submit]")
    page.wait_for_selector(".message.ok")
    assert "属于交警" in page.inner_text("table.history")
