"""The ledger partitioned by the central's ingest time (PostgreSQL), the exactly-once
keys beside it (both engines), archive and restore, and migration 0017 of a
populated database."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central import ledger, partitions, reconcile, shadow
from backend_sync.central.db import make_engine, upgrade
from backend_sync.central.models import terminal_records
from backend_sync.central.service import Central
from backend_sync.pgserver import PrivatePostgres
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import (
    CardModel,
    Terminal,
    ThreadServer,
    cards,
    make_central,
    sell,
    terminal,
)

OCT = partitions.month_start_ms(2026, 10) + 14 * 86_400_000  # the central's clock, 15 Oct
NOV = partitions.month_start_ms(2026, 11) + 14 * 86_400_000
DEC = partitions.month_start_ms(2026, 12) + 14 * 86_400_000


@pytest.fixture
def pg_central(
    postgres: PrivatePostgres, issuer_keys: IssuerKeys,
    central_signing_key: ec.EllipticCurvePrivateKey, request: pytest.FixtureRequest,
) -> Iterator[Central]:  # fmt: skip
    c = make_central(postgres.create_database(f"part_{request.node.name[5:40].lower()}"),
                     issuer_keys, central_signing_key)  # fmt: skip
    yield c
    c.engine.dispose()


@pytest.fixture(scope="module")
def archive_key() -> bytes:
    """TEST ONLY archive signing key (a real one comes from the operator's key file)."""
    return chain.private_key_pem(chain.generate_key())


def _at(central: Central, ms: int) -> None:
    central.clock = lambda: ms / 1000


def _where(central: Central, table: str) -> dict[str, int]:
    """Rows per partition of ``table``."""
    with central.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1"
        ).all()
    return {name: int(n) for name, n in rows}


def _upload(t: Terminal) -> int:
    return t.agent.run_once().acked_seq


def _truncate_refused(central: Central) -> list[str]:
    """Every partition of the append-only tables refuses TRUNCATE (PostgreSQL does
    not clone a parent's statement triggers onto its partitions); their names."""
    with central.engine.connect() as conn:
        parts = [p.name for t in partitions.APPEND_ONLY
                 for p in partitions.list_partitions(conn, t)]  # fmt: skip
    for name in parts:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), central.engine.begin() as c:
            c.exec_driver_sql(f"TRUNCATE {name}")
    return parts


def _two_months(
    central: Central, issuer_keys: IssuerKeys, tmp: Path, request: pytest.FixtureRequest
) -> tuple[Terminal, Terminal, list[CardModel]]:
    """Terminal A sells 3 in October, 3 in November (each month's upload at its time);
    the central is served (uvicorn in a thread) until the test ends."""
    srv = ThreadServer(central).__enter__()
    request.addfinalizer(lambda: srv.__exit__(None, None, None))
    a = terminal(central, srv.url, tmp, "320500000001")
    b = terminal(central, srv.url, tmp, "320500000002")
    cs = list(cards(central, issuer_keys, 3))
    _at(central, OCT)
    for i in range(3):
        sell(a, cs[i], 100 + i, ttc=i + 1)
    assert _upload(a) == 3
    _at(central, NOV)
    for i in range(3):
        sell(a, cs[i], 200 + i, ttc=i + 4)
    assert _upload(a) == 6
    return a, b, cs


