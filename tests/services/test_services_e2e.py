"""Every service kiosk client → central (uvicorn) → departments simulator (its own process)."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from backend_sync import chain
from backend_sync.central.service_models import department_notices, service_audit
from backend_sync.services_wire import ServiceCall, ServiceCallRequest
from backend_sync.terminal.client import CentralRefused, CentralUnavailable
from tests.backend_sync.support import sell
from tests.services.conftest import World

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def _audit(w: World) -> list[dict[str, object]]:
    with w.central.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(service_audit))]


def _pay(w: World, order_id: str, amount: int, payee: str, ttc: int) -> None:
    """The kiosk's purse purchase citing the order, uploaded: the order is paid."""
    sell(w.kiosk, w.citizen, amount, ttc, payee=payee, order_id=order_id)
    w.kiosk.agent.run_once()


def _delivered(w: World, order_id: str) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with w.central.engine.connect() as conn:
            got = conn.execute(
                sa.select(department_notices.c.delivered_ms).where(
                    department_notices.c.order_id == order_id
                )
            ).scalar()
        if got is not None:
            return True
        time.sleep(0.05)
    return False


def test_statements_are_the_holders_own_and_audited_without_content(world: World) -> None:
    w = world
    c = w.kiosk.client
    ss = c.social_security(asn=w.citizen.asn)
    assert ss.asn == w.citizen.asn and ss.name == "张三" and len(ss.months) == 12
    fund = c.housing_fund(asn=w.other.asn)
    assert fund.asn == w.other.asn and fund.name == "李四"
    audit = _audit(w)
    assert [(a["asn"], a["service"], a["outcome"]) for a in audit] == [
        (w.citizen.asn, "social_security", "ok"),
        (w.other.asn, "housing_fund", "ok"),
    ]
    assert set(audit[0]) == {"id", "at_ms", "terminal_id", "asn", "service", "outcome"}


def test_a_department_answering_for_someone_else_is_never_passed_on(world: World) -> None:
    w = world
    w.departments.fault("wrong_person", "/social-security")
    with pytest.raises(CentralUnavailable):  # 502 department_wrong_person
        w.kiosk.client.social_security(asn=w.citizen.asn)
    assert _audit(w)[-1]["outcome"] == "department_wrong_person"


def test_an_unregistered_or_blocked_card_gets_nothing(world: World) -> None:
    w = world
    with pytest.raises(CentralRefused) as e:
        w.kiosk.client.social_security(asn="32159999999999999999")
    assert e.value.reason == "card_not_active"


def test_a_forged_signature_is_refused(world: World) -> None:
    w = world
    body = ServiceCall(
        terminal_id=w.kiosk.terminal_id,
        request_id="r1",
        service="housing_fund",
        asn=w.citizen.asn,
        ts=int(time.time() * 1000),
    )
    sig = chain.sign(chain.generate_key(), chain.canonical(body.model_dump(exclude_none=True)))
    r = httpx.post(
        f"{w.server.url}/v1/services/housing_fund",
        json=ServiceCallRequest(body=body, signature=sig).model_dump(),
    )
    assert (r.status_code, r.json()["reason"]) == (401, "bad_signature")


@pytest.mark.parametrize("fault", [("delay", 2.0), ("status", 503)])
def test_department_down_or_slow_says_try_later_and_books_nothing(
    world: World, fault: tuple[str, float]
) -> None:
    w = world
    c = w.kiosk.client
    slot = c.appointment_slots(service="permit").slots[0]
    w.departments.fault(fault[0], "/hall/bookings", value=fault[1], count=10)
    rid = uuid.uuid4().hex
    with pytest.raises(CentralUnavailable):
        c.book_appointment(asn=w.citizen.asn, service="permit", slot=slot.id, request_id=rid)
    assert _audit(w)[-1]["outcome"] == "department_unavailable"
    w.departments.clear_faults()
    time.sleep(fault[1] if fault[0] == "delay" else 0)
    # The kiosk's retry of the same request books exactly one slot.
    b = c.book_appointment(asn=w.citizen.asn, service="permit", slot=slot.id, request_id=rid)
    again = c.book_appointment(asn=w.citizen.asn, service="permit", slot=slot.id, request_id=rid)
    assert b == again and b.status == "open"
    free = next(s.free for s in c.appointment_slots(service="permit").slots if s.id == slot.id)
    assert free == slot.free - 1
    c.cancel_appointment(asn=w.citizen.asn, booking=b.booking)


