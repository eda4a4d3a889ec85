"""Working days and working hours in the city's calendar (Asia/Shanghai).

A department's deadline is counted in working days: Monday to Friday, minus the
public holidays, plus the make-up working days (调休) the State Council moves onto
weekends. Both come from a data file, ``holidays_cn.json`` beside this module: one
entry per year as the General Office of the State Council publishes it
(国务院办公厅关于 YYYY 年部分节假日安排的通知), each with its ``status``
(``official``, or ``not_published``: listed, no dates) and its source. A year that
is not official in the table is refused (:class:`UnknownYear`), never guessed:
weekends alone would put deadlines inside a Spring Festival week. Adding a year
is a data change only (:func:`load_table` checks the file).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "TZ",
    "UnknownYear",
    "WorkCalendar",
    "YearTable",
    "load_table",
]

TZ = ZoneInfo("Asia/Shanghai")
TABLE_FILE = "holidays_cn.json"


class UnknownYear(LookupError):
    """The holiday schedule of this year is not in the table (or not published)."""


@dataclass(frozen=True)
class YearTable:
    """One year's official days off and make-up working days."""

    year: int
    source: str
    days_off: frozenset[dt.date]
    workdays: frozenset[dt.date]


def _date(text: object, year: int) -> dt.date:
    if not isinstance(text, str):
        raise ValueError(f"{year}: a date must be a string, got {text!r}")
    d = dt.date.fromisoformat(text)
    if d.year != year:
        raise ValueError(f"{year}: {text} is not in that year")
    return d


def _year(year: int, raw: dict[str, Any]) -> YearTable | None:
    status = raw.get("status")
    if status == "not_published":
        if raw.get("holidays") or raw.get("workdays"):
            raise ValueError(f"{year}: a year not published holds no dates")
        return None
    if status != "official":
        raise ValueError(f"{year}: status must be official or not_published, got {status!r}")
    off: set[dt.date] = set()
    for h in raw["holidays"]:
        d, end = _date(h["from"], year), _date(h["to"], year)
        if end < d:
            raise ValueError(f"{year}: {h.get('name')} ends before it starts")
        while d <= end:
            off.add(d)
            d += dt.timedelta(days=1)
    work = {_date(w, year) for w in raw["workdays"]}
    if work & off:
        raise ValueError(f"{year}: a day both off and working: {sorted(work & off)}")
    if any(w.weekday() < 5 for w in work):
        # A make-up working day is a Saturday or Sunday by definition: a weekday
        # here is a typing error.
        raise ValueError(f"{year}: a make-up working day on a weekday")
    return YearTable(year, str(raw.get("source", "")), frozenset(off), frozenset(work))


def load_table(path: Path | None = None) -> dict[int, YearTable]:
    """The official years of the table file (default: the one shipped here),
    checked: dates in their year, ranges in order, make-up days on weekends, no day
    both off and working. ValueError (with the year) when the file is wrong."""
    if path is None:
        text = resources.files(__package__).joinpath(TABLE_FILE).read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    years: dict[int, YearTable] = {}
    for key, raw in doc["years"].items():
        year = int(key)
        try:
            table = _year(year, raw)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{year}: malformed entry ({exc!r})") from exc
        if table is not None:
            years[year] = table
    return years


@lru_cache(maxsize=1)
def _shipped() -> dict[int, YearTable]:
    return load_table()


@dataclass(frozen=True)
class WorkCalendar:
    """Working days from the year tables; working hours ``start_h``..``end_h``."""

    schedules: dict[int, YearTable]
    start_h: int = 9
    end_h: int = 17

    @classmethod
    def china(cls) -> WorkCalendar:
        """The shipped table (``holidays_cn.json``)."""
        return cls(_shipped())

    @property
    def official_years(self) -> tuple[int, ...]:
        return tuple(sorted(self.schedules))

    def _year(self, year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
        table = self.schedules.get(year)
        if table is None:
            raise UnknownYear(f"no official holiday schedule for {year}")
        return table.days_off, table.workdays

    def is_working_day(self, day: dt.date) -> bool:
        off, work = self._year(day.year)
        if day in work:
            return True
        return day.weekday() < 5 and day not in off

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``day`` (``day`` itself not counted)."""
        d = day
        while n > 0:
            d += dt.timedelta(days=1)
            if self.is_working_day(d):
                n -= 1
        return d

    def deadline_ms(self, arrived_ms: int, working_days: int) -> int:
        """End of the ``working_days``-th working day after the day of arrival: a case
        that arrives on Friday evening with 1 working day is due Monday at close."""
        day = dt.datetime.fromtimestamp(arrived_ms / 1000, TZ).date()
        due = self.add_working_days(day, working_days)
        end = dt.datetime.combine(due, dt.time(self.end_h), TZ)
        return int(end.timestamp() * 1000)

    def working_ms_between(self, a_ms: int, b_ms: int) -> int:
        """Working time (within working hours of working days) from ``a`` to ``b``."""
        if b_ms <= a_ms:
            return 0
        a = dt.datetime.fromtimestamp(a_ms / 1000, TZ)
        b = dt.datetime.fromtimestamp(b_ms / 1000, TZ)
        total = 0.0
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                lo = dt.datetime.combine(day, dt.time(self.start_h), TZ)
                hi = dt.datetime.combine(day, dt.time(self.end_h), TZ)
                s, e = max(lo, a), min(hi, b)
                if e > s:
                    total += (e - s).total_seconds()
            day += dt.timedelta(days=1)
        return int(total * 1000)
