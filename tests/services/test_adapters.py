"""The provider adapter against the real simulator process: faults, retries, keys."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from backend_sync.central.departments import (
    DepartmentBadAnswer,
    DepartmentRefused,
    Departments,
    DepartmentUnavailable,
)
from tests.backend_sync.support import asn_of, free_port
from tests.services.conftest import DepartmentsProcess


def _gateway(d: DepartmentsProcess, attempts: int = 3) -> Departments:
    return Departments(d.url, timeout=0.4, attempts=attempts, budget_s=2.0, backoff=0.01)


def test_statement_of_a_seeded_citizen(departments: DepartmentsProcess) -> None:
    with_ = _gateway(departments)
    ss = with_.social_security(asn_of(1))
    assert ss.asn == asn_of(1) and ss.name == "张三" and len(ss.months) == 12
    assert all(m.pension > m.medical > m.unemployment > 0 for m in ss.months)
    fund = with_.housing_fund(asn_of(1))
    assert len(fund.deposits) == 12 and fund.loan_status in ("none", "repaying", "applied")


def test_a_slow_department_is_unavailable_after_bounded_retries(
    departments: DepartmentsProcess,
) -> None:
    departments.fault("delay", "/social-security", value=1.0, count=5)
    t0 = time.monotonic()
    with pytest.raises(DepartmentUnavailable):
        _gateway(departments, attempts=2).social_security(asn_of(1))
    assert time.monotonic() - t0 < 2.5


def test_one_5xx_is_retried_and_answered(departments: DepartmentsProcess) -> None:
    departments.fault("status", "/housing-fund", value=503, count=1)
    assert _gateway(departments).housing_fund(asn_of(2)).asn == asn_of(2)


def test_5xx_every_time_is_unavailable(departments: DepartmentsProcess) -> None:
    departments.fault("status", "/housing-fund", value=500, count=3)
    with pytest.raises(DepartmentUnavailable):
        _gateway(departments).housing_fund(asn_of(2))


@pytest.mark.parametrize("mode", ["malformed"])
def test_a_malformed_body_is_a_bad_answer_not_a_crash(
    departments: DepartmentsProcess, mode: str
) -> None:
    departments.fault(mode, "/traffic", count=1)
    with pytest.raises(DepartmentBadAnswer):
        _gateway(departments).traffic(asn_of(1))


def test_a_body_off_its_schema_is_a_bad_answer(departments: DepartmentsProcess) -> None:
    # A well-formed JSON body that is not the documented statement (its ASN is not an ASN).
    bad = Departments(
        departments.url,
        transport=httpx.MockTransport(
            lambda _r: httpx.Response(200, json={"asn": "nobody", "name": 3})
        ),
    )
    with pytest.raises(DepartmentBadAnswer):
        bad.social_security(asn_of(1))


def test_unknown_person_is_refused_404(departments: DepartmentsProcess) -> None:
    with pytest.raises(DepartmentRefused) as e:
        _gateway(departments).social_security("0" * 20)
    assert e.value.status == 404


def test_a_retried_booking_books_once(departments: DepartmentsProcess) -> None:
    g = _gateway(departments)
    slot = g.slots("hukou").slots[0]
    key = uuid.uuid4().hex
    first = g.book(key=key, asn=asn_of(3), service="hukou", slot=slot.id)
    again = g.book(key=key, asn=asn_of(3), service="hukou", slot=slot.id)
    assert first == again
    free = next(s.free for s in g.slots("hukou").slots if s.id == slot.id)
    assert free == slot.free - 1
    with pytest.raises(DepartmentRefused) as e:  # a new key: one open booking per service
        g.book(key=uuid.uuid4().hex, asn=asn_of(3), service="hukou", slot=slot.id)
    assert e.value.reason == "already_booked"


def test_state_survives_a_restart_and_is_not_reseeded(tmp_path: Path) -> None:
    d = DepartmentsProcess(tmp_path / "d.db", free_port()).start()
    try:
        g = _gateway(d)
        bill = g.unpaid("gas", "1000001")[0]
        g.notify_paid(
            payee="gas", reference=bill.reference, order_id="order-0001", amount=bill.amount
        )
        d.stop()
        d.start()
        assert bill.reference not in {b.reference for b in g.unpaid("gas", "1000001")}
        # The notice retried after the restart is answered, not applied twice.
        g.notify_paid(
            payee="gas", reference=bill.reference, order_id="order-0001", amount=bill.amount
        )
        with pytest.raises(DepartmentRefused) as e:
            g.notify_paid(
                payee="gas", reference=bill.reference, order_id="order-0002", amount=bill.amount
            )
        assert e.value.reason == "already_paid"
    finally:
        d.stop()


def test_openapi_schema_documents_the_departments(departments: DepartmentsProcess) -> None:
    paths = httpx.get(f"{departments.url}/openapi.json").json()["paths"]
    for p in ("/social-security/{asn}", "/utilities/payments", "/hall/bookings", "/bus/seats"):
        assert p in paths