@pytest.mark.postgres
def test_rows_land_in_the_partition_of_their_ingest_time(
    pg_central: Central, issuer_keys: IssuerKeys, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # The migration made this month and two ahead; October and November did not
    # exist: the ingest path made each before writing into it (partitions.ready).
    _a, _b, _cs = _two_months(pg_central, issuer_keys, tmp_path, request)
    # By the central's clock when it wrote them, whatever date the card reported.
    assert _where(pg_central, "terminal_records") == {
        "terminal_records_p202610": 3, "terminal_records_p202611": 3}  # fmt: skip
    assert _where(pg_central, "ledger_txns") == {"ledger_txns_p202610": 3,
                                                 "ledger_txns_p202611": 3}  # fmt: skip
    assert _where(pg_central, "ledger_entries") == {"ledger_entries_p202610": 6,
                                                    "ledger_entries_p202611": 6}  # fmt: skip
    assert reconcile.reconcile(pg_central).ledger_ok and shadow.audit(pg_central).clean


@pytest.mark.postgres
def test_a_write_outside_every_month_lands_in_default_and_moves_to_its_month(
    pg_central: Central,
) -> None:
    may_2031 = partitions.month_start_ms(2031, 5) + 3_600_000
    with pg_central.engine.begin() as conn:
        ids = ledger.account_ids(conn, ["funding", "suspense"])
        # Not through the ingest path (nothing made May 2031): the write still succeeds.
        ledger.post(conn, [ledger.posting("t", "r", (ids["funding"], -7), (ids["suspense"], 7))],
                    may_2031)  # fmt: skip
    assert _where(pg_central, "ledger_entries") == {"ledger_entries_default": 2}
    with pg_central.engine.begin() as conn:
        made = partitions.ensure(conn, may_2031, ahead=0)
    assert made == ["ledger_txns_p203105", "ledger_entries_p203105", "terminal_records_p203105"]
    assert _where(pg_central, "ledger_entries") == {"ledger_entries_p203105": 2}
    assert _where(pg_central, "ledger_txns") == {"ledger_txns_p203105": 1}
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), pg_central.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM ledger_entries")  # the new month is append-only too
    # The migration's months and default, the month made here, the default made anew.
    made_here = {"ledger_txns_p203105", "ledger_entries_p203105", "ledger_entries_default"}
    assert made_here <= set(_truncate_refused(pg_central))
    assert shadow.audit(pg_central).clean


def test_keys_refuse_a_duplicate_across_months(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Same (ASN, ATC, type) from another terminal a month later, and the same
    terminal's TTC again: one posting each (both engines: one code path)."""
    a, b, cs = _two_months(central, issuer_keys, tmp_path, request)
    _at(central, DEC)
    c0 = cs[0]
    c0.offline_atc, c0.balance = 0, 50_000  # as the card reported its first purchase
    sell(b, c0, 100, ttc=1)  # genuine TAC (B's), the ATC the card spent in October
    assert _upload(b) == 1
    sell(a, cs[1], 300, ttc=2)  # A's TTC 2 again, the card's next ATC
    assert _upload(a) == 7
    t = terminal_records.c
    with central.engine.connect() as conn:
        ref = t.terminal_id + ":" + sa.cast(t.seq, sa.String)
        got = dict(conn.execute(sa.select(ref, t.reason).where(t.status == "rejected")).all())
        posted = conn.execute(sa.select(sa.func.count()).where(t.status == "posted")).scalar()
        water = ledger.balance(conn, "payee:water")
    assert got == {"320500000002:1": "duplicate_card_txn", "320500000001:7": "duplicate_ttc"}
    assert posted == 6 and water == sum(range(100, 103)) + sum(range(200, 203))


@pytest.mark.postgres
def test_archive_and_restore_a_month(
    pg_central: Central,
    issuer_keys: IssuerKeys,
    tmp_path: Path,
    archive_key: bytes,
    request: pytest.FixtureRequest,
) -> None:
    a, b, cs = _two_months(pg_central, issuer_keys, tmp_path, request)
    c = pg_central
    card = shadow.card_check(c, cs[0].asn)
    _at(c, DEC)
    sell(a, cs[0], 50, ttc=7)
    assert _upload(a) == 7
    with c.engine.begin() as conn, pytest.raises(partitions.ArchiveError, match="after the"):
        partitions.archive(conn, "2027-01", archive_key, tmp_path / "arc", DEC)
    with c.engine.begin() as conn:
        files = partitions.archive(conn, "2026-12", archive_key, tmp_path / "arc", DEC)
    assert [f.name for f in files] == ["ledger-2026-10.archive", "ledger-2026-11.archive"]
    assert _where(c, "terminal_records") == {"terminal_records_p202612": 1}
    # The shadow balances are the live balances: archiving history leaves them.
    after = shadow.card_check(c, cs[0].asn)
    assert card is not None and after is not None
    assert (after.balance, after.entries) == (card.balance - 50, card.entries + 1)
    assert shadow.audit(c).clean  # the archived months' sums stand in for their entries
    # The keys stay: October's (ASN, ATC, type) is still refused, once archived.
    c0 = cs[0]
    c0.offline_atc, c0.balance = 0, 50_000
    sell(b, c0, 100, ttc=1)
    assert _upload(b) == 1
    with c.engine.begin() as conn:
        assert [partitions.restore(conn, f, archive_key, DEC) for f in files] == [
            "2026-10", "2026-11"]  # fmt: skip
    assert _where(c, "ledger_entries") == {"ledger_entries_p202610": 6,
                                           "ledger_entries_p202611": 6,
                                           "ledger_entries_p202612": 2}  # fmt: skip
    assert shadow.audit(c).clean and reconcile.reconcile(c).ledger_ok
    with c.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT reason FROM terminal_records WHERE terminal_id ="
                                    " '320500000002'").scalar() == "duplicate_card_txn"  # fmt: skip
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), c.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE ledger_entries SET amount = 0")  # restored: append-only
    assert {"ledger_entries_p202610", "ledger_txns_p202611"} <= set(_truncate_refused(c))
    with c.engine.begin() as conn, pytest.raises(partitions.ArchiveError, match="already"):
        partitions.restore(conn, files[0], archive_key, DEC)


