"""Refusals decided at the station alone are audited at the central (docs/sync.md,
"Station events"): kept on the station's disk, sent signed by the counter terminal's
key, kept while the central is away; replays and forgeries refused; a damaged event
file reported and stood in for, nothing else lost."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from backend_sync import chain
from backend_sync.central import registry
from backend_sync.central.counter_models import counter_events
from backend_sync.station_events_wire import StationEvent, StationEvents, StationEventsRequest
from backend_sync.terminal.client import CentralUnavailable
from backend_sync.terminal.station_events import EventsReplayed, send_station_events
from cardlib.certs import make_test_ca
from kiosk.counter import CounterError
from kiosk.counter.events import StationEvents as Journal
from tests.counter.conftest import COUNTER_TID, Counter


def _events(k: Counter) -> list[tuple[str, str | None, str | None, str]]:
    with k.central.engine.connect() as conn:
        rows = conn.execute(
            sa.select(counter_events.c.reason, counter_events.c.asn, counter_events.c.role,
                      counter_events.c.source).order_by(counter_events.c.id)
        ).all()  # fmt: skip
    return [(r.reason, r.asn, r.role, r.source) for r in rows]


def _refused(k: Counter, pin: str, station: object = None) -> str:
    with pytest.raises(CounterError) as exc:
        (station or k.station).login(pin)  # type: ignore[attr-defined]
    return exc.value.reason


def test_refusals_at_the_station_are_audited_with_the_card_number(counter: Counter) -> None:
    k = counter
    citizen, tech, clerk = k.card("citizen"), k.card("technician"), k.card("clerk")
    k.clerk_reader.insert(k.wallet.open_card(citizen.asn))
    assert _refused(k, citizen.pin) == "not_an_operator"  # a citizen card as clerk card
    k.insert_clerk("technician")
    assert _refused(k, tech.pin) == "operator_role"  # no clerk role
    k.insert_clerk()
    assert _refused(k, "000000") == "wrong_pin"  # tries left
    other_ca = make_test_ca(dt.datetime.now(dt.UTC), name="another TEST ONLY CA")[1]
    assert _refused(k, clerk.pin, k.new_station(trusted=[other_ca], events=k.station.events)) == (
        "operator_not_genuine"
    )
    # Signed in, then the card pulled out; another session left idle.
    session = k.login()
    k.clerk_reader.remove()
    with pytest.raises(CounterError):
        session.check_active()
    now = [0.0]
    idle = k.new_station(clock=lambda: now[0], idle_timeout_s=10.0,
                         events=Journal(k.tmp / "events-idle", k.station.events.sender))  # type: ignore[union-attr]  # fmt: skip
    k.insert_clerk()
    quiet = idle.login(clerk.pin)
    now[0] = 11.0
    with pytest.raises(CounterError):
        quiet.check_active()
    # A hotlisted operator card: its request refused at the central, audited there.
    registry.set_card_status(k.central, asn=clerk.asn, status="blocked")
    with pytest.raises(CounterError) as blocked:
        k.station.login(clerk.pin).lookup(citizen.asn)
    assert blocked.value.reason == "operator_card_blocked"
    for st in (k.station, idle):
        st.events.wait()  # type: ignore[union-attr]
        assert st.events.send().pending == 0  # type: ignore[union-attr]
    got = _events(k)
    station = [e for e in got if e[3] == "station"]
    assert station == [
        ("not_an_operator", citizen.asn, "citizen", "station"),
        ("operator_role", tech.asn, "technician", "station"),
        ("wrong_pin", clerk.asn, "clerk", "station"),
        ("operator_not_genuine", clerk.asn, None, "station"),
        ("session_locked_removed", clerk.asn, "clerk", "station"),
        ("session_locked_idle", clerk.asn, "clerk", "station"),
    ]
    assert ("operator_card_blocked", clerk.asn, None, "central") in got
    with k.central.engine.connect() as conn:
        detail = conn.execute(sa.select(counter_events.c.detail).where(
            counter_events.c.reason == "wrong_pin")).scalar_one()  # fmt: skip
    assert detail == "tries_left=2"


def test_kept_while_the_central_is_away_and_sent_after(counter: Counter, tmp_path: Path) -> None:
    k = counter
    gate = threading.Event()

    def away(_events: object) -> int:
        gate.wait(5)  # a central that does not answer
        raise CentralUnavailable("connect timeout")

    folder = tmp_path / "events-away"
    station = k.new_station(events=Journal(folder, away))
    k.insert_clerk()
    t0 = time.monotonic()
    assert _refused(k, "000000", station) == "wrong_pin"
    assert _refused(k, "111111", station) == "wrong_pin"
    assert _refused(k, "222222", station) == "wrong_pin"  # no tries left
    assert _refused(k, "800001", station) == "pin_blocked"  # the clerk card's PIN blocked
    assert time.monotonic() - t0 < 2.0  # the clerk is never held up by the central
    gate.set()
    station.events.wait()  # type: ignore[union-attr]
    assert station.events.pending() == [1, 2, 3, 4] and _events(k) == []  # type: ignore[union-attr]
    # The station restarted, the central back: all sent, in order, once.
    again = Journal(folder, lambda evs: send_station_events(k.terminal.client, evs))
    report = again.send()
    assert (report.sent, report.pending, report.problems) == (4, 0, [])
    clerk = k.card("clerk").asn
    assert [(e[0], e[1]) for e in _events(k)] == [
        ("wrong_pin", clerk), ("wrong_pin", clerk), ("wrong_pin", clerk), ("pin_blocked", clerk),
    ]  # fmt: skip
    assert again.send().sent == 0
    assert again.record("wrong_pin") == 5  # numbering goes on after the acknowledged


def test_replayed_and_forged_events_are_refused(counter: Counter) -> None:
    k = counter
    client = k.terminal.client
    body = StationEvents(terminal_id=COUNTER_TID, ts=client._now_ms(), events=[
        StationEvent(seq=1, at_ms=client._now_ms(), reason="wrong_pin")])  # fmt: skip
    doc = body.model_dump(mode="json", exclude_none=True)
    sig = chain.sign(k.terminal.key, chain.canonical(doc))
    raw = StationEventsRequest(body=body, signature=sig).model_dump(mode="json", exclude_none=True)
    url = f"{k.server.url}/v1/counter/events"
    assert httpx.post(url, json=raw).json() == {"recorded_through": 1}
    replay = httpx.post(url, json=raw)
    assert (replay.status_code, replay.json()["reason"]) == (409, "event_replayed")
    forged = dict(raw, signature=chain.sign(chain.generate_key(), b"x"))
    assert httpx.post(url, json=forged).status_code == 401
    event = {**raw["body"]["events"][0], "seq": 2, "reason": "pin_blocked"}
    tampered = {**raw, "body": {**raw["body"], "events": [event]}}
    assert httpx.post(url, json=tampered).status_code == 401
    unknown = {**raw, "body": {**raw["body"], "terminal_id": "320500007777"}}
    assert httpx.post(url, json=unknown).status_code in (401, 403)
    bad = {**raw, "body": {**raw["body"], "events": [{"seq": 0, "at_ms": 1, "reason": "x"}]}}
    assert httpx.post(url, json=bad).status_code == 422
    # A lost answer: the station resends what was recorded; it learns the number and
    # sends only the rest.
    with pytest.raises(EventsReplayed) as again:
        send_station_events(client, body.events)
    assert (again.value.status, again.value.recorded_through) == (409, 1)
    assert [e[0] for e in _events(k)] == ["wrong_pin"]


def test_a_damaged_event_file_is_reported_and_nothing_else_is_lost(
    counter: Counter, tmp_path: Path
) -> None:
    k = counter
    folder = tmp_path / "events"

    def away(_events: object) -> int:
        raise CentralUnavailable("down")

    j = Journal(folder, away)
    for reason in ("wrong_pin", "not_an_operator", "pin_blocked"):
        j.record(reason, asn=k.card("clerk").asn)
    assert j.send().pending == 3
    (folder / "000000000002.json").write_bytes(b'{"seq": 2, "reason": "not_an_o')  # torn by hand
    (folder / "000000000004.json.tmp").write_bytes(b"{")  # a write torn before its rename
    j = Journal(folder, lambda evs: send_station_events(k.terminal.client, evs))
    report = j.send()
    assert report.sent == 3 and report.pending == 0
    [problem] = report.problems
    assert "000000000002.json unreadable" in problem and "000000000002.damaged" in problem
    assert (folder / "000000000002.damaged").exists()
    assert not (folder / "000000000004.json.tmp").exists()
    assert [e[0] for e in _events(k)] == ["wrong_pin", "journal_corrupt", "pin_blocked"]
    with k.central.engine.connect() as conn:
        assert conn.execute(sa.select(counter_events.c.detail).where(
            counter_events.c.seq == 2)).scalar_one() == "000000000002.json"  # fmt: skip
