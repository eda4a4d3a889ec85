"""Deterministic generation of the departments' data from a seed.

The people of a demo wallet (name, ASN) come first, then ``extra`` generated
citizens; the same seed, people and day always give the same database.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from collections.abc import Sequence

from simulators.departments.store import HALL_SERVICES, DepartmentStore

__all__ = ["Person", "generated_people", "seed"]

Person = tuple[str, str]  # (name, ASN as 20 hex digits)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
_PLACES = ("人民路与长安路口", "港城大道", "沙洲西路", "暨阳湖隧道", "杨舍东街")
_OFFENCES = (
    ("闯红灯", 20_000, 6),
    ("超速20%以下", 20_000, 3),
    ("违法停车", 10_000, 0),
    ("不按导向车道行驶", 10_000, 2),
    ("未系安全带", 5_000, 1),
)
_APPS = (
    ("居住证申领", "公安局", ("受理", "审核", "制证", "领取")),
    ("公积金贷款", "住房公积金中心", ("受理", "初审", "复审", "签约", "放款")),
    ("社保关系转移", "人社局", ("受理", "核对", "转出", "转入")),
    ("营业执照", "市场监管局", ("受理", "审查", "核准", "发照")),
)
_ROUTES = (
    ("SH", "张家港", "上海", 6_500),
    ("NJ", "张家港", "南京", 8_800),
    ("SZ", "张家港", "苏州", 3_600),
    ("WX", "张家港", "无锡", 3_000),
    ("HZ", "张家港", "杭州", 12_000),
)
_TIMES = ("07:30", "09:00", "11:30", "14:00", "17:30")


def generated_people(rng: random.Random, n: int) -> list[Person]:
    """``n`` made-up citizens with ASNs in a range of their own (9xxx...)."""
    return [
        (rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2))), f"9{i:019d}")
        for i in range(n)
    ]


def _months(today: dt.date, n: int) -> list[str]:
    y, m = today.year, today.month
    out = []
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(f"{y:04d}-{m:02d}")
    return out


def seed(
    store: DepartmentStore, people: Sequence[Person], *, extra: int, seed: int, today: dt.date
) -> bool:
    """Fill an empty store; False (and nothing written) when it was seeded before,
    so a restart keeps every change made through the API."""
    if store.meta("seeded") is not None:
        return False
    rng = random.Random(seed)
    everyone = [(n, a.upper()) for n, a in people] + generated_people(rng, extra)
    months = _months(today, 12)
    with store.tx() as db:
        for i, (name, asn) in enumerate(everyone):
            _person(db, rng, i, name, asn, months, today)
        _hall(db, today)
        _bus(db, rng, today)
        db.execute("INSERT INTO meta VALUES ('seeded', ?)", (today.isoformat(),))
    return True


def _person(
    db: sqlite3.Connection,
    rng: random.Random,
    i: int,
    name: str,
    asn: str,
    months: list[str],
    today: dt.date,
) -> None:
    household = f"{1000001 + i}"
    wage = rng.randrange(4_000_00, 15_000_00, 100)
    db.execute(
        "INSERT INTO people VALUES (?, ?, ?, ?, ?, ?)",
        (
            asn,
            name,
            household,
            rng.randrange(0, 800_000),
            rng.randrange(0, 9_000_000),
            rng.choice(("none", "none", "repaying", "applied")),
        ),
    )
    rows = []
    for month in months:
        rows += [
            (asn, month, "pension", wage * 8 // 100),
            (asn, month, "medical", wage * 2 // 100),
            (asn, month, "unemployment", wage // 200),
        ]
    db.executemany("INSERT INTO contributions VALUES (?, ?, ?, ?)", rows)
    db.executemany(
        "INSERT INTO fund_deposits VALUES (?, ?, ?)", [(asn, m, wage * 24 // 100) for m in months]
    )
    # Bills: the last period unpaid (the first citizen's water bill is the demo's).
    for utility, base in (("water", 3_000), ("electricity", 9_000), ("gas", 2_000)):
        for k, period in enumerate(months[:2]):
            paid = None if k == 0 else "seed"
            ref = f"{utility[0].upper()}{period.replace('-', '')}-{household}"
            db.execute(
                "INSERT INTO bills VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ref, utility, household, asn, period, base + rng.randrange(0, 8_000, 10), paid),
            )
    if rng.random() < 0.6 or i == 0:
        plate = f"苏E{rng.choice('ABCDF')}{i:04d}"[:8]
        db.execute("INSERT INTO vehicles VALUES (?, ?)", (plate, asn))
        for k in range(rng.randint(0 if i else 1, 3)):
            offence, amount, points = rng.choice(_OFFENCES)
            day = (today - dt.timedelta(days=rng.randint(3, 200))).isoformat()
            db.execute(
                "INSERT INTO fines VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (f"T{i:06d}{k}", plate, asn, day, rng.choice(_PLACES), offence, amount, points),
            )
    if rng.random() < 0.4 or i == 0:
        title, dept, steps = rng.choice(_APPS)
        current = rng.randrange(0, len(steps))
        expected = (today + dt.timedelta(days=rng.randint(2, 30))).isoformat()
        db.execute(
            "INSERT INTO applications VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                f"A{today.year}{i:07d}",
                asn,
                title,
                dept,
                json.dumps(steps, ensure_ascii=False),
                current,
                expected,
            ),
        )


def _hall(db: sqlite3.Connection, today: dt.date) -> None:
    for service in HALL_SERVICES:
        for d in range(1, 8):
            day = today + dt.timedelta(days=d)
            if day.weekday() >= 5:
                continue
            for hour in (9, 10, 11, 14, 15, 16):
                start = f"{day.isoformat()}T{hour:02d}:00"
                db.execute(
                    "INSERT INTO slots VALUES (?, ?, ?, ?)",
                    (f"{service}-{start}", service, start, 4),
                )


def _bus(db: sqlite3.Connection, rng: random.Random, today: dt.date) -> None:
    for d in range(0, 8):
        day = (today + dt.timedelta(days=d)).isoformat()
        for code, origin, dest, fare in _ROUTES:
            for t in _TIMES:
                dep = f"{day.replace('-', '')}-{t.replace(':', '')}-{code}"
                db.execute(
                    "INSERT INTO departures VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (dep, origin, dest, day, t, fare, rng.choice((33, 45, 53))),
                )