def _tamper(src: Path, dst: Path, edit: str) -> None:
    with gzip.open(src, "rb") as fh:
        head, body = fh.readline(), fh.read()
    manifest = orjson.loads(head)
    if edit == "row":  # one amount in the entries' rows: 200 fen become 900
        body = body.replace(b"\t-200\t", b"\t-900\t", 1)
        assert b"\t-900\t" in body
    else:  # the signed per-account sums
        manifest["balances"][0][1] += 1
    with gzip.open(dst, "wb") as fh:
        fh.write(orjson.dumps(manifest) + b"\n" + body)


@pytest.mark.postgres
def test_a_tampered_archive_is_refused(
    pg_central: Central,
    issuer_keys: IssuerKeys,
    tmp_path: Path,
    archive_key: bytes,
    request: pytest.FixtureRequest,
) -> None:
    _a, _b, _cs = _two_months(pg_central, issuer_keys, tmp_path, request)
    c = pg_central
    with c.engine.begin() as conn:
        (nov,) = [f for f in partitions.archive(conn, "2026-12", archive_key, tmp_path, DEC)
                  if "2026-11" in f.name]  # fmt: skip
    rows, sums = tmp_path / "rows.archive", tmp_path / "sums.archive"
    _tamper(nov, rows, "row")
    _tamper(nov, sums, "sums")
    with c.engine.begin() as conn, pytest.raises(partitions.ArchiveError, match="tampered"):
        partitions.restore(conn, sums, archive_key, DEC)  # the signature
    other = chain.private_key_pem(chain.generate_key())
    with c.engine.begin() as conn, pytest.raises(partitions.ArchiveError, match="another key"):
        partitions.restore(conn, nov, other, DEC)
    key_file = tmp_path / "archive-key.pem"
    key_file.write_bytes(archive_key)
    cmd = [sys.executable, "-m", "kiosk.cli", "central", "restore", "--db",
           c.engine.url.render_as_string(hide_password=False), str(rows),
           "--archive-key", str(key_file)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 1
    assert "refused:" in out.stderr and "do not match the signed digest" in out.stderr
    assert _where(c, "terminal_records") == {}  # nothing attached
    cmd[cmd.index(str(rows))] = str(nov)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert _where(c, "terminal_records") == {"terminal_records_p202611": 3}


_AT_0014 = ("accounts", "cards", "terminals", "documents", "terminal_records", "ledger_txns",
            "ledger_entries", "account_balances")  # fmt: skip


def test_migration_of_a_populated_0014_database(
    central: Central, db_url: str, issuer_keys: IssuerKeys,
    central_signing_key: ec.EllipticCurvePrivateKey, tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    """Records ingested, the database as 0014 held them, upgraded: it reconciles,
    the rows keep their place (PostgreSQL: the history partition), and a duplicate
    (ASN, ATC, type) or (terminal, seq) after the upgrade is refused."""
    _a, _b, cs = _two_months(central, issuer_keys, tmp_path, request)
    old_url = db_url.replace("central.db", "old.db") if db_url.startswith("sqlite") else (
        central.engine.url.set(database=f"{central.engine.url.database}_old")
        .render_as_string(hide_password=False))  # fmt: skip
    if not db_url.startswith("sqlite"):
        with central.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {central.engine.url.database}_old")
    old = make_engine(old_url)
    upgrade(old, "0014")
    meta = sa.MetaData()
    meta.reflect(old, only=_AT_0014)
    with central.engine.connect() as src, old.begin() as dst:
        for name in _AT_0014:
            t = meta.tables[name]
            rows = [dict(r._mapping) for r in src.execute(sa.select(*[sa.column(c.name)
                    for c in t.columns]).select_from(sa.table(name)))]  # fmt: skip
            if name == "accounts":  # the migrations' own accounts are there already
                have = set(dst.execute(sa.select(t.c.id)).scalars())
                rows = [r for r in rows if r["id"] not in have]
            if rows:
                dst.execute(t.insert(), rows)
        if old.dialect.name == "postgresql":
            for name in ("accounts", "ledger_txns", "ledger_entries"):
                dst.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"
                                    f" (SELECT max(id) FROM {name}))")  # fmt: skip
    upgrade(old)
    migrated = make_central(old_url, issuer_keys, central_signing_key)
    migrated.terminal_cas = central.terminal_cas
    try:
        assert reconcile.reconcile(migrated).ledger_ok and shadow.audit(migrated).clean
        # Every entry came across with its transaction's ingest time (PostgreSQL
        # writes them anew), and stays append-only.
        q = "SELECT id, txn_id, account_id, amount, created_ms FROM ledger_entries ORDER BY id"
        with central.engine.connect() as a, migrated.engine.connect() as b:
            want, got = a.exec_driver_sql(q).all(), b.exec_driver_sql(q).all()
        assert got == want and len(got) > 0
        with pytest.raises(sa.exc.DBAPIError), migrated.engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE ledger_entries SET amount = 0 WHERE id = {got[0][0]}")
        if old.dialect.name == "postgresql":
            assert _where(migrated, "terminal_records") == {"terminal_records_history": 6}
            assert _where(migrated, "ledger_entries") == {"ledger_entries_history": len(got)}
            assert "ledger_entries_history" in _truncate_refused(migrated)  # migration 0019
        with migrated.engine.connect() as conn:
            keys = conn.exec_driver_sql("SELECT count(*), count(asn), count(ttc) FROM record_keys")
            assert tuple(keys.one()) == (6, 6, 6)
        with ThreadServer(migrated) as srv:
            (tmp_path / "m").mkdir()
            a2 = terminal(migrated, srv.url, tmp_path / "m", "320500000003")
            _at(migrated, DEC)
            c0 = cs[0]
            c0.offline_atc, c0.balance = 0, 50_000
            sell(a2, c0, 100, ttc=1)  # October's (ASN, ATC, type): refused across the upgrade
            sell(a2, cs[2], 77, ttc=2)
            assert _upload(a2) == 2
        with migrated.engine.connect() as conn:
            st = dict(conn.exec_driver_sql("SELECT seq, reason FROM terminal_records WHERE"
                                           " terminal_id = '320500000003'").all())  # fmt: skip
            assert st == {1: "duplicate_card_txn", 2: None}
            assert ledger.balance(conn, "payee:water") == 603 + 77 + sum(range(100, 103))
        assert reconcile.reconcile(migrated).ledger_ok and shadow.audit(migrated).clean
        # A's (terminal, seq) keys came across too: its seq 1 cannot be stored again.
        with pytest.raises(sa.exc.IntegrityError), migrated.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO record_keys (terminal_id, seq, received_ms)"
                                 " VALUES ('320500000001', 1, 0)")  # fmt: skip
    finally:
        migrated.engine.dispose()
        old.dispose()


def test_downgrade_to_0014_and_up_again_keeps_the_ledger(db_url: str) -> None:
    from alembic import command

    from backend_sync.central.db import _config, current_revision

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as conn:
        ids = ledger.account_ids(conn, ["funding", "suspense"])
        ledger.post(conn, [ledger.posting("t", "r", (ids["funding"], -5), (ids["suspense"], 5))],
                    OCT)  # fmt: skip
    with engine.begin() as conn:
        command.downgrade(_config(conn), "0014")
    assert current_revision(engine) == "0014"
    upgrade(engine)
    with engine.begin() as conn:
        ledger.post(conn, [ledger.posting("t", "s", (ids["funding"], -2), (ids["suspense"], 2))],
                    DEC)  # fmt: skip
        assert ledger.balance(conn, "suspense") == 7
        assert ledger.shadow_balance(conn, ids["suspense"]) == (7, 2)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM ledger_entries")
    engine.dispose()
