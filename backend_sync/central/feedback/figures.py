"""Response figures by week of arrival, per department and for the city.

Of the cases that arrived in a week (refused submissions are not cases):
``at_once`` the share first answered within the rule's working hours of arrival,
``within_2wd`` first answered by the close of the second working day after the
day of arrival, ``on_time`` first answered by the category's deadline, and
``satisfied`` the share of rated cases whose citizen was satisfied (the latest
rating). A week's shares grow while its cases are answered. Each flag is fixed
on the case at its first answer, so this is one aggregate query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from backend_sync.central.feedback.intake import iso_week
from backend_sync.central.feedback.models import feedback_cases
from backend_sync.central.service import Central

__all__ = ["Figures", "chart_svg", "weekly"]

c = feedback_cases.c
CITY = ""  # the department key of the city's totals


@dataclass(frozen=True)
class Figures:
    week: str
    department: str  # "" for the whole city
    cases: int
    answered: int
    at_once: int
    within_2wd: int
    on_time: int
    rated: int
    satisfied: int

    def pct(self, n: int, of: int | None = None) -> float | None:
        d = self.cases if of is None else of
        return round(100.0 * n / d, 1) if d else None


def _weeks_back(now_ms: int, n: int) -> list[str]:
    return sorted({iso_week(now_ms - i * 7 * 86_400_000) for i in range(n)})


def weekly(central: Central, *, weeks: int = 8, department: str | None = None) -> list[Figures]:
    """The last ``weeks`` weeks, oldest first: one row per (week, department) plus
    the city's row per week (department ``""``); ``department`` limits the
    departments shown (the city's rows stay)."""
    wk = _weeks_back(central.now_ms(), weeks)

    def agg(group_dept: bool) -> Any:
        cols: list[Any] = [c.arrived_week]
        cols.append(c.department if group_dept else sa.literal(CITY).label("department"))

        def count_true(col: Any) -> Any:
            return sa.func.sum(sa.case((col == sa.true(), 1), else_=0))

        q: Any = sa.select(
            *cols,
            sa.func.count(),
            sa.func.count(c.first_answered_ms),
            count_true(c.at_once),
            count_true(c.within_2wd),
            count_true(c.on_time),
            sa.func.count(c.satisfied),
            count_true(c.satisfied),
        ).where(c.arrived_week.in_(wk), c.state != "refused")
        groups: list[Any] = [c.arrived_week]
        if group_dept:
            groups.append(c.department)
            if department is not None:
                q = q.where(c.department == department)
        return q.group_by(*groups)

    out: list[Figures] = []
    with central.engine.connect() as conn:
        for group_dept in (True, False):
            for row in conn.execute(agg(group_dept)):
                n = [int(x or 0) for x in tuple(row)[2:]]
                out.append(Figures(str(row[0]), str(row[1]), *n))
    return sorted(out, key=lambda f: (f.week, f.department))


def chart_svg(rows: list[Figures], *, width: int = 720, height: int = 220) -> str:
    """The city's weekly shares as a server-drawn line chart (no JavaScript)."""
    city = [r for r in rows if r.department == CITY]
    pad_l, pad_b, pad_t = 40, 30, 10
    w, h = width - pad_l - 34, height - pad_b - pad_t  # room for the last week label
    series: tuple[tuple[str, str, Callable[[Figures], float | None]], ...] = (
        ("at_once", "#1f77b4", lambda r: r.pct(r.at_once)),
        ("within_2wd", "#2ca02c", lambda r: r.pct(r.within_2wd)),
        ("on_time", "#ff7f0e", lambda r: r.pct(r.on_time)),
        ("satisfied", "#9467bd", lambda r: r.pct(r.satisfied, r.rated)),
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="weekly response figures">',
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for pct in (0, 50, 100):
        y = pad_t + h - h * pct / 100
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#e0e0e0"/>')  # fmt: skip
        parts.append(f'<text x="{pad_l - 4}" y="{y + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{pct}%</text>')  # fmt: skip
    n = max(1, len(city) - 1)
    for i, r in enumerate(city):
        x = pad_l + w * i / n if len(city) > 1 else pad_l + w / 2
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" font-size="11" '
                     f'text-anchor="middle">{r.week}</text>')  # fmt: skip
    for key, colour, value in series:
        pts = []
        for i, r in enumerate(city):
            v = value(r)
            if v is None:
                continue
            x = pad_l + w * i / n if len(city) > 1 else pad_l + w / 2
            pts.append(f"{x:.1f},{pad_t + h - h * v / 100:.1f}")
        if pts:
            parts.append(f'<polyline class="{key}" fill="none" stroke="{colour}" '
                         f'stroke-width="2" points="{" ".join(pts)}"/>')  # fmt: skip
            for p in pts:
                cx, cy = p.split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)
