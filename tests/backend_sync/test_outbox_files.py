"""The outbox's files, corrupted every way a disk or a person can: the outbox is never
re-created over them, and a damaged one is one clear OutboxUnusable naming the file
and what to do, never an SQLAlchemy error, never sales from an empty outbox."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from backend_sync import chain
from backend_sync.terminal.outbox import (
    IntentId,
    Outbox,
    OutboxError,
    OutboxUnusable,
    SalesStopped,
)
from backend_sync.terminal.outbox_files import marker_path, read_marker

TID = "320500000001"
ASN = "32150000000000000001"


def _begin(ob: Outbox, n: int) -> IntentId:
    return ob.begin_purchase(
        asn=ASN, amount=100, atc=n, ttc=n, date="20261128", time="101500",
        key_version=1, algorithm=0, balance_before=10_000, payee="water",
    )  # fmt: skip


def _sell(ob: Outbox, n: int) -> int:
    return ob.complete(_begin(ob, n), tac="0A0B0C0D", mac2="01020304", balance_after=1)


def _with_records(tmp: Path, n: int = 3) -> Path:
    path = tmp / "outbox.db"
    ob = Outbox(path, TID)
    for i in range(1, n + 1):
        _sell(ob, i)
    ob.close()
    return path


def _zero(p: Path) -> None:
    p.write_bytes(b"")


def _half(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _header_only(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:100])


def _random(p: Path) -> None:
    p.write_bytes(random.Random(7).randbytes(p.stat().st_size))


def _random_pages(p: Path) -> None:
    # The SQLite header survives; every page after the first is noise.
    data = p.read_bytes()
    p.write_bytes(data[:4096] + random.Random(8).randbytes(len(data) - 4096))


def _not_an_outbox(p: Path) -> None:
    import sqlite3

    p.unlink()
    conn = sqlite3.connect(p)
    conn.execute("CREATE TABLE something_else (x)")
    conn.commit()
    conn.close()


def _garbled_head(p: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(p)
    conn.execute("UPDATE outbox_meta SET value = 'x9' WHERE key = 'head_seq'")
    conn.commit()
    conn.close()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "zero_bytes": _zero,
    "truncated_half": _half,
    "header_only": _header_only,
    "random_bytes": _random,
    "random_pages": _random_pages,
    "another_database": _not_an_outbox,
    "garbled_chain_head": _garbled_head,
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_outbox_is_refused_never_recreated(tmp_path: Path, damage: str) -> None:
    path = _with_records(tmp_path)
    DAMAGE[damage](path)
    before = path.read_bytes()
    with pytest.raises(OutboxUnusable) as exc:
        Outbox(path, TID)
    err = exc.value
    assert isinstance(err, OutboxError) and err.code == "outbox_damaged"
    assert str(path) in str(err) and "recover" in str(err)
    assert path.read_bytes() == before  # nothing written over the evidence
    with pytest.raises(OutboxUnusable):
        Outbox(path, TID)  # and again on the next start


def test_a_deleted_outbox_is_missing_while_its_marker_remains(tmp_path: Path) -> None:
    path = _with_records(tmp_path)
    path.unlink()
    with pytest.raises(OutboxUnusable) as exc:
        Outbox(path, TID)
    assert exc.value.code == "outbox_missing" and "marker" in str(exc.value)
    assert not path.exists()


@pytest.mark.parametrize("which", ["-wal", "-shm"])
def test_a_wal_or_shm_left_behind_is_a_trace_of_an_outbox(tmp_path: Path, which: str) -> None:
    path = _with_records(tmp_path)
    os.unlink(marker_path(path))
    path.rename(tmp_path / "elsewhere.db")
    path.with_name(path.name + which).write_bytes(random.Random(3).randbytes(4096))
    with pytest.raises(OutboxUnusable) as exc:
        Outbox(path, TID)
    assert exc.value.code == "outbox_missing"


def test_a_garbage_wal_beside_an_intact_outbox(tmp_path: Path) -> None:
    # SQLite ignores WAL frames whose checksums fail: the records are all there.
    path = _with_records(tmp_path)
    path.with_name(path.name + "-wal").write_bytes(random.Random(4).randbytes(8192))
    ob = Outbox(path, TID)
    assert ob.status().head_seq == 3
    assert _sell(ob, 4) == 4


def test_a_wal_holding_the_last_records_survives_a_crash(tmp_path: Path) -> None:
    # A power cut leaves committed records in the WAL only: they are read back.
    path = _with_records(tmp_path)
    ob = Outbox(path, TID)
    _sell(ob, 4)
    snap = tmp_path / "snap"
    snap.mkdir()
    for p in (path, path.with_name(path.name + "-wal"), marker_path(path)):
        shutil.copy(p, snap / p.name)  # the disk as the power cut left it
    ob.close()
    reopened = Outbox(snap / path.name, TID)
    assert reopened.status().head_seq == 4


def test_the_main_file_cut_to_zero_with_its_wal_left(tmp_path: Path) -> None:
    path = _with_records(tmp_path)
    ob = Outbox(path, TID)
    _sell(ob, 4)
    wal = path.with_name(path.name + "-wal")
    snap = tmp_path / "snap"
    snap.mkdir()
    shutil.copy(wal, snap / wal.name)
    shutil.copy(marker_path(path), snap / marker_path(path).name)
    (snap / path.name).write_bytes(b"")
    ob.close()
    with pytest.raises(OutboxUnusable) as exc:
        Outbox(snap / path.name, TID)
    assert exc.value.code == "outbox_damaged"


MARKER_DAMAGE: dict[str, Callable[[Path], None]] = {
    "zero_bytes": _zero,
    "truncated_half": _half,
    "random_bytes": _random,
    "edited": lambda p: p.write_text(p.read_text().replace('"acked_seq": 0', '"acked_seq": 9')),
}


@pytest.mark.parametrize("damage", MARKER_DAMAGE, ids=list(MARKER_DAMAGE))
def test_a_damaged_marker_still_counts(tmp_path: Path, damage: str) -> None:
    path = _with_records(tmp_path)
    marker = marker_path(path)
    MARKER_DAMAGE[damage](marker)
    assert read_marker(path) is not None and not read_marker(path).readable  # type: ignore[union-attr]
    # With the outbox intact, the marker is rewritten from it...
    Outbox(path, TID).close()
    m = read_marker(path)
    assert m is not None and m.readable
    # ...and with the outbox gone, a damaged marker still stops its re-creation.
    MARKER_DAMAGE[damage](marker)
    path.unlink()
    with pytest.raises(OutboxUnusable) as exc:
        Outbox(path, TID)
    assert exc.value.code == "outbox_missing"


def test_a_marker_of_another_terminal_is_refused(tmp_path: Path) -> None:
    path = _with_records(tmp_path)
    other = tmp_path / "other.db"
    Outbox(other, "320500000002").close()
    shutil.copy(marker_path(other), marker_path(path))
    with pytest.raises(OutboxUnusable):
        Outbox(path, TID)


def test_a_torn_creation_leaves_nothing_that_counts(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    # A power cut while the outbox was being built under its temporary name.
    (tmp_path / "outbox.db.creating").write_bytes(random.Random(5).randbytes(5000))
    ob = Outbox(path, TID)
    assert ob.status().head_seq == 0 and _sell(ob, 1) == 1
    assert not (tmp_path / "outbox.db.creating").exists()
    assert read_marker(path) is not None


def test_damage_while_running_is_an_outbox_error_not_a_database_error(tmp_path: Path) -> None:
    path = _with_records(tmp_path, 40)
    ob = Outbox(path, TID)
    ob.engine.dispose()  # no page of it cached
    data = bytearray(path.read_bytes())
    data[4096:] = random.Random(6).randbytes(len(data) - 4096)
    path.write_bytes(bytes(data))
    with pytest.raises(OutboxUnusable) as exc:
        ob.pending()
    assert exc.value.code == "outbox_damaged" and str(path) in str(exc.value)


def test_an_ack_beyond_the_head_stops_sales_for_good(tmp_path: Path) -> None:
    path = _with_records(tmp_path)
    ob = Outbox(path, TID)
    with pytest.raises(OutboxUnusable) as exc:
        ob.acknowledge(7)
    assert exc.value.code == "outbox_behind"
    st = ob.status()
    assert not st.sales_allowed and st.stop_reason == "outbox_behind"
    with pytest.raises(SalesStopped) as stopped:
        _begin(ob, 4)
    assert stopped.value.reason == "outbox_behind"
    ob.close()
    assert Outbox(path, TID).status().stop_reason == "outbox_behind"


def test_the_central_holding_another_record_stops_sales(tmp_path: Path) -> None:
    path = _with_records(tmp_path)
    ob = Outbox(path, TID)
    _prev, recs = ob.pending()
    ob.check_central_head(3, recs[-1].hash)  # agrees: nothing happens
    ob.check_central_head(0, chain.genesis_hash(bytes.fromhex(TID)).hex())
    assert ob.status().sales_allowed
    with pytest.raises(OutboxUnusable):
        ob.check_central_head(2, "00" * 32)
    assert ob.status().stop_reason == "outbox_behind"


def test_the_marker_remembers_acknowledgements(tmp_path: Path) -> None:
    path = _with_records(tmp_path)
    ob = Outbox(path, TID)
    ob.acknowledge(2)
    assert read_marker(path).acked_seq == 2  # type: ignore[union-attr]
    ob.close()


def test_recovery_continues_the_chain_from_the_central_head(tmp_path: Path) -> None:
    path = _with_records(tmp_path)
    ob = Outbox(path, TID)
    _prev, recs = ob.pending()
    head = recs[-1].hash
    ob.close()
    with pytest.raises(OutboxError):
        Outbox.continue_from(path, TID, acked_seq=3, head_hash=head)  # old files still there
    aside = tmp_path / "aside"
    aside.mkdir()
    for p in (path, marker_path(path)):
        p.rename(aside / p.name)
    ob = Outbox.continue_from(path, TID, acked_seq=3, head_hash=head)
    assert _sell(ob, 4) == 4
    prev, recs = ob.pending()
    assert prev == head and [r.seq for r in recs] == [4]
    ob.check_central_head(3, head)
    assert ob.status().sales_allowed


def test_a_folder_name_with_uri_characters(tmp_path: Path) -> None:
    folder = tmp_path / "kiosk #1 ?data%20"
    folder.mkdir()
    path = _with_records(folder)
    assert Outbox(path, TID).status().head_seq == 3
    path.write_bytes(b"")
    with pytest.raises(OutboxUnusable):
        Outbox(path, TID)


def test_the_guard_says_why_sales_stop(tmp_path: Path) -> None:
    from backend_sync.terminal.outbox_guard import OutboxGuard

    path = _with_records(tmp_path, 40)
    guard = OutboxGuard(path, TID)
    assert guard.problem() is None and guard.require() is guard.outbox
    assert guard.outbox is not None
    guard.outbox.engine.dispose()
    data = bytearray(path.read_bytes())
    data[4096:] = random.Random(9).randbytes(len(data) - 4096)
    path.write_bytes(bytes(data))  # the disk goes bad under the running kiosk
    assert guard.problem() == "outbox_damaged"
    assert guard.problem() == "outbox_damaged"  # and stays so
    missing = tmp_path / "gone"
    missing.mkdir()
    gone = _with_records(missing)
    gone.unlink()
    assert OutboxGuard(gone, TID).problem() == "outbox_missing"
