"""The city's feedback rules and its category list (published like the catalog)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from backend_sync.central import documents
from backend_sync.central.feedback.calendar import WorkCalendar
from backend_sync.central.feedback.models import feedback_categories, feedback_settings
from backend_sync.central.service import Central, Refused
from backend_sync.wire import SignedDocument

__all__ = [
    "Category",
    "Rules",
    "categories",
    "categories_document",
    "rules",
    "set_categories",
    "set_rules",
]

LANGS = ("zh-Hans", "zh-Hant", "en")


@dataclass(frozen=True)
class Rules:
    """``at_once_hours``: a first answer within this many working hours of arrival
    counts as "answered at once"; ``max_skew_s``: a kiosk clock further than this
    from the central's is flagged; ``rating_days``: an answered case nobody rated
    closes after this many days."""

    at_once_hours: int = 2
    max_skew_s: int = 300
    rating_days: int = 7
    calendar: WorkCalendar = field(default_factory=WorkCalendar.china)


@dataclass(frozen=True)
class Category:
    code: str
    department: str
    names: dict[str, str]
    deadline_days: int
    importance: int
    active: bool


def rules(conn: sa.Connection) -> Rules:
    """The rules in force (defaults where the city set none)."""
    got = dict(conn.execute(sa.select(feedback_settings.c.key, feedback_settings.c.value)).all())
    r = Rules()
    values = {k: int(got[k]) for k in ("at_once_hours", "max_skew_s", "rating_days") if k in got}
    return replace(r, **values)  # type: ignore[arg-type]


def set_rules(central: Central, **values: int) -> None:
    """Change rules (``at_once_hours=1`` ...); unknown names and negatives are refused."""
    for k, v in values.items():
        if k not in ("at_once_hours", "max_skew_s", "rating_days") or not 0 <= v <= 10**6:
            raise Refused(422, "bad_rule", k)
    with central.engine.begin() as conn:
        for k, v in values.items():
            conn.execute(feedback_settings.delete().where(feedback_settings.c.key == k))
            conn.execute(feedback_settings.insert().values(key=k, value=str(v)))


def set_categories(central: Central, items: list[dict[str, Any]]) -> int:
    """Replace the category list (codes not listed become inactive); returns the new
    version that kiosks download. Each item: code, department, names (three
    languages), deadline_days (working days, 1..60), importance (1..3)."""
    with central.engine.begin() as conn:
        version = 1 + int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(feedback_categories.c.version), 0))
            ).scalar_one()
        )
        seen = set()
        for it in items:
            code, dept = str(it.get("code", "")), str(it.get("department", ""))
            names = it.get("names", {})
            days, imp = it.get("deadline_days"), it.get("importance", 2)
            if (
                not code
                or len(code) > 64
                or not dept
                or not isinstance(names, dict)
                or set(names) != set(LANGS)
                or not isinstance(days, int)
                or not 1 <= days <= 60
                or not isinstance(imp, int)
                or not 1 <= imp <= 3
            ):
                raise Refused(422, "bad_category", code or "?")
            seen.add(code)
            conn.execute(feedback_categories.delete().where(feedback_categories.c.code == code))
            conn.execute(
                feedback_categories.insert().values(
                    code=code, department=dept, names=json.dumps(names, ensure_ascii=False),
                    deadline_days=days, importance=imp, active=True, version=version,
                )
            )  # fmt: skip
        conn.execute(
            feedback_categories.update()
            .where(feedback_categories.c.code.not_in(seen) if seen else sa.true())
            .values(active=False, version=version)
        )
    return version


def categories(conn: sa.Connection, *, active_only: bool = False) -> dict[str, Category]:
    q = sa.select(feedback_categories)
    if active_only:
        q = q.where(feedback_categories.c.active)
    return {
        r.code: Category(
            r.code, r.department, json.loads(r.names), r.deadline_days, r.importance, r.active
        )
        for r in conn.execute(q)
    }


def categories_document(central: Central) -> SignedDocument:
    """The active categories, signed by the central, for kiosks (no department
    names: a citizen picks a subject, not an office)."""
    with central.engine.connect() as conn:
        cats = categories(conn, active_only=True)
        version = int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(feedback_categories.c.version), 0))
            ).scalar_one()
        )
    body = {
        "categories": [
            {"code": c.code, "names": c.names, "deadline_days": c.deadline_days}
            for c in sorted(cats.values(), key=lambda c: c.code)
        ]
    }
    return documents.signed(central, "feedback_categories", version, body)