def test_appointments_book_one_per_service_cancel_and_rebook(world: World) -> None:
    w = world
    c = w.kiosk.client
    services = {s.code for s in c.hall_services().services}
    assert {"ss-card", "hf-loan", "hukou"} <= services
    slots = c.appointment_slots(service="hf-loan").slots
    b = c.book_appointment(asn=w.other.asn, service="hf-loan", slot=slots[0].id)
    with pytest.raises(CentralRefused) as e:
        c.book_appointment(asn=w.other.asn, service="hf-loan", slot=slots[1].id)
    assert e.value.reason == "already_booked"
    with pytest.raises(CentralRefused) as e:  # not the citizen's own booking
        c.cancel_appointment(asn=w.citizen.asn, booking=b.booking)
    assert e.value.reason == "booking_not_found"
    assert c.cancel_appointment(asn=w.other.asn, booking=b.booking).status == "cancelled"
    assert c.book_appointment(asn=w.other.asn, service="hf-loan", slot=slots[1].id).status == "open"


def test_queue_numbers_need_no_card_and_count_people_ahead(world: World) -> None:
    w = world
    c = w.kiosk.client
    first = c.queue_number(service="ss-transfer")
    second = c.queue_number(service="ss-transfer")
    assert second.ahead == first.ahead + 1 and second.number != first.number
    rid = uuid.uuid4().hex
    assert c.queue_number(service="ss-transfer", request_id=rid) == c.queue_number(
        service="ss-transfer", request_id=rid
    )  # a retry takes no second number
    assert _audit(w)[-1]["asn"] is None


def test_application_progress_only_among_the_holders_own(world: World) -> None:
    w = world
    c = w.kiosk.client
    mine = c.application_progress(asn=w.citizen.asn).applications
    assert mine and all(a.asn == w.citizen.asn for a in mine)
    a = mine[0]
    assert a.current_step and a.expected_date and a.department
    assert c.application_progress(asn=w.citizen.asn, number=a.number).applications == [a]
    with pytest.raises(CentralRefused) as e:
        c.application_progress(asn=w.other.asn, number=a.number)
    assert (e.value.status, e.value.reason) == (404, "application_not_found")


def test_a_paid_gas_bill_reaches_the_biller_and_is_never_offered_again(world: World) -> None:
    w = world
    c = w.kiosk.client
    bills = c.utility_bills(asn=w.citizen.asn, utility="gas").bills
    assert len(bills) == 1
    bill = bills[0]
    assert c.lookup_bill(payee="gas", account=bill.account).reference == bill.reference
    # The biller is down when the purchase posts: the notice waits, the bill is not re-offered.
    w.departments.fault("status", "/utilities/payments", value=503, count=1000)
    order = c.hold_order(
        asn=w.citizen.asn, payee="gas", reference=bill.reference, amount=bill.amount
    )
    _pay(world, order.order_id, bill.amount, "gas", ttc=101)
    assert c.utility_bills(asn=w.citizen.asn, utility="gas").bills == []
    with pytest.raises(CentralRefused):
        c.lookup_bill(payee="gas", account=bill.account)
    w.departments.clear_faults()
    r = httpx.post(
        f"{w.server.url}/v1/admin/departments/notices",
        headers={"authorization": "Bearer test-admin-token"},
    )
    assert r.json() == {"delivered": 1}
    direct = w.central.departments.utility_bills("gas", bill.account)  # type: ignore[union-attr]
    assert bill.reference not in {b.reference for b in direct.bills}


