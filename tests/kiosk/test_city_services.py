"""The city services at the kiosk, end to end: kiosk flow → central (uvicorn on
loopback) → the department simulator over HTTP, compared with the department's own
answer; three languages; the department down or slow; another card's data; a paid
bill or fine never offered again; a new query service after a sync."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import sqlalchemy as sa

from backend_sync.central import documents
from backend_sync.central.service_models import service_audit
from kiosk.demo.catalog import DEMO_CATALOG
from kiosk.journeys.citizen_states import State
from tests.kiosk.conftest import Kiosk

NAMES = {s["id"]: s["names"] for s in DEMO_CATALOG["services"]}
BILL_BY_ACCOUNT = {
    "id": "gas_by_account", "flow": "bill", "groups": ["payments"],
    "names": {"zh-Hans": "燃气费（户号）", "zh-Hant": "燃氣費（戶號）", "en": "Gas by account"},
    "needs": {"network": True},
    "fields": [{"name": "account", "kind": "digits",
                "labels": {"zh-Hans": "户号", "zh-Hant": "戶號", "en": "Account"}}],
    "payment": {"payee": "gas", "utility": "gas"},
}  # fmt: skip


def _audit(k: Kiosk) -> list[dict[str, Any]]:
    with k.world.central.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(service_audit))]


def _choose(k: Kiosk, service: str, **fields: str) -> None:
    k.m.choose_service(service)
    k.settle()
    if k.state is State.FORM:
        for name, value in fields.items():
            k.m.set_field(name, value)
        k.m.submit_form()
        k.settle()


def _home(k: Kiosk) -> None:
    k.m.back()
    k.settle()
    assert k.state is State.MENU, k.m.screen()


def _wait(what: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_statements_and_progress_in_three_languages(kiosk: Kiosk) -> None:
    k, dept = kiosk, kiosk.world.departments
    asn = k.world.citizen(1).asn
    ss = dept.get(f"/social-security/{asn}")
    fund = dept.get(f"/housing-fund/{asn}")
    (app,) = dept.get(f"/applications/holders/{asn}")["applications"]
    k.login(1)
    for lang in ("zh-Hans", "zh-Hant", "en"):
        k.m.set_language(lang)
        _choose(k, "social_security")
        info = k.m.screen().info
        assert k.state is State.INFO and info is not None and info.printable
        assert info.title == NAMES["social_security"][lang]
        rows = dict(info.details)
        assert rows["medical_balance"] == f"¥{ss['medical_balance'] / 100:,.2f}"
        m0 = ss["months"][0]
        assert rows[m0["month"]] == " / ".join(
            f"{m0[x] / 100:,.2f}" for x in ("pension", "medical", "unemployment")
        )
        _home(k)
        _choose(k, "housing_fund")
        info = k.m.screen().info
        assert info is not None and info.title == NAMES["housing_fund"][lang]
        rows = dict(info.details)
        assert rows["fund_balance"] == f"¥{fund['balance'] / 100:,.2f}"
        assert rows["loan_status"] == f"v.loan_{fund['loan_status']}"
        assert len(info.details) == 3 + len(fund["deposits"])
        _home(k)
        _choose(k, "application_progress", number=app["number"].lower())
        info = k.m.screen().info
        assert info is not None and info.title == NAMES["application_progress"][lang]
        rows = dict(info.details)
        assert rows["application"] == app["number"] and rows["current_step"] == app["current_step"]
        assert rows["department"] == app["department"]
        assert rows["expected_date"] == app["expected_date"]
        _home(k)
    # The statement, printed in the citizen's language (English now).
    _choose(k, "social_security")
    k.m.print_answer()
    k.settle()
    info = k.m.screen().info
    assert info is not None and info.receipt == "printed"
    sim = k.world.printer_sim
    assert sim is not None
    slip = sim.jobs[-1].text
    assert "Medical account:" in slip and "pension / medical / unemployment" in slip
    assert ss["months"][-1]["month"] in slip
    # Audited at the central: who asked for what, never the answer.
    audit = _audit(k)
    assert {(a["asn"], a["service"], a["outcome"]) for a in audit} == {
        (asn, s, "ok") for s in ("social_security", "housing_fund", "applications")
    }
    assert set(audit[0]) == {"id", "at_ms", "terminal_id", "asn", "service", "outcome"}
    assert ss["name"] not in json.dumps(audit, ensure_ascii=False)
    # Nor does the kiosk's own audit log keep what was shown.
    kiosk_log = json.dumps([e.fields for e in k.world.audit.entries()], ensure_ascii=False)
    assert ss["name"] not in kiosk_log and app["title"] not in kiosk_log
    assert f"{ss['medical_balance'] / 100:,.2f}" not in kiosk_log


@pytest.mark.parametrize("mode", ["status", "delay"])
def test_a_department_down_or_slow_is_try_later_and_changes_nothing(
    kiosk: Kiosk, mode: str
) -> None:
    k, dept = kiosk, kiosk.world.departments
    # The older bill flow too (a bill looked up by account through /v1/bills/lookup).
    body = json.loads(json.dumps(documents.signed_document(k.world.central, "catalog")
                                 .payload["body"]))  # fmt: skip
    body["services"].append({**BILL_BY_ACCOUNT})
    documents.publish(k.world.central, "catalog", body)
    k.world.agent.run_once()
    k.login(1)
    # 503 every time, or slower than the central's timeout on both of its tries.
    value = 503 if mode == "status" else 1.5
    dept.fault(mode, "/utilities", value, count=4)
    dept.fault(mode, "/social-security", value, count=4)
    _choose(k, "gas_bill")
    scr = k.m.screen()
    assert k.state is State.MENU and "department_unavailable" in scr.notices
    assert scr.online  # the central answered: the kiosk is not offline
    _choose(k, "social_security")
    assert k.state is State.MENU and "department_unavailable" in k.m.screen().notices
    _choose(k, "gas_by_account", account="1000001")
    scr = k.m.screen()
    assert k.state is State.MENU and "department_unavailable" in scr.notices and scr.online
    # Nothing was held or recorded, and the department changed nothing.
    dept.clear_faults()
    assert k.world.outbox.status().head_seq == 0
    (bill,) = k.world.unpaid_bills("gas", "1000001")
    assert k.world.order_status(bill["reference"]) is None
    outcomes = [a["outcome"] for a in _audit(k)]  # bill lookups are not city-service calls
    assert outcomes == ["department_unavailable", "department_unavailable"]
    # Back up: the same services answer at once.
    _choose(k, "social_security")
    assert k.state is State.INFO


def test_a_citizen_never_sees_another_cards_data(kiosk: Kiosk) -> None:
    k, dept = kiosk, kiosk.world.departments
    theirs = dept.get(f"/applications/holders/{k.world.citizen(1).asn}")["applications"]
    k.login(2)
    # Another person's application number reads as unknown, back to the form.
    _choose(k, "application_progress", number=theirs[0]["number"])
    scr = k.m.screen()
    assert k.state is State.FORM and scr.form is not None
    assert scr.form.error == "application_not_found"
    k.m.cancel()
    k.settle()
    # A department answering about someone else is refused at the central.
    dept.fault("wrong_person", "/housing-fund")
    _choose(k, "housing_fund")
    assert k.state is State.MENU and "department_unavailable" in k.m.screen().notices
    _choose(k, "housing_fund")  # the next answer is the holder's own
    info = k.m.screen().info
    mine = dept.get(f"/housing-fund/{k.world.citizen(2).asn}")
    assert info is not None
    assert dict(info.details)["fund_balance"] == f"¥{mine['balance'] / 100:,.2f}"


def test_a_paid_gas_bill_reaches_the_department_and_is_never_offered_again(kiosk: Kiosk) -> None:
    k = kiosk
    (bill,) = k.world.unpaid_bills("gas", "1000001")  # the first citizen's household
    k.login(1)
    k.m.set_language("en")
    _choose(k, "gas_bill")  # account left empty: the holder's own
    conf = k.m.screen().confirm
    assert k.state is State.CONFIRM and conf is not None and conf.title == "Gas bill"
    assert (conf.amount_fen, dict(conf.details)["account"]) == (bill["amount"], "1000001")
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.receipt == "printed"
    k.m.back()
    k.settle()
    # Not uploaded yet: the department still lists it, the central does not offer it.
    assert k.world.unpaid_bills("gas", "1000001")
    _choose(k, "gas_bill")
    info = k.m.screen().info
    assert k.state is State.INFO and info is not None and ("bills", "v.none") in info.details
    _home(k)
    k.world.agent.run_once()
    assert k.world.order_status(bill["reference"]) == "paid"
    _wait(lambda: not k.world.unpaid_bills("gas", "1000001"))  # the notice reached it
    _choose(k, "gas_bill", account="1000001")
    assert k.state is State.FORM and k.m.screen().form.error == "bill_not_found"
    assert k.world.outbox.status().head_seq == 1  # one debit, never a second


def test_a_traffic_fine_is_held_and_paid_from_the_purse(kiosk: Kiosk) -> None:
    k, dept = kiosk, kiosk.world.departments
    c = k.world.citizen(1)
    fines = [f for v in dept.get(f"/traffic/holders/{c.asn}")["vehicles"] for f in v["fines"]]
    oldest = min(fines, key=lambda f: (f["day"], f["reference"]))
    before = k.world.card_balance(c.asn)
    k.login(1)
    k.m.set_language("zh-Hant")
    _choose(k, "traffic_fines")
    conf = k.m.screen().confirm
    assert k.state is State.CONFIRM and conf is not None and conf.amount_fen == oldest["amount"]
    assert conf.title == NAMES["traffic_fines"]["zh-Hant"]
    rows = dict(conf.details)
    assert rows["reference"] == oldest["reference"] and rows["fines"] == str(len(fines))
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.balance_after_fen == before - oldest["amount"]
    sim = k.world.printer_sim
    assert sim is not None and oldest["reference"] in sim.jobs[-1].text
    k.m.back()
    k.settle()
    _choose(k, "traffic_fines")  # the paid one is never offered again
    scr = k.m.screen()
    offered = dict(scr.confirm.details)["reference"] if scr.confirm else None
    assert offered != oldest["reference"]
    k.m.back()
    k.settle()
    k.world.agent.run_once()
    assert k.world.ledger_balances()["payee:traffic"] == oldest["amount"]
    _wait(lambda: dept.get(f"/traffic/fines/{oldest['reference']}")["paid_order"] is not None)


def test_a_new_query_service_at_the_central_appears_after_sync(kiosk: Kiosk) -> None:
    k = kiosk
    central = k.world.central
    k.login(1)
    body = json.loads(json.dumps(documents.signed_document(central, "catalog").payload["body"]))
    names = {"zh-Hans": "医保账户查询", "zh-Hant": "醫保賬戶查詢", "en": "Medical account"}
    body["services"].append({"id": "medical_account", "flow": "social_security",
                             "groups": ["elderly_health"], "names": names,
                             "needs": {"network": True}})  # fmt: skip
    documents.publish(central, "catalog", body)
    assert "medical_account" not in {i.service_id for g in k.m.screen().menu for i in g.items}
    k.world.agent.run_once()
    k.m.set_language("zh-Hant")
    k.settle()
    items = {i.service_id: i for g in k.m.screen().menu for i in g.items}
    assert items["medical_account"].title == "醫保賬戶查詢" and items["medical_account"].available
    _choose(k, "medical_account")
    info = k.m.screen().info
    assert k.state is State.INFO and info is not None and info.title == "醫保賬戶查詢"
    assert _audit(k)[-1]["service"] == "social_security"


def test_a_bill_the_purse_cannot_cover_is_still_shown(kiosk: Kiosk) -> None:
    k = kiosk
    balance = k.world.card_balance(k.world.citizen(1).asn)
    # A household whose electricity bill is more than the card holds (any account may
    # be asked, as at a counter).
    account, bill = next(
        (a, b[0])
        for a in (str(1_000_001 + n) for n in range(60))
        if (b := k.world.unpaid_bills("electricity", a)) and b[0]["amount"] > balance
    )
    k.login(1)
    _choose(k, "electricity_bill", account=account)
    info = k.m.screen().info
    assert k.state is State.INFO and info is not None
    rows = dict(info.details)
    assert rows["bill"] == f"¥{bill['amount'] / 100:,.2f}" and rows["payable"] == "v.balance_short"
    assert k.world.order_status(bill["reference"]) is None  # nothing held
