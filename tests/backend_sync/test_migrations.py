"""Alembic migrations on both engines; the ledger is append-only by the database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend_sync.central import ledger, reconcile
from backend_sync.central.db import current_revision, make_engine, upgrade
from backend_sync.central.service import Central


def _head() -> str:
    """The one head of the migration scripts (a second head would fail here)."""
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import backend_sync.central.db as db

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).with_name("migrations")))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"migrations must form one chain, heads: {heads}"
    return str(heads[0])


def test_empty_database_upgrades_to_head(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == _head()
    upgrade(engine)  # idempotent
    with engine.connect() as conn:
        codes = set(conn.execute(sa.text("SELECT code FROM accounts")).scalars())
    assert codes == {"disputed", "funding", "settlement", "suspense"}
    engine.dispose()


def test_populated_database_upgrades_and_keeps_its_data(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        ids = ledger.account_ids(conn, ["card:32150000000000000001", "payee:water"])
        # Written as revision 0001's code wrote them (today's post_legs also keeps
        # the shadow balances of 0014, which this schema does not have yet).
        conn.execute(sa.text("INSERT INTO ledger_txns (id, kind, ref, created_ms)"
                             " VALUES (1, 'purchase', 'T:1', 1)"))  # fmt: skip
        conn.execute(
            sa.text("INSERT INTO ledger_entries (txn_id, account_id, amount) VALUES (1, :a, :x)"),
            [{"a": ids["card:32150000000000000001"], "x": -500},
             {"a": ids["payee:water"], "x": 500}],
        )  # fmt: skip
        conn.execute(
            sa.text(
                "INSERT INTO terminals (terminal_id, cert_pem, status, acked_seq, head_hash,"
                " enrolled_ms) VALUES ('320500000001', 'x', 'active', 7, :h, 1)"
            ),
            {"h": "AB" * 32},
        )
    upgrade(engine)
    assert current_revision(engine) == _head()
    with engine.begin() as conn:
        assert ledger.balance(conn, "payee:water") == 500
        assert ledger.shadow_balance(conn, ids["payee:water"]) == (500, 1)  # filled by 0014
        assert conn.execute(sa.text("SELECT acked_seq FROM terminals")).scalar() == 7
        conn.execute(
            sa.text(
                "INSERT INTO orders (id, terminal_id, request_id, asn, payee, reference, amount,"
                " status, created_ms) VALUES ('o1', '320500000001', 'r1',"
                " '32150000000000000001', 'water', 'B1', 500, 'held', 1)"
            )
        )
    engine.dispose()


@pytest.mark.parametrize("stmt", [
    "UPDATE ledger_entries SET amount = amount + 1",
    "DELETE FROM ledger_entries",
    "UPDATE ledger_txns SET kind = 'x'",
    "DELETE FROM ledger_txns",
])  # fmt: skip
def test_the_database_refuses_to_change_the_ledger(db_url: str, stmt: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as conn:
        ids = ledger.account_ids(conn, ["funding", "suspense"])
        ledger.post(conn, [ledger.posting("t", "r", (ids["funding"], -1), (ids["suspense"], 1))], 1)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text(stmt))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ledger_entries")).scalar() == 2
    engine.dispose()


def test_reconciliation_counts_orphan_entries(central: Central) -> None:
    assert reconcile.reconcile(central).orphans == 0
    with central.engine.begin() as conn:
        ids = ledger.account_ids(conn, ["funding", "suspense"])
        ledger.post(conn, [ledger.posting("t", "r", (ids["funding"], -5), (ids["suspense"], 5))], 1)
    assert reconcile.reconcile(central).orphans == 0
    with central.engine.begin() as conn:
        # Appending is allowed; an entry citing no transaction is what reconcile finds.
        conn.execute(
            sa.text("INSERT INTO ledger_entries (txn_id, account_id, amount) VALUES (999, :a, 0)"),
            {"a": ids["funding"]},
        )
    assert reconcile.reconcile(central).orphans == 1


@pytest.mark.postgres
def test_postgresql_refuses_truncate(postgres: object) -> None:
    from backend_sync.pgserver import PrivatePostgres

    assert isinstance(postgres, PrivatePostgres)
    engine = make_engine(postgres.create_database("trunc"))
    upgrade(engine)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE ledger_entries"))
    engine.dispose()
