"""Appointments, queue numbers, bus tickets and public-bike deposits end to end:
the kiosk (DemoWorld: simulated card and PSAM, printer simulator) → the central on
uvicorn → the departments simulator in its own process, over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization

from backend_sync.central.departments import Departments
from backend_sync.central.deposits import ACCOUNT, held_deposits
from backend_sync.terminal.bus_validation import TicketValidator
from kiosk.core.views import Language
from kiosk.journeys.citizen_states import State
from kiosk.journeys.queue import Queue
from tests.backend_sync.support import free_port
from tests.kiosk.conftest import Kiosk
from tests.services.conftest import DepartmentsProcess

S = State
LANGS = (Language.ZH_HANS, Language.ZH_HANT, Language.EN)


@pytest.fixture(scope="module")
def departments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DepartmentsProcess]:
    d = DepartmentsProcess(tmp_path_factory.mktemp("dept") / "departments.db", free_port())
    d.start()
    yield d
    d.stop()


@pytest.fixture
def hall(make_kiosk: Callable[..., Kiosk], departments: DepartmentsProcess) -> Iterator[Kiosk]:
    """A kiosk whose central asks the departments simulator (short timeouts, so a
    department that is slow costs the test little)."""
    k = make_kiosk()
    gateway = Departments(departments.url, timeout=0.4, attempts=2, budget_s=1.0, backoff=0.02)
    k.world.central.departments = gateway
    k.start()
    yield k
    departments.clear_faults()
    gateway.close()


def _step(k: Kiosk, field: str, pick: Callable[[list[str]], str] = lambda vs: vs[0]) -> str:
    """In FORM: the field ``field`` offered (live choices), one picked, submitted."""
    assert k.state is S.FORM, k.m.screen()
    view = k.m.screen().form
    assert view is not None
    f = next(f for f in view.fields if f.name == field)
    value = pick([v for v, _ in f.choices])
    k.m.set_field(field, value)
    k.m.submit_form()
    k.settle()
    return value


def _slip_text(k: Kiosk) -> str:
    sim = k.world.printer_sim
    assert sim is not None
    return sim.wait_for_jobs(1)[-1].text


def _free(departments: DepartmentsProcess, service: str, slot: str) -> int:
    got = httpx.get(f"{departments.url}/hall/services/{service}/slots").json()["slots"]
    return next(s["free"] for s in got if s["id"] == slot)


def test_book_and_cancel_an_appointment_in_three_languages(
    hall: Kiosk, departments: DepartmentsProcess
) -> None:
    k = hall
    booked: list[tuple[str, str]] = []
    for n, lang in zip((1, 2, 3), LANGS, strict=True):
        k.login(n)
        k.m.set_language(lang.value)
        k.m.choose_service("appointment")
        k.settle()
        _step(k, "department", lambda vs: "housing_fund")
        service = _step(k, "service", lambda vs: "hf-loan")
        free = {}
        slot = _step(k, "slot", lambda vs: vs[0])
        free[slot] = _free(departments, service, slot)
        confirm = k.m.screen().confirm
        assert k.state is S.CONFIRM and confirm is not None and confirm.kind == "submit"
        want = {"zh-Hans": "住房公积金", "zh-Hant": "住房公積金", "en": "Housing fund"}[lang.value]
        assert ("department", want) in confirm.details
        k.m.confirm()
        k.settle()
        result = k.m.screen().result
        assert result is not None and (result.ok, result.code, result.kind) == (
            True, "booked", "booking")  # fmt: skip
        assert result.reference and result.receipt == "printed"
        assert result.reference in _slip_text(k)
        assert _free(departments, service, slot) == free[slot] - 1
        booked.append((result.reference, slot))
        # One open booking per card per service: the same citizen again is refused.
        k.m.back()
        k.settle()
        k.m.choose_service("appointment")
        k.settle()
        _step(k, "department", lambda vs: "housing_fund")
        _step(k, "service", lambda vs: "hf-loan")
        _step(k, "slot", lambda vs: vs[-1])
        k.m.confirm()
        k.settle()
        again = k.m.screen().result
        assert again is not None and (again.ok, again.code) == (False, "already_booked")
        k.m.finish()
        k.settle()
        k.remove()
    # Cancel: only with the card that booked (a second cancel changes nothing); the
    # slot is free again.
    reference, slot = booked[0]
    free_before = _free(departments, "hf-loan", slot)
    for n, code in ((2, "booking_not_found"), (1, "booking_cancelled"), (1, "booking_cancelled")):
        k.login(n)
        k.m.choose_service("appointment_cancel")
        k.settle()
        k.m.set_field("booking", reference)
        k.m.submit_form()
        k.settle()
        k.m.confirm()
        k.settle()
        result = k.m.screen().result
        assert result is not None and result.code == code, (n, result)
        k.m.finish()
        k.settle()
        k.remove()
    assert _free(departments, "hf-loan", slot) == free_before + 1


@pytest.mark.parametrize("fault", [("status", 503), ("delay", 0.6)])
def test_a_department_down_or_slow_says_try_later_and_changes_nothing(
    hall: Kiosk, departments: DepartmentsProcess, fault: tuple[str, float]
) -> None:
    k = hall
    k.login(1)
    # Down while the form asks for the hall's services: back to the menu, try later.
    departments.fault(fault[0], "/hall/services", value=fault[1], count=10)
    k.m.choose_service("appointment")
    k.settle()
    assert (k.state, k.m.screen().notices) == (S.MENU, ("department_unavailable",))
    departments.clear_faults()
    # Down at the booking itself: the outcome says so and nothing is booked.
    k.m.choose_service("appointment")
    k.settle()
    _step(k, "department", lambda vs: "public_security")
    service = _step(k, "service", lambda vs: "permit")
    slot = _step(k, "slot")
    before = _free(departments, service, slot)
    departments.fault(fault[0], "/hall/bookings", value=fault[1], count=10)
    k.m.confirm()
    k.settle()
    result = k.m.screen().result
    assert result is not None and (result.ok, result.code) == (False, "try_later")
    departments.clear_faults()
    if fault[0] == "delay":
        import time

        time.sleep(fault[1])  # the slow answers land before we look
    assert _free(departments, service, slot) == before
    k.m.finish()
    k.settle()
    k.remove()


def test_a_queue_number_without_a_card_says_who_is_ahead(
    hall: Kiosk, departments: DepartmentsProcess
) -> None:
    k = hall
    assert "queue" in k.m.screen().extra["card_less"]
    numbers = []
    for lang in LANGS:
        k.m.set_language(lang.value)
        k.m.start_journey("queue")
        k.settle()
        scr = k.m.screen()
        assert scr.state is Queue.CHOOSE and scr.form is not None
        assert {v for v, _ in scr.form.fields[0].choices} >= {"ss-card", "hukou"}
        k.m.set_field("service", "hukou")
        k.m.submit_form()
        k.settle()
        scr = k.m.screen()
        assert scr.state is Queue.NUMBER and scr.result is not None and scr.card is None
        assert scr.result.receipt == "printed" and scr.result.reference
        numbers.append((scr.result.reference, int(scr.extra["ahead"])))
        assert scr.result.reference in _slip_text(k)
        k.m.finish()
        k.settle()
        assert (k.world.machine.journey.name, k.state) == ("citizen", S.ATTRACT)
    assert [a for _, a in numbers] == [numbers[0][1] + i for i in range(3)]
    assert len({n for n, _ in numbers}) == 3
    departments.fault("status", "/hall/services", value=503, count=10)
    k.m.start_journey("queue")
    k.settle()
    assert (k.state, k.m.screen().notices) == (S.ATTRACT, ("department_unavailable",))


def _buy_ticket(k: Kiosk, day: str) -> tuple[str, str, int]:
    """(ticket id, departure, fare) of a ticket bought through the kiosk's flow."""
    k.m.choose_service("bus_ticket")
    k.settle()
    _step(k, "day", lambda vs: day)
    _step(k, "route", lambda vs: "无锡")  # the cheapest: two fit on the demo card
    departure = _step(k, "departure", lambda vs: vs[0])
    confirm = k.m.screen().confirm
    assert k.state is S.CONFIRM and confirm is not None, k.m.screen().notices
    assert confirm.kind == "debit"
    k.m.confirm()
    k.settle()
    result = k.m.screen().result
    assert result is not None and (result.ok, result.code) == (True, "ticket_issued"), result
    assert result.reference
    return result.reference, departure, confirm.amount_fen


