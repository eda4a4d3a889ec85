"""The holiday calendar is a yearly data table (``holidays_cn.json``): which years
are official, what a year without a table does (refused by the calendar; at intake
a weekdays-only deadline and an anomaly for a person), and a damaged table file
refused with the year at fault."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from backend_sync.central.feedback import rules
from backend_sync.central.feedback.calendar import TZ, UnknownYear, WorkCalendar, load_table
from backend_sync.central.feedback.intake import lenient_deadline
from backend_sync.central.feedback.models import feedback_cases
from backend_sync.central.models import anomalies
from backend_sync.terminal import feedback as kiosk_fb
from tests.backend_sync.support import ThreadServer, asn_of, cards, terminal

CAL = WorkCalendar.china()


def ms(y: int, m: int, d: int, h: int = 10) -> int:
    return int(dt.datetime(y, m, d, h, tzinfo=TZ).timestamp() * 1000)


def _shipped() -> dict[str, Any]:
    text = resources.files("backend_sync.central.feedback").joinpath("holidays_cn.json")
    doc: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return doc


def test_2026_is_official_and_2027_is_listed_as_not_published() -> None:
    doc = _shipped()
    assert doc["years"]["2026"]["status"] == "official"
    assert doc["years"]["2027"]["status"] == "not_published"
    assert CAL.official_years == (2026,)
    # The 2026 notice's make-up Sunday works; Spring Festival Monday does not.
    assert CAL.is_working_day(dt.date(2026, 1, 4))
    assert not CAL.is_working_day(dt.date(2026, 2, 23))
    with pytest.raises(UnknownYear):
        CAL.is_working_day(dt.date(2027, 1, 4))


def test_a_deadline_that_crosses_into_2027_is_refused_then_flagged() -> None:
    # Wednesday 30 December 2026 + 3 working days reaches into January 2027.
    with pytest.raises(UnknownYear):
        CAL.deadline_ms(ms(2026, 12, 30), 3)
    due, known = lenient_deadline(CAL, ms(2026, 12, 30), 3)
    # Weekdays only (31 Dec, 1 Jan, 4 Jan: 1 January is not even skipped), flagged.
    assert not known and due == ms(2027, 1, 4, 17)
    # Inside 2026 the table answers and nothing is flagged.
    assert lenient_deadline(CAL, ms(2026, 12, 23), 2) == (ms(2026, 12, 25, 17), True)


@pytest.fixture
def central_at_year_end(
    tmp_path: Path, issuer_keys: object, central_signing_key: object
) -> Iterator[Any]:
    from tests.backend_sync.support import make_central

    central = make_central(f"sqlite:///{tmp_path / 'c.db'}", issuer_keys, central_signing_key)  # type: ignore[arg-type]
    central.clock = lambda: ms(2026, 12, 30) / 1000
    rules.set_categories(central, [{"code": "water.outage", "department": "water",
                                    "deadline_days": 3, "importance": 3,
                                    "names": {"zh-Hans": "停水", "zh-Hant": "停水",
                                              "en": "Water outage"}}])  # fmt: skip
    list(cards(central, issuer_keys, 1))  # type: ignore[arg-type]
    yield central
    central.engine.dispose()


def test_intake_flags_a_case_whose_deadline_has_no_table(
    central_at_year_end: Any, tmp_path: Path
) -> None:
    central = central_at_year_end
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "0000000000B7")
        t.client._now_ms = central.now_ms  # type: ignore[method-assign]
        sub = kiosk_fb.submit(t.outbox, asn=asn_of(1), category="water.outage", ftype="report",
                              urgency=3, body="停水", identified=False,
                              now_ms=central.now_ms())  # fmt: skip
        assert t.agent.upload_pending().ok
    with central.engine.connect() as conn:
        case = conn.execute(
            sa.select(feedback_cases).where(feedback_cases.c.tracking == sub.tracking)
        ).one()
        flags = conn.execute(sa.select(anomalies.c.kind, anomalies.c.detail)).all()
    assert case.state == "dispatched" and case.deadline_ms == ms(2027, 1, 4, 17)
    assert ("holiday_calendar_missing", "2026") in [(f.kind, f.detail) for f in flags]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda y: y["2026"]["workdays"].append("2026-03-11"), "weekday"),  # a Wednesday
        (lambda y: y["2026"]["workdays"].append("2026-02-15"), "both off and working"),
        (lambda y: y["2026"]["holidays"].append({"name": "x", "from": "2027-01-01",
                                                 "to": "2027-01-01"}), "not in that year"),
        (lambda y: y["2026"]["holidays"].append({"name": "x", "from": "2026-05-05",
                                                 "to": "2026-05-01"}), "ends before"),
        (lambda y: y["2027"]["holidays"].append({"name": "x", "from": "2027-01-01",
                                                 "to": "2027-01-01"}), "holds no dates"),
        (lambda y: y["2027"].update(status="estimated"), "status"),
        (lambda y: y["2026"].pop("workdays"), "malformed"),
        (lambda y: y["2026"]["workdays"].append(20260314), "must be a string"),
    ],
)  # fmt: skip
def test_a_damaged_table_is_refused_with_its_year(tmp_path: Path, change: Any, words: str) -> None:
    doc = copy.deepcopy(_shipped())
    change(doc["years"])
    path = tmp_path / "holidays.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match=words):
        load_table(path)
    assert set(load_table()) == {2026}  # the shipped file itself loads
