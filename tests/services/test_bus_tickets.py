"""Bus tickets: timetable, hold and pay, the signed QR, offline validation, refunds."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from backend_sync import chain, tickets_qr
from backend_sync.terminal.bus_validation import TicketValidator
from backend_sync.terminal.client import CentralRefused, CentralUnavailable
from kiosk.cli import main
from tests.backend_sync.support import sell
from tests.services.conftest import World

DAY = (dt.date.today() + dt.timedelta(days=2)).isoformat()


def _bought(w: World, departure: str, ttc: int) -> tuple[str, str]:
    c = w.kiosk.client
    hold = c.hold_bus_ticket(asn=w.citizen.asn, departure=departure)
    with pytest.raises(CentralRefused) as e:
        c.bus_ticket(asn=w.citizen.asn, ticket_id=hold.ticket_id)
    assert e.value.reason == "ticket_not_paid"
    sell(w.kiosk, w.citizen, hold.fare, ttc, payee="bus", order_id=hold.order_id)
    w.kiosk.agent.run_once()
    t = c.bus_ticket(asn=w.citizen.asn, ticket_id=hold.ticket_id)
    assert (t.departure, t.seat, t.fare, t.status) == (departure, hold.seat, hold.fare, "issued")
    return t.ticket_id, t.qr


def test_a_ticket_validated_twice_is_refused_the_second_time(world: World, tmp_path: Path) -> None:
    w = world
    c = w.kiosk.client
    dep = c.bus_timetable(day=DAY).departures[0]
    assert dep.fare > 0 and dep.seats_left > 0
    ticket_id, qr = _bought(w, dep.id, ttc=401)
    assert c.bus_timetable(day=DAY).departures[0].seats_left == dep.seats_left - 1
    key = w.central.signing_key.public_key()
    v = TicketValidator(tmp_path / "used.db", key, dep.id)
    assert v.validate(qr).ok
    assert v.validate(qr).reason == "used"  # a photocopy at the same bus
    v.close()
    v = TicketValidator(tmp_path / "used.db", key, dep.id)  # the used list survives a restart
    assert v.validate(qr).reason == "used"
    other = TicketValidator(tmp_path / "other.db", key, "20990101-0730-SH")
    assert other.validate(qr).reason == "wrong_departure"
    head, payload, sig = qr.split(".")
    forged = tickets_qr.encode(chain.generate_key(), tickets_qr.decode(key, qr))
    assert v.validate(forged).reason == "bad_signature"
    assert v.validate(f"{head}.{payload[:-2]}AA.{sig}").reason in ("bad_signature", "not_a_ticket")
    assert v.validate("\x00garbage").reason == "not_a_ticket"
    ack = v.report(c)
    assert (ack.accepted, ack.unknown) == (1, [])
    assert v.unreported() == []
    # Boarded: no refund any more.
    with pytest.raises(CentralRefused) as e:
        c.refund_bus_ticket(asn=w.citizen.asn, ticket_id=ticket_id)
    assert e.value.reason == "departed"
    with pytest.raises(CentralRefused) as e:  # another card cannot see it
        c.bus_ticket(asn=w.other.asn, ticket_id=ticket_id)
    assert e.value.reason == "ticket_not_found"


def test_refund_before_departure_gives_the_seat_back_and_stops_at_departure(
    world: World,
) -> None:
    w = world
    c = w.kiosk.client
    dep = c.bus_timetable(day=DAY).departures[1]
    ticket_id, _ = _bought(w, dep.id, ttc=402)
    assert c.refund_bus_ticket(asn=w.citizen.asn, ticket_id=ticket_id).status == "refunded"
    assert c.bus_timetable(day=DAY).departures[1].seats_left == dep.seats_left
    ticket_id, _ = _bought(w, dep.id, ttc=403)
    # Three days on (the central's clock), the bus has left: no refund.
    w.central.request_max_age_s = 5 * 86400
    w.central.clock = lambda: time.time() + 3 * 86400
    with pytest.raises(CentralRefused) as e:
        c.refund_bus_ticket(asn=w.citizen.asn, ticket_id=ticket_id)
    assert e.value.reason == "departed"


def test_station_down_holds_no_order(world: World) -> None:
    w = world
    c = w.kiosk.client
    dep = c.bus_timetable(day=DAY).departures[2]
    w.departments.fault("status", "/bus/seats", value=503, count=10)
    with pytest.raises(CentralUnavailable):
        c.hold_bus_ticket(asn=w.citizen.asn, departure=dep.id)
    with w.central.engine.connect() as conn:
        n = conn.exec_driver_sql("SELECT COUNT(*) FROM orders WHERE payee = 'bus'").scalar()
    assert n == 0


def test_civicard_ticket_validate_offline(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = world
    dep = w.kiosk.client.bus_timetable(day=DAY).departures[3]
    _, qr = _bought(w, dep.id, ttc=404)
    pem = tmp_path / "central.pem"
    pem.write_bytes(chain.public_key_pem(w.central.signing_key.public_key()))
    args = [
        "ticket",
        "validate",
        "--central-key",
        str(pem),
        "--departure",
        dep.id,
        "--db",
        str(tmp_path / "v.db"),
    ]
    assert main([*args, qr]) == 0
    assert main([*args, qr]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("BOARD ok") and out[1].startswith("REFUSED used")


def test_a_hold_whose_debit_never_happened_gives_the_seat_back(world: World) -> None:
    w = world
    c = w.kiosk.client
    dep = c.bus_timetable(day=DAY).departures[4]
    hold = c.hold_bus_ticket(asn=w.citizen.asn, departure=dep.id)
    assert c.bus_timetable(day=DAY).departures[4].seats_left == dep.seats_left - 1
    iid = w.kiosk.outbox.begin_purchase(
        asn=w.citizen.asn,
        amount=hold.fare,
        atc=w.citizen.offline_atc,
        ttc=405,
        date="20261128",
        time="101500",
        key_version=1,
        algorithm=int(w.citizen.alg),
        balance_before=w.citizen.balance,
        payee="bus",
        order_id=hold.order_id,
    )
    w.kiosk.outbox.abort(iid, "card_pulled")
    w.kiosk.agent.run_once()  # the abort releases the order; the seat goes back
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if c.bus_timetable(day=DAY).departures[4].seats_left == dep.seats_left:
            break
        time.sleep(0.05)
    assert c.bus_timetable(day=DAY).departures[4].seats_left == dep.seats_left
    with pytest.raises(CentralRefused):
        c.bus_ticket(asn=w.citizen.asn, ticket_id=hold.ticket_id)
