"""Feedback: the working-day calendar, tracking numbers, the submission through the
outbox and the central's ingest, the two clocks, the case's states."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend_sync.central.feedback import cases, rules
from backend_sync.central.feedback.calendar import TZ, UnknownYear, WorkCalendar
from backend_sync.central.feedback.models import feedback_cases
from backend_sync.central.models import anomalies, terminal_records
from backend_sync.central.service import Central, Refused
from backend_sync.terminal import feedback as kiosk_fb
from backend_sync.terminal.client import CentralRefused
from backend_sync.tracking import ALPHABET, new_tracking, normalize_tracking, valid_tracking
from tests.backend_sync.support import ThreadServer, asn_of, cards, terminal

CAL = WorkCalendar.china()
DAY = 86_400_000
CATEGORIES = [
    {"code": "water.outage", "department": "water", "deadline_days": 1, "importance": 3,
     "names": {"zh-Hans": "停水", "zh-Hant": "停水", "en": "Water outage"}},
    {"code": "roads.pothole", "department": "transit", "deadline_days": 5, "importance": 2,
     "names": {"zh-Hans": "道路坑洼", "zh-Hant": "道路坑窪", "en": "Pothole"}},
]  # fmt: skip
WATER = cases.Actor("water1", "department_staff", "water")
TRANSIT = cases.Actor("transit1", "department_staff", "transit")
SUPER = cases.Actor("super1", "supervisor", None)


def ms(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> int:
    return int(dt.datetime(y, m, d, h, mi, tzinfo=TZ).timestamp() * 1000)


def due(arrived: int, days: int) -> dt.date:
    return dt.datetime.fromtimestamp(CAL.deadline_ms(arrived, days) / 1000, TZ).date()


# -- the calendar ---------------------------------------------------------------------


def test_deadline_skips_a_weekend() -> None:
    # Friday 6 March 2026, one working day: Monday 9 March at close.
    assert due(ms(2026, 3, 6, 18), 1) == dt.date(2026, 3, 9)
    assert CAL.deadline_ms(ms(2026, 3, 6, 18), 1) == ms(2026, 3, 9, 17)


def test_deadline_skips_a_public_holiday() -> None:
    # Wednesday 30 September; 1-7 October is the National Day holiday.
    assert due(ms(2026, 9, 30), 1) == dt.date(2026, 10, 8)
    # Qingming: Friday 3 April -> Saturday 4 to Monday 6 off -> Tuesday 7.
    assert due(ms(2026, 4, 3), 1) == dt.date(2026, 4, 7)


def test_deadline_lands_on_a_make_up_working_saturday() -> None:
    # Friday 9 October: Saturday 10 October is a make-up working day (调休).
    assert due(ms(2026, 10, 9), 1) == dt.date(2026, 10, 10)
    # Friday 13 February: Saturday 14 February works, then Spring Festival 15-23.
    assert due(ms(2026, 2, 13), 1) == dt.date(2026, 2, 14)
    assert due(ms(2026, 2, 13), 2) == dt.date(2026, 2, 24)
    # Sunday 4 January works too (元旦 make-up day).
    assert CAL.is_working_day(dt.date(2026, 1, 4)) and not CAL.is_working_day(dt.date(2026, 1, 2))


def test_unknown_year_is_refused_not_guessed() -> None:
    with pytest.raises(UnknownYear):
        CAL.is_working_day(dt.date(2031, 1, 2))


def test_working_hours_across_a_weekend() -> None:
    # Friday 16:00 -> Monday 10:00: one hour on Friday, one on Monday.
    assert CAL.working_ms_between(ms(2026, 3, 6, 16), ms(2026, 3, 9, 10)) == 2 * 3_600_000
    assert CAL.working_ms_between(ms(2026, 3, 9, 10), ms(2026, 3, 6, 16)) == 0


# -- tracking numbers -----------------------------------------------------------------


def test_tracking_numbers_are_random_checked_and_forgiving_to_type() -> None:
    seen = {new_tracking() for _ in range(2000)}
    assert len(seen) == 2000 and all(valid_tracking(t) for t in seen)
    t = next(iter(seen))
    for i in range(16):
        for ch in ALPHABET:
            if ch != t[i] and abs(ALPHABET.index(ch) - ALPHABET.index(t[i])) != 31:
                assert not valid_tracking(t[:i] + ch + t[i + 1 :])
    swapped = t[1] + t[0] + t[2:]
    assert t[0] == t[1] or not valid_tracking(swapped)
    typed = "-".join(t[i : i + 4] for i in (0, 4, 8, 12)).lower().replace("0", "o")
    assert normalize_tracking(typed) == t


# -- through the outbox ---------------------------------------------------------------

NOW = ms(2026, 3, 11, 10)  # a Wednesday


@pytest.fixture
def world(tmp_path: Path, issuer_keys: object, central_signing_key: object) -> Iterator[object]:
    from tests.backend_sync.support import make_central

    central = make_central(f"sqlite:///{tmp_path / 'c.db'}", issuer_keys, central_signing_key)  # type: ignore[arg-type]
    central.clock = lambda: NOW / 1000
    rules.set_categories(central, CATEGORIES)
    list(cards(central, issuer_keys, 3))  # type: ignore[arg-type]
    with ThreadServer(central) as srv:
        yield central, srv, tmp_path
    central.engine.dispose()


def kiosk(central: Central, srv: ThreadServer, tmp: Path, tid: str) -> object:
    t = terminal(central, srv.url, tmp, tid)
    t.client._now_ms = central.now_ms  # type: ignore[method-assign]  # in step with the central
    return t


def test_offline_submission_uploaded_two_days_later(world: tuple) -> None:  # type: ignore[type-arg]
    central, srv, tmp = world
    t = kiosk(central, srv, tmp, "0000000000A1")
    sub = kiosk_fb.submit(
        t.outbox, asn=asn_of(1), category="water.outage", ftype="report", urgency=3,
        body="停水两天了", identified=False, now_ms=NOW - 2 * DAY,
    )  # fmt: skip
    # Kiosk-side flooding rule: a second one the same day is refused at once.
    with pytest.raises(kiosk_fb.AlreadySubmitted):
        kiosk_fb.submit(t.outbox, asn=asn_of(1), category="water.outage", ftype="ask",
                        urgency=1, body="again", identified=False,
                        now_ms=NOW - 2 * DAY + 60_000)  # fmt: skip
    assert t.agent.upload_pending().ok
    # Typed back with dashes and lower case, the receipt's number finds the case.
    typed = "-".join(sub.tracking[i : i + 4] for i in (0, 4, 8, 12)).lower()
    [view] = kiosk_fb.lookup(t.client, tracking=typed)
    assert view.state == "dispatched"
    assert view.citizen_wait_ms - view.department_ms == 2 * DAY
    assert view.department_ms == 0 and view.deadline_ms == ms(2026, 3, 12, 17)
    # The department sees neither name nor card; the record is in the ledger's log.
    [row] = cases.queue(central, WATER)
    assert row.tracking == sub.tracking and row.citizen_name is None and not row.identified
    with central.engine.connect() as conn:
        rec = conn.execute(sa.select(terminal_records)).one()
    assert rec.kind == "feedback" and rec.status == "accepted" and rec.amount is None


def test_one_open_submission_per_card_category_day_across_kiosks(world: tuple) -> None:  # type: ignore[type-arg]
    central, srv, tmp = world
    a, b = kiosk(central, srv, tmp, "0000000000A1"), kiosk(central, srv, tmp, "0000000000B2")
    kw = dict(asn=asn_of(2), category="roads.pothole", ftype="report", urgency=1,
              body="坑", identified=True, name="张三", now_ms=NOW)  # fmt: skip
    first = kiosk_fb.submit(a.outbox, **kw)  # type: ignore[arg-type]
    second = kiosk_fb.submit(b.outbox, **kw)  # type: ignore[arg-type]
    other = kiosk_fb.submit(b.outbox, **{**kw, "category": "water.outage"})  # type: ignore[arg-type]
    assert a.agent.upload_pending().ok and b.agent.upload_pending().ok
    states = {v.tracking: v.state for v in kiosk_fb.lookup(a.client, asn=asn_of(2))}
    assert states == {first.tracking: "dispatched", second.tracking: "refused",
                      other.tracking: "dispatched"}  # fmt: skip
    # Transit sees the identified citizen's name; water does not see transit's case.
    [mine] = cases.queue(central, TRANSIT)
    assert mine.citizen_name == "张三"
    with pytest.raises(Refused, match="no_such_case"):
        cases.get_case(central, WATER, mine.id)


def test_skewed_kiosk_clock_is_flagged_and_hostile_records_rejected(world: tuple) -> None:  # type: ignore[type-arg]
    central, srv, tmp = world
    t = kiosk(central, srv, tmp, "0000000000A1")
    kiosk_fb.submit(t.outbox, asn=asn_of(3), category="water.outage", ftype="ask", urgency=1,
                    body="?", identified=False, clock_skew_ms=900_000, now_ms=NOW)  # fmt: skip
    # A pseudonymous record carrying a name, and an unknown card: rejected, no case.
    from backend_sync.wire import FeedbackRecord

    for asn, name in ((asn_of(3), "李四"), (asn_of(99), None)):
        t.outbox.append(lambda seq, asn=asn, name=name: FeedbackRecord(
            seq=seq, terminal_id="0000000000A1", asn=asn, tracking=new_tracking(),
            category="roads.pothole", ftype="ask", urgency=1, body="x", identified=False,
            name=name, publish_consent=False, submitted_ms=NOW))  # fmt: skip
    assert t.agent.upload_pending().ok
    with central.engine.connect() as conn:
        statuses = [r.reason for r in conn.execute(sa.select(terminal_records).order_by(
            terminal_records.c.seq))]  # fmt: skip
        flags = [r.kind for r in conn.execute(sa.select(anomalies))]
        [case] = conn.execute(sa.select(feedback_cases)).all()
    assert statuses == [None, "identity_mismatch", "unknown_card"]
    assert case.skew_flagged and flags == ["kiosk_clock_skew"]


def test_answer_rate_reopen_return_escalate(world: tuple) -> None:  # type: ignore[type-arg]
    central, srv, tmp = world
    t = kiosk(central, srv, tmp, "0000000000A1")
    sub = kiosk_fb.submit(t.outbox, asn=asn_of(1), category="water.outage", ftype="report",
                          urgency=2, body="水黄", identified=False, now_ms=NOW)  # fmt: skip
    assert t.agent.upload_pending().ok
    [row] = cases.queue(central, WATER)
    cases.take(central, WATER, row.id)
    with pytest.raises(Refused, match="wrong_state"):
        cases.take(central, WATER, row.id)
    central.clock = lambda: (NOW + 3_600_000) / 1000  # an hour later
    cases.answer(central, WATER, row.id, "已派人检修")
    with pytest.raises(CentralRefused, match="no_such_case"):  # someone else's card
        kiosk_fb.rate(t.client, tracking=sub.tracking, asn=asn_of(2), satisfied=True)
    assert kiosk_fb.rate(t.client, tracking=sub.tracking, asn=asn_of(1), satisfied=False) == (
        "reopened"
    )
    got = cases.get_case(central, WATER, row.id)
    assert got.at_once and got.within_2wd and got.on_time and got.reopened == 1
    cases.return_case(central, WATER, row.id, "管网属于燃气公司")
    with pytest.raises(Refused, match="supervisor_only"):
        cases.dispatch(central, WATER, row.id, "gas")
    cases.dispatch(central, SUPER, row.id, "water")
    # Overdue: a week later nobody answered; the central escalates it.
    central.clock = lambda: (NOW + 7 * DAY) / 1000
    assert cases.escalate_overdue(central) == 1 and cases.escalate_overdue(central) == 0
    cases.answer(central, WATER, row.id, "已修复")
    assert kiosk_fb.rate(t.client, tracking=sub.tracking, asn=asn_of(1), satisfied=True) == (
        "closed"
    )
    actions = [e.action for e in cases.events(central, row.id)]
    assert actions == ["take", "answer", "rated_unsatisfied", "return", "dispatch", "overdue",
                       "answer", "rated_satisfied"]  # fmt: skip


def test_open311_publishes_free_text_and_place_only_with_consent(world: tuple) -> None:  # type: ignore[type-arg]
    import httpx

    central, srv, tmp = world
    t = kiosk(central, srv, tmp, "0000000000A1")
    kw = dict(category="roads.pothole", ftype="report", urgency=2, identified=True,
              name="赵六", now_ms=NOW)  # fmt: skip
    kiosk_fb.submit(
        t.outbox,
        asn=asn_of(1),
        body="东门路口有大坑",
        place="东门路口",
        lat_e6=31_875_000,
        lon_e6=120_555_000,
        publish_consent=True,
        **kw,
    )  # type: ignore[arg-type]
    kiosk_fb.submit(
        t.outbox, asn=asn_of(2), body="我家门口", place="某小区 3 栋", publish_consent=False, **kw
    )  # type: ignore[arg-type]
    assert t.agent.upload_pending().ok
    [pub, priv] = sorted(cases.queue(central, TRANSIT), key=lambda r: r.asn)
    cases.answer(central, TRANSIT, pub.id, "已修补")
    kiosk_fb.rate(t.client, tracking=pub.tracking, asn=asn_of(1), satisfied=True)
    with httpx.Client(base_url=srv.url) as h:
        services = h.get("/open311/v2/services.json").json()
        assert {s["service_code"] for s in services} == {"water.outage", "roads.pothole"}
        reqs = {r["service_request_id"]: r for r in h.get("/open311/v2/requests.json").json()}
        assert set(reqs) == {str(pub.id), str(priv.id)}
        p, q = reqs[str(pub.id)], reqs[str(priv.id)]
        assert p["status"] == "closed" and p["description"] == "东门路口有大坑"
        assert p["address"] == "东门路口" and p["lat"] == 31.875 and p["long"] == 120.555
        assert q["status"] == "open" and q["status_notes"] == "routed to the department"
        assert not {"description", "address", "lat", "long"} & set(q)
        assert p["agency_responsible"] == "transit" and p["service_code"] == "roads.pothole"
        text = h.get("/open311/v2/requests.json").text
        assert "赵六" not in text and asn_of(1) not in text and pub.tracking not in text
        opened = h.get("/open311/v2/requests.json", params={"status": "open"}).json()
        assert [r["service_request_id"] for r in opened] == [str(priv.id)]
        assert h.get(f"/open311/v2/requests/{priv.id}.json").json()[0]["status"] == "open"
        assert h.get("/open311/v2/requests/999.json").status_code == 404
        assert h.get("/open311/v2/requests/x'1.json").status_code == 404
        assert h.get("/open311/v2/requests.json", params={"status": "maybe"}).status_code == 422


def test_categories_signed_and_hostile_records_refused_whole(world: tuple) -> None:  # type: ignore[type-arg]
    import httpx
    import orjson

    central, srv, tmp = world
    t = kiosk(central, srv, tmp, "0000000000A1")
    doc = kiosk_fb.categories(t.client)  # verified with the central's key
    assert [c["code"] for c in doc.payload["categories"]] == ["roads.pothole", "water.outage"]
    assert "department" not in orjson.dumps(doc.payload).decode()
    rules.set_categories(central, CATEGORIES[:1])
    assert kiosk_fb.categories(t.client).version == doc.version + 1
    sub = kiosk_fb.submit(t.outbox, asn=asn_of(1), category="water.outage", ftype="ask",
                          urgency=1, body="x", identified=False, now_ms=NOW)  # fmt: skip
    _prev, [pending] = t.outbox.pending()
    good = orjson.loads(pending.body)
    for bad in ({"urgency": "3"}, {"urgency": 9}, {"body": "x" * 2001}, {"identified": 1},
                {"tracking": "ILOU" * 4}, {"lat_e6": 1.5}, {"extra": True}):  # fmt: skip
        rec = {**good, **bad}
        raw = orjson.dumps(rec, option=orjson.OPT_SORT_KEYS).decode()
        body = t.client.build_batch(_prev, [rec["seq"]], [raw], "00" * 32)
        r = httpx.post(srv.url + "/v1/batches", content=body)
        assert r.status_code == 422 and r.json()["reason"] == "malformed_batch", bad
    assert t.agent.upload_pending().ok
    assert [v.tracking for v in kiosk_fb.lookup(t.client, asn=asn_of(1))] == [sub.tracking]


def test_cli_categories_rules_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from kiosk.cli import main

    db = f"sqlite:///{tmp_path / 'central.db'}"
    assert main(["central", "migrate", "--db", db]) == 0
    f = tmp_path / "cats.json"
    f.write_text(json.dumps(CATEGORIES, ensure_ascii=False), encoding="utf-8")
    assert main(["central", "feedback", "categories", "--db", db, str(f)]) == 0
    assert "version 1" in capsys.readouterr().out
    f.write_text(json.dumps([{**CATEGORIES[0], "deadline_days": 0}]), encoding="utf-8")
    assert main(["central", "feedback", "categories", "--db", db, str(f)]) == 1
    assert "bad_category" in capsys.readouterr().out
    assert main(["central", "feedback", "rules", "--db", db, "--at-once-hours", "1"]) == 0
    assert "at_once_hours=1 max_skew_s=300" in capsys.readouterr().out
    assert main(["central", "feedback", "rules", "--db", db, "--rating-days", "-1"]) == 1
    assert main(["central", "feedback", "sweep", "--db", db]) == 0
    assert "escalated 0, closed unrated 0" in capsys.readouterr().out


def test_rules_change_at_once_and_unrated_cases_close(world: tuple) -> None:  # type: ignore[type-arg]
    central, srv, tmp = world
    rules.set_rules(central, at_once_hours=0, rating_days=7)
    t = kiosk(central, srv, tmp, "0000000000A1")
    kiosk_fb.submit(t.outbox, asn=asn_of(1), category="water.outage", ftype="ask", urgency=1,
                    body="?", identified=False, now_ms=NOW)  # fmt: skip
    assert t.agent.upload_pending().ok
    [row] = cases.queue(central, WATER)
    central.clock = lambda: (NOW + 60_000) / 1000
    cases.answer(central, WATER, row.id, "答复")
    got = cases.get_case(central, WATER, row.id)
    assert not got.at_once and got.within_2wd and got.on_time
    central.clock = lambda: (NOW + 6 * DAY) / 1000
    assert cases.close_unrated(central) == 0
    central.clock = lambda: (NOW + 8 * DAY) / 1000
    assert cases.close_unrated(central) == 1
    assert cases.get_case(central, WATER, row.id).state == "closed"


def test_ingest_replay_and_figures_on_both_engines(central: Central, tmp_path: Path) -> None:
    """The same upload twice stores one case (replay); the figures count it, on
    SQLite and on PostgreSQL (booleans, partial unique index, the aggregate)."""
    from backend_sync.central import ingest, registry
    from backend_sync.central.feedback import figures
    from backend_sync.terminal.client import CentralClient
    from backend_sync.terminal.outbox import Outbox
    from tests.backend_sync.support import enroll

    central.clock = lambda: NOW / 1000
    rules.set_categories(central, CATEGORIES)
    registry.register_card(central, asn=asn_of(1), algorithm=0, key_version=1)
    tid = "0000000000E1"
    key = enroll(central, tid)
    outbox = Outbox(tmp_path / "o.db", tid)
    client = CentralClient("http://unused", terminal_id=tid, key=key,
                           central_key=central.signing_key.public_key())  # fmt: skip
    for cat in ("water.outage", "roads.pothole"):
        kiosk_fb.submit(outbox, asn=asn_of(1), category=cat, ftype="ask", urgency=1,
                        body="问", identified=False, now_ms=NOW)  # fmt: skip
    prev, pending = outbox.pending()
    body = client.build_batch(prev, [p.seq for p in pending], [p.body for p in pending],
                              pending[-1].hash)  # fmt: skip
    first = ingest.ingest_json(central, body)
    assert first.acked == 2 and [r.status for r in first.results] == ["accepted", "accepted"]
    again = ingest.ingest_json(central, body)
    assert again.acked == 2 and again.detail == "replay"
    with central.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(feedback_cases)).scalar() == 2
    # The database itself holds one open case per card, category and day.
    with pytest.raises(sa.exc.IntegrityError), central.engine.begin() as conn:
        row = dict(conn.execute(sa.select(feedback_cases).limit(1)).one()._mapping)
        conn.execute(feedback_cases.insert().values(
            {**row, "id": None, "tracking": new_tracking(), "seq": 99}))  # fmt: skip
    [w] = cases.queue(central, WATER)
    central.clock = lambda: (NOW + 600_000) / 1000
    cases.answer(central, WATER, w.id, "答")
    got = {f.department: f for f in figures.weekly(central)}
    assert (got["water"].cases, got["water"].answered, got["water"].at_once) == (1, 1, 1)
    assert (got[""].cases, got[""].answered, got["transit"].answered) == (2, 1, 0)