def test_water_and_electricity_bills_paid_in_one_upload(world: World) -> None:
    w = world
    c = w.kiosk.client
    for n, utility in enumerate(("water", "electricity")):
        bill = c.utility_bills(asn=w.citizen.asn, utility=utility).bills[0]
        order = c.hold_order(
            asn=w.citizen.asn, payee=utility, reference=bill.reference, amount=bill.amount
        )
        _pay(world, order.order_id, bill.amount, utility, ttc=200 + n)
        assert _delivered(world, order.order_id)
        assert c.utility_bills(asn=w.citizen.asn, utility=utility).bills == []


def test_a_traffic_fine_is_held_and_paid_like_a_bill(world: World) -> None:
    w = world
    c = w.kiosk.client
    rec = c.traffic_fines(asn=w.citizen.asn)
    fines = [f for v in rec.vehicles for f in v.fines]
    assert rec.asn == w.citizen.asn and fines
    fine = fines[0]
    order = c.hold_order(
        asn=w.citizen.asn, payee="traffic", reference=fine.reference, amount=fine.amount
    )
    _pay(world, order.order_id, fine.amount, "traffic", ttc=301)
    assert _delivered(world, order.order_id)
    left = [f.reference for v in c.traffic_fines(asn=w.citizen.asn).vehicles for f in v.fines]
    assert fine.reference not in left


def test_unknown_service_and_bad_params_are_clear_4xx(world: World) -> None:
    w = world
    with pytest.raises(CentralRefused) as e:
        w.kiosk.client.utility_bills(asn=w.citizen.asn, utility="../etc")
    assert e.value.reason == "bad_param"
    with pytest.raises(CentralRefused) as e:
        w.kiosk.client.appointment_slots(service="nosuch")
    assert (e.value.status, e.value.reason) == (404, "appointment_slots_not_found")


def test_a_refused_card_is_audited_too(world: World) -> None:
    with pytest.raises(CentralRefused):
        world.kiosk.client.traffic_fines(asn="32159999999999999998")
    assert _audit(world)[-1]["outcome"] == "card_not_active"


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"body": 3, "signature": "x"}', b"\xff\xfe" * 40, b'{"body": {"service": []}}'],
)
def test_hostile_bodies_get_4xx_never_5xx(world: World, body: bytes) -> None:
    for url in (
        f"{world.server.url}/v1/services/social_security",
        f"{world.departments.url}/hall/bookings",
        f"{world.departments.url}/utilities/payments",
    ):
        r = httpx.post(
            url,
            content=body,
            headers={"content-type": "application/json", "Idempotency-Key": "hostile-0001"},
        )
        assert 400 <= r.status_code < 500, (url, r.status_code)


def test_a_notice_the_biller_refuses_is_kept_for_staff_not_retried(world: World) -> None:
    w = world
    c = w.kiosk.client
    bill = c.utility_bills(asn=w.other.asn, utility="water").bills[0]
    # Held (and paid) for one fen less than the bill: the biller refuses the notice.
    order = c.hold_order(
        asn=w.other.asn, payee="water", reference=bill.reference, amount=bill.amount - 1
    )
    sell(w.kiosk, w.other, bill.amount - 1, 501, payee="water", order_id=order.order_id)
    w.kiosk.agent.run_once()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with w.central.engine.connect() as conn:
            row = conn.execute(
                sa.select(department_notices).where(department_notices.c.order_id == order.order_id)
            ).first()
        if row is not None:
            break
        time.sleep(0.05)
    assert row is not None and row.last_error == "refused amount_mismatch"
    r = httpx.post(
        f"{w.server.url}/v1/admin/departments/notices",
        headers={"authorization": "Bearer test-admin-token"},
    )
    assert r.json() == {"delivered": 0}
    with w.central.engine.connect() as conn:
        attempts = conn.execute(
            sa.select(department_notices.c.attempts).where(
                department_notices.c.order_id == order.order_id
            )
        ).scalar()
    assert attempts == 1