def test_a_bus_ticket_is_paid_printed_with_the_central_qr_validated_once_and_refunded(
    hall: Kiosk, tmp_path: Path
) -> None:
    k = hall
    w = k.world
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    k.login(1)
    k.m.set_language("en")  # the appointment and queue tests walk all three
    before = w.card_balance("1")
    ticket, departure, fare = _buy_ticket(k, tomorrow)
    assert k.m.screen().result.title == "Long-distance bus ticket"  # type: ignore[union-attr]
    assert w.card_balance("1") == before - fare
    sim = w.printer_sim
    assert sim is not None
    job = sim.wait_for_jobs(1)[-1]
    qrs = [p.decode() for p in job.qr_payloads if p.startswith(b"CCT1.")]
    assert len(qrs) == 1 and ticket in job.text
    key = serialization.load_pem_public_key((w.root / "central-public.pem").read_bytes())
    validator = TicketValidator(tmp_path / "used.db", key, departure)  # type: ignore[arg-type]
    first, second = validator.validate(qrs[0]), validator.validate(qrs[0])
    assert (first.ok, first.reason, second.ok, second.reason) == (True, "ok", False, "used")
    validator.close()
    # Another ticket, refunded before departure: the seat released, the fare back on
    # the card by a load from the central; asked again, nothing more is returned.
    k.m.back()
    k.settle()
    other, _, _ = _buy_ticket(k, tomorrow)
    paid = w.card_balance("1")
    k.m.back()
    k.settle()
    for attempt in range(2):
        k.m.choose_service("bus_refund")
        k.settle()
        k.m.set_field("ticket", other)
        k.m.submit_form()
        k.settle()
        if attempt == 1:
            form = k.m.screen().form
            assert k.state is S.FORM and form is not None
            assert form.fields[0].error == "ticket_refunded"
            break
        confirm = k.m.screen().confirm
        assert confirm is not None and (confirm.kind, confirm.amount_fen) == ("load", fare)
        k.m.confirm()
        k.settle()
        result = k.m.screen().result
        assert result is not None and (result.ok, result.code) == (True, "ticket_refunded")
        assert w.card_balance("1") == paid + fare
        k.m.back()
        k.settle()
    w.sync()
    balances = w.ledger_balances()
    assert balances["payee:bus"] == fare  # the first ticket's; the second's went back


