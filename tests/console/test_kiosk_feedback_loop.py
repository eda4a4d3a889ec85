"""The whole feedback loop through the kiosk's own screens' core and the console in
the shared headless Chromium, on the demo world: citizens submit at the kiosk (the
feedback flow), the case reaches the right department's queue, a staff member
answers in the browser, the kiosk shows the answer, the citizen rates it, and the
response figures move."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend_sync.central.feedback.intake import iso_week
from kiosk.demo.staff import DEMO_STAFF_PASSWORD
from kiosk.journeys.citizen_states import State
from tests.kiosk.conftest import (  # noqa: F401  (fixtures)
    Kiosk,
    make_kiosk,
    wallet_template,
    world_template,
)

from .test_console import shot

ANSWER = "已安排检测，管网冲洗后水质恢复正常。"


def _submit(k: Kiosk, category: str, body: str) -> str:
    k.m.choose_service("feedback")
    k.settle()
    for name, value in {"ftype": "report", "category": category, "urgency": "2", "body": body,
                        "place": "", "identity": "named", "publish": "no"}.items():  # fmt: skip
        k.m.set_field(name, value)
    k.m.submit_form()
    k.settle()
    assert k.state is State.CONFIRM, k.m.screen()
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.reference, res
    k.m.back()
    k.settle()
    return res.reference


def _next_card(k: Kiosk, n: int) -> None:
    k.m.finish()
    k.settle()
    k.remove()
    k.login(n)


def test_kiosk_to_queue_to_answer_to_kiosk_to_figures(
    page: Any,
    make_kiosk: Callable[..., Kiosk],  # noqa: F811  (the kiosk tests' fixture)
) -> None:
    k = make_kiosk()
    k.start()
    k.world.sync()  # the central's category list reaches the kiosk's form
    k.login(1)
    water = _submit(k, "water.quality", "自来水发黄有异味")
    _next_card(k, 2)
    bus = _submit(k, "bus.route", "建议公交延长到高铁站")
    k.world.sync()  # both cases go up through the outbox
    url = k.world.central_url.replace("127.0.0.1", "localhost")  # Secure cookies on http
    week = iso_week(k.world.central.now_ms())
    page.goto(f"{url}/console/login?lang=en")
    page.fill("input[name=username]", "water")
    page.fill("input[name=password]", DEMO_STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/home")
    page.goto(f"{url}/console/figures")
    this_week = f"tr[data-dept=water][data-week='{week}']"
    assert page.inner_text(f"{this_week} td.answered") == "0"
    page.goto(f"{url}/console/feedback")
    queue = page.inner_text("table.queue")
    assert water in queue and bus not in queue  # the bus case is transport's
    page.click(f"a:has-text('{water}')")
    page.wait_for_selector("dl.facts")
    assert "自来水发黄有异味" in page.content()
    page.click("button:has-text('Start work')")
    page.wait_for_selector(".message.ok")
    page.fill(".answer-form textarea[name=text]", ANSWER)
    page.click(".answer-form button[type=submit]")
    page.wait_for_selector("dd.state[data-state=answered]")

    # The citizen, back at a kiosk with the card: the answer, then a rating.
    _next_card(k, 1)
    k.m.choose_service("feedback_lookup")
    k.settle()
    k.m.submit_form()  # no number: this card's cases
    k.settle()
    info = k.m.screen().info
    assert k.state is State.INFO and info is not None
    d = dict(info.details)
    assert (d["fb_state"], d["fb_answer"]) == ("answered", ANSWER)
    k.m.back()
    k.settle()
    k.m.choose_service("feedback_rate")
    k.settle()
    k.m.set_field("tracking", water)
    k.m.set_field("verdict", "satisfied")
    k.m.submit_form()
    k.settle()
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and (res.ok, res.code) == (True, "case_closed")

    page.goto(f"{url}/console/figures")
    assert page.inner_text(f"{this_week} td.answered") == "1"
    assert page.inner_text(f"{this_week} td.satisfied") == "100.0 %"
    assert page.inner_text(f"tr[data-dept=city][data-week='{week}'] td.n") == "2"
    shot(page, "14-figures-after-kiosk-loop")
