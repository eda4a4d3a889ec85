"""The console's fleet page in the shared headless Chromium: kiosks from their signed
heartbeats (status, last seen, printer and paper, outbox backlog, why out of
service), the worst first, in three languages; only supervisors and
administrators open it."""

from __future__ import annotations

import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central import fleet
from backend_sync.central.service import Central
from backend_sync.fleet_wire import Heartbeat, HeartbeatRequest
from tests.backend_sync.support import enroll

from .conftest import Console
from .test_console import log_in, shot

NOW_MS = 1_796_100_000_000  # fixed: "last seen" and "silent" are counted from it


def _beat(central: Central, key: ec.EllipticCurvePrivateKey, tid: str, **kw: Any) -> None:
    body = {"terminal_id": tid, "boot_id": uuid.uuid4().hex, "counter": 1,
            "ts": central.now_ms(), "reason": "interval", "health": "ok", "faults": [],
            "backlog": 0, "paper": "adequate", "versions": {"software": "0.9.0"}, **kw}  # fmt: skip
    hb = Heartbeat.model_validate(body)
    sig = chain.sign(key, chain.canonical(hb.model_dump(mode="json", exclude_none=True)))
    fleet.ingest_heartbeat(central, HeartbeatRequest(body=hb, signature=sig))


def _fleet(central: Central) -> None:
    clock = {"ms": NOW_MS - 20 * 60_000}
    central.clock = lambda: clock["ms"] / 1000
    quiet = enroll(central, "320500000304")
    _beat(central, quiet, "320500000304", backlog=3)  # 20 minutes ago, then nothing
    clock["ms"] = NOW_MS - 30_000
    ok = enroll(central, "320500000301")
    _beat(central, ok, "320500000301", backlog=2, oldest_unsent_s=40)
    paper = enroll(central, "320500000302")
    out = {"device": "printer", "health": "fault", "code": "paper_out", "next_step": "load_paper"}
    _beat(central, paper, "320500000302", health="fault", paper="out", backlog=41,
          oldest_unsent_s=900, faults=[out])  # fmt: skip
    taken = enroll(central, "320500000303")
    _beat(central, taken, "320500000303", health="fault", out_of_service=True, faults=[
        {"device": "software", "health": "fault", "code": "out_of_service",
         "next_step": "back_in_service"},
        {"device": "psam", "health": "fault", "code": "psam_missing", "next_step": "seat_psam"},
    ])  # fmt: skip
    enroll(central, "320500000305")  # enrolled, never heard from
    clock["ms"] = NOW_MS


def test_the_fleet_page_lists_every_kiosk_worst_first(page: Any, console: Console) -> None:
    _fleet(console.central)
    log_in(page, console, "water1")  # department staff: not theirs to see
    page.goto(console.url + "/console/fleet")
    assert "may not open this page" in page.inner_text("main")
    page.context.clear_cookies()
    log_in(page, console, "super1")
    page.click("nav a[href='/console/fleet']")
    page.wait_for_selector("table.fleet")
    statuses = page.eval_on_selector_all(
        "table.fleet tbody tr", "rows => rows.map(r => [r.dataset.terminal, r.dataset.status])"
    )
    assert statuses == [
        ["320500000303", "out_of_service"], ["320500000302", "fault"],
        ["320500000304", "silent"], ["320500000305", "never"], ["320500000301", "ok"],
    ]  # fmt: skip
    row = "table.fleet tr[data-terminal='{}'] td.{}"
    assert page.inner_text(row.format("320500000303", "reasons")).splitlines() == [
        "Software: taken out of service → put back in service",
        "PSAM: PSAM missing → reseat the PSAM",
    ]
    assert page.inner_text(row.format("320500000302", "paper")).splitlines() == [
        "Out of paper", "out of paper"]  # fmt: skip
    assert page.inner_text(row.format("320500000302", "backlog")).splitlines() == [
        "41", "oldest unsent: 15 min ago"]  # fmt: skip
    assert page.inner_text(row.format("320500000304", "seen")).endswith("20 min ago")
    assert page.inner_text(row.format("320500000305", "seen")) == "no heartbeat yet"
    assert page.inner_text("[data-count=silent]") == "Silent: 1"
    shot(page, "13-fleet")
    page.goto(console.url + "/console/fleet?lang=zh-Hant")
    assert page.inner_text(row.format("320500000302", "status")) == "故障"
    assert "缺紙" in page.inner_text(row.format("320500000302", "paper"))
    page.goto(console.url + "/console/fleet?lang=zh-Hans")
    assert page.inner_text(row.format("320500000303", "status")) == "暂停服务"
    assert "未插 PSAM" in page.inner_text(row.format("320500000303", "reasons"))
    # An administrator opens it too; the page is the same for every role that may.
    page.context.clear_cookies()
    log_in(page, console, "admin")
    page.goto(console.url + "/console/fleet")
    assert page.locator("table.fleet tbody tr").count() == 5