def test_a_bike_deposit_is_held_at_the_central_then_returned_exactly(hall: Kiosk) -> None:
    k = hall
    w = k.world
    asn = w.citizen(1).asn
    k.login(1)
    k.m.set_language("zh-Hant")
    before = w.card_balance("1")
    k.m.choose_service("bike_deposit")
    k.settle()
    confirm = k.m.screen().confirm
    assert confirm is not None and confirm.title == "開通公共自行車"
    assert confirm is not None and (confirm.kind, confirm.amount_fen) == ("debit", 10_000)
    k.m.confirm()
    k.settle()
    result = k.m.screen().result
    assert result is not None and (result.ok, result.code) == (True, "deposit_held")
    assert w.card_balance("1") == before - 10_000
    with w.central.engine.connect() as conn:
        held = held_deposits(conn, asn)
    assert [(d.amount, d.status) for d in held] == [(10_000, "held")]
    assert w.ledger_balances()[ACCOUNT] == 10_000
    # the status, and no second deposit
    k.m.back()
    k.settle()
    k.m.choose_service("bike_rental")
    k.settle()
    info = k.m.screen().info
    assert info is not None and ("bike_status", "held") in info.details
    k.m.back()
    k.settle()
    k.m.choose_service("bike_deposit")
    k.settle()
    assert (k.state, k.m.screen().notices) == (S.MENU, ("bike_already_enabled",))
    # disabled: the deposit comes back as a load with the central's MAC2
    k.m.choose_service("bike_return")
    k.settle()
    confirm = k.m.screen().confirm
    assert confirm is not None and (confirm.kind, confirm.amount_fen) == ("load", 10_000)
    k.m.confirm()
    k.settle()
    result = k.m.screen().result
    assert result is not None and (result.ok, result.code) == (True, "deposit_returned")
    assert w.card_balance("1") == before
    w.sync()
    with w.central.engine.connect() as conn:
        assert held_deposits(conn, asn) == []
        status = conn.execute(sa.text("SELECT status FROM bike_deposits")).scalars().all()
    assert status == ["returned"]
    assert w.ledger_balances().get(ACCOUNT, 0) == 0
    k.m.back()
    k.settle()
    k.m.choose_service("bike_return")
    k.settle()
    assert (k.state, k.m.screen().notices) == (S.MENU, ("bike_not_enabled",))
