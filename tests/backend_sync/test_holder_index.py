"""The holder index (migration 0015): a counter finds a citizen's cards by an exact
match on the name key or the masked ID number, through an index (EXPLAIN on
PostgreSQL), never a scan; the index filled for rows written before the migration."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
import sqlalchemy as sa

from backend_sync.central import registry
from backend_sync.central.counter_models import issued_cards
from backend_sync.central.db import make_engine, upgrade
from backend_sync.central.holder_index import find_cards, find_query, holder_columns, name_key
from backend_sync.central.service import Central
from backend_sync.counter_wire import CardFind

TID = "320500009901"


def _issued(conn: sa.Connection, n: int, name: str, id_masked: str, *, at: int) -> str:
    asn = f"32159{n:015d}"
    conn.execute(issued_cards.insert().values(
        op_id=f"op{n:030d}", asn=asn, step="certified", posted=True, created_ms=at,
        updated_ms=at, holder=json.dumps({"name": name, "id_masked": id_masked,
                                          "birth": "19900101"}),
        **holder_columns(name, id_masked),
    ))  # fmt: skip
    return asn


def _find(central: Central, query: str) -> list[tuple[str, str, str]]:
    found = find_cards(central, CardFind(terminal_id=TID, ts=1, query=query)).cards
    return [(c.asn, c.name, c.id_masked) for c in found]


def test_found_by_name_key_or_masked_number_exactly(central: Central) -> None:
    with central.engine.begin() as conn:
        a = _issued(conn, 1, "陈小明", "320582********2717", at=10)
        b = _issued(conn, 2, "陈小明", "110105********002X", at=20)
        f = _issued(conn, 3, "SMITH JOHN", "910840********0016", at=30)
        _issued(conn, 4, "陈小", "320582********1112", at=40)
    for asn in (a, b, f):
        registry.register_card(central, asn=asn, algorithm=0, key_version=1)
    # Newest first; the same name typed with spaces around it or read in another
    # Unicode form; a Latin name in any case.
    assert [r[0] for r in _find(central, " 陈小明 ")] == [b, a]
    assert _find(central, "smith  john") == [(f, "SMITH JOHN", "910840********0016")]
    decomposed = unicodedata.normalize("NFD", "Zoë")
    with central.engine.begin() as conn:
        z = _issued(conn, 5, decomposed, "320582********3335", at=50)
    registry.register_card(central, asn=z, algorithm=0, key_version=1)
    assert [r[0] for r in _find(central, "ZOË")] == [z]
    assert _find(central, "320582********2717") == [(a, "陈小明", "320582********2717")]
    assert _find(central, "110105********002x")[0][0] == b
    # Exact: not a prefix, not a wildcard, not a card without its registry row.
    assert _find(central, "陈小明明") == [] and _find(central, "陈%") == []
    assert _find(central, "陈_明") == [] and _find(central, "陈小") == []
    assert _find(central, "320582*") == []


@pytest.mark.postgres
def test_postgresql_finds_through_the_index(postgres: object) -> None:
    from backend_sync.pgserver import PrivatePostgres

    assert isinstance(postgres, PrivatePostgres)
    engine = make_engine(postgres.create_database("holderix"))
    upgrade(engine)
    surnames, given = "王李张刘陈杨黄赵吴周", "伟芳娜敏静丽强磊军洋"
    with engine.begin() as conn:
        conn.execute(issued_cards.insert(), [
            {"op_id": f"op{n:030d}", "asn": f"32159{n:015d}", "step": "certified",
             "posted": True, "created_ms": n, "updated_ms": n, "holder": "{}",
             **holder_columns(surnames[n % 10] + given[n // 10 % 10] + given[n // 100 % 10],
                              f"320582{'*' * 8}{n:04d}")}
            for n in range(4000)
        ])  # fmt: skip
        conn.execute(sa.text("ANALYZE issued_cards"))
    for query, index in (("陈伟芳", "ix_issued_cards_holder_name"),
                         ("320582********0042", "ix_issued_cards_holder_id")):  # fmt: skip
        stmt = find_query(query).compile(engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as conn:
            plan = "\n".join(conn.execute(sa.text(f"EXPLAIN {stmt}")).scalars())
        # (Backward: the planner may read the index's created_ms newest first.)
        assert re.search(rf"(Index Scan (Backward )?using|Bitmap Index Scan on) {index}\b",
                         plan), plan  # fmt: skip
        assert "Seq Scan on issued_cards" not in plan, plan
    engine.dispose()


def test_the_migration_fills_the_index_for_cards_issued_before(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0014")
    name = unicodedata.normalize("NFD", " Zoë  MÜLLER ")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO issued_cards (op_id, asn, holder, step, posted, created_ms, updated_ms)"
            " VALUES ('op1', '32159000000000000001', :h, 'certified', true, 1, 1)"
        ), {"h": json.dumps({"name": name, "id_masked": "320582********2717"})})  # fmt: skip
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.select(issued_cards.c.holder_name,
                                     issued_cards.c.holder_id_masked)).one()  # fmt: skip
    assert tuple(row) == (name_key("zoë müller"), "320582********2717") == ("ZOË MÜLLER", row[1])
    engine.dispose()
