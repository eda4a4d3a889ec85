"""Working days and working hours in the city's calendar (Asia/Shanghai).

A department's deadline is counted in working days: Monday to Friday, minus the
public holidays, plus the make-up working days (调休) the State Council moves onto
weekends. Both come from :data:`SCHEDULES`, one entry per year as the General
Office of the State Council publishes it (国务院办公厅关于 YYYY 年部分节假日安排的通知).
A year that is not in the table is refused (:class:`UnknownYear`), never guessed:
weekends alone would put deadlines inside a Spring Festival week.
Adding a year is a data change only: one more entry below.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

__all__ = [
    "SCHEDULES",
    "TZ",
    "UnknownYear",
    "WorkCalendar",
]

TZ = ZoneInfo("Asia/Shanghai")

# year -> (holiday ranges "MMDD-MMDD" inclusive, make-up working days "MMDD").
# 2026: 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04).
# 2027: not yet found published where this project could read it; add its entry
# here when it is (the notice usually appears in November of the year before).
SCHEDULES: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {
    2026: (
        (
            "0101-0103",  # 元旦
            "0215-0223",  # 春节
            "0404-0406",  # 清明节
            "0501-0505",  # 劳动节
            "0619-0621",  # 端午节
            "0925-0927",  # 中秋节
            "1001-1007",  # 国庆节
        ),
        ("0104", "0214", "0228", "0509", "0920", "1010"),
    ),
}


class UnknownYear(LookupError):
    """The holiday schedule of this year is not in the table."""


@dataclass(frozen=True)
class WorkCalendar:
    """Working days from :data:`SCHEDULES`; working hours ``start_h``..``end_h``."""

    schedules: dict[int, tuple[tuple[str, ...], tuple[str, ...]]]
    start_h: int = 9
    end_h: int = 17

    @classmethod
    def china(cls) -> WorkCalendar:
        return cls(SCHEDULES)

    def _year(self, year: int) -> tuple[set[dt.date], set[dt.date]]:
        if year not in self.schedules:
            raise UnknownYear(f"no holiday schedule for {year}")
        ranges, makeup = self.schedules[year]
        off: set[dt.date] = set()
        for r in ranges:
            a, b = r.split("-")
            d = dt.date(year, int(a[:2]), int(a[2:]))
            end = dt.date(year, int(b[:2]), int(b[2:]))
            while d <= end:
                off.add(d)
                d += dt.timedelta(days=1)
        work = {dt.date(year, int(m[:2]), int(m[2:])) for m in makeup}
        return off, work

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
