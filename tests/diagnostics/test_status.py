"""Device status with faults injected at real seams: printer-simulator status bytes,
in-process readers unplugged, the central stopped, the central's clock moved, a
size-limited data folder, an outbox corrupted or behind the central."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.diagnostics import Code, DeviceKind, Diagnostics, Health, NextStep, SelfTestName
from simulators.printer.interpreter import PaperState
from tests.diagnostics.conftest import Rig


def _dev(rig: Rig, kind: DeviceKind, **kw: bool) -> tuple[Code, Health, NextStep]:
    st = rig.diag.status(**kw).device(kind)
    return st.code, st.health, st.next_step


def test_a_healthy_kiosk_is_all_ok_and_its_self_tests_pass(rig: Rig) -> None:
    report = rig.diag.status()
    assert report.health is Health.OK, report.to_dict()
    psam = report.device(DeviceKind.PSAM).facts
    assert psam["terminal_id"] == rig.devices.terminal_id and psam["atr"]
    assert report.device(DeviceKind.CARD_READER).code is Code.NO_CARD
    rig.insert("technician")
    tests = {t.name: t for t in rig.diag.self_tests()}
    assert all(t.code is Code.OK for t in tests.values()), [t.to_dict() for t in tests.values()]
    readers = tests[SelfTestName.READERS].facts
    assert readers["mac_round_trip"] is True and isinstance(readers["psam_ttc"], int)
    # The TTC and key version seen by the self-test now show in the status.
    psam = rig.diag.status().device(DeviceKind.PSAM).facts
    assert psam["ttc"] == readers["psam_ttc"] and psam["key_versions"] == "1"
    assert tests[SelfTestName.TEST_PRINT].facts["decoded"] is True
    assert tests[SelfTestName.NETWORK].facts["central_acked_seq"] == 0


@pytest.fixture
def printer_rig(shared_rig: Rig) -> Iterator[Rig]:
    """The module's rig, its printer simulator healed after each fault."""
    yield shared_rig
    healed = {"cover_open": False, "offline": False, "mute": False, "cutter_error": False}
    shared_rig.world.printer_sim.set_faults(paper=PaperState.ADEQUATE, **healed)


@pytest.mark.parametrize(
    ("faults", "code", "step"),
    [
        ({"paper": PaperState.OUT}, Code.PAPER_OUT, NextStep.LOAD_PAPER),
        ({"paper": PaperState.NEAR_END}, Code.PAPER_NEAR_END, NextStep.BRING_PAPER),
        ({"cover_open": True}, Code.COVER_OPEN, NextStep.CLOSE_COVER),
        ({"offline": True}, Code.PRINTER_OFFLINE, NextStep.POWER_CYCLE_PRINTER),
        ({"cutter_error": True}, Code.CUTTER_ERROR, NextStep.CLEAR_CUTTER),
        ({"mute": True}, Code.PRINTER_NO_ANSWER, NextStep.CHECK_PRINTER_CABLE),
    ],
)
def test_printer_faults_come_from_its_status_bytes(
    printer_rig: Rig, faults: dict[str, object], code: Code, step: NextStep
) -> None:
    rig = printer_rig
    rig.world.printer_sim.set_faults(**faults)
    got = _dev(rig, DeviceKind.PRINTER, central=False)
    assert got[0] is code and got[2] is step
    printed = rig.diag.run_self_test(SelfTestName.TEST_PRINT)
    if code is Code.PAPER_NEAR_END:
        assert printed.code is Code.PAPER_NEAR_END and printed.passed  # prints, warns
        assert rig.diag.heartbeat_summary()["paper"] == "near_end"
    else:
        assert not printed.passed and printed.code is code, printed.to_dict()
    summary = rig.diag.heartbeat_summary()
    assert {"device": "printer", "code": code.value} in [
        {"device": f["device"], "code": f["code"]} for f in summary["faults"]
    ]


def test_readers_unplugged_or_empty(rig: Rig) -> None:
    rig.world.psam_reader.remove()
    assert _dev(rig, DeviceKind.PSAM, central=False)[0] is Code.PSAM_MISSING
    assert rig.diag.run_self_test(SelfTestName.READERS).code is Code.PSAM_MISSING
    rig.world.psam_reader.insert(rig.world.wallet.open_psam())
    result = rig.diag.run_self_test(SelfTestName.READERS)
    assert result.code is Code.NO_TEST_CARD and result.passed  # a warning: insert a card
    assert result.next_step is NextStep.INSERT_TEST_CARD
    rig.unplug(rig.world.psam_reader.name)
    rig.unplug(rig.world.card_reader.name)
    report = rig.diag.status(central=False)
    for kind in (DeviceKind.PSAM, DeviceKind.CARD_READER):
        assert report.device(kind).code is Code.READER_MISSING
        assert report.device(kind).next_step is NextStep.CHECK_READER
    assert {f["device"] for f in rig.diag.heartbeat_summary()["faults"]} >= {"psam", "card_reader"}


def test_the_central_stopped(rig: Rig) -> None:
    rig.stop_central()
    code, health, step = _dev(rig, DeviceKind.CENTRAL)
    assert (code, health, step) == (Code.CENTRAL_UNREACHABLE, Health.FAULT, NextStep.CHECK_NETWORK)
    assert rig.diag.run_self_test(SelfTestName.NETWORK).code is Code.CENTRAL_UNREACHABLE
    sync = rig.diag.force_sync()
    assert not sync.ok and sync.problems


@pytest.mark.parametrize(("offset_s", "code"), [(300, Code.CLOCK_SKEW), (-30, Code.CLOCK_DRIFT)])
def test_a_clock_skewed_by_minutes(
    shared_rig: Rig, offset_s: int, code: Code, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = shared_rig
    # The central's clock is moved (it signs its time): the kiosk is off by -offset.
    monkeypatch.setattr(rig.world.central, "clock", lambda: time.time() + offset_s)
    st = rig.diag.status().device(DeviceKind.CENTRAL)
    assert st.code is code and st.next_step is NextStep.SET_CLOCK
    assert abs(int(st.facts["skew_ms"] or 0) - offset_s * 1000) < 2000  # type: ignore[call-overload]
    net = rig.diag.run_self_test(SelfTestName.NETWORK)
    assert net.passed is (code is Code.CLOCK_DRIFT)
    # The heartbeat carries it too, from the sync agent's sample.
    fresh = Diagnostics(rig.devices)
    fresh.note_sync(rig.diag.force_sync().skew_ms)
    faults = {f["device"]: f["code"] for f in fresh.heartbeat_summary()["faults"]}
    assert faults.get("central") == code.value


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_a_nearly_full_disk(rig: Rig, small_disk: Path) -> None:
    from dataclasses import replace

    rig.devices.data_dir = small_disk
    rig.devices.limits = replace(rig.devices.limits, disk_full_bytes=1 << 20,
                                 disk_low_bytes=2 << 20)  # fmt: skip
    assert _dev(rig, DeviceKind.DISK, central=False)[0] is Code.OK
    (small_disk / "fill1").write_bytes(b"\0" * (2 << 20) + b"\0" * 512 * 1024)
    assert _dev(rig, DeviceKind.DISK, central=False)[0] is Code.DISK_LOW
    (small_disk / "fill2").write_bytes(b"\0" * 768 * 1024)
    code, health, step = _dev(rig, DeviceKind.DISK, central=False)
    assert (code, health, step) == (Code.DISK_FULL, Health.FAULT, NextStep.FREE_DISK)


def test_a_missing_data_folder_is_a_configuration_fault_not_a_full_disk(
    rig: Rig, tmp_path: Path
) -> None:
    rig.devices.data_dir = tmp_path / "not-there"
    code, _health, step = _dev(rig, DeviceKind.DISK, central=False)
    assert (code, step) == (Code.NOT_CONFIGURED, NextStep.CONFIGURE)


def _records(rig: Rig, n: int) -> None:
    """n closed records in the outbox, as purchases leave them (never uploaded here:
    the central would refuse their made-up TACs)."""
    ob = rig.world.outbox
    for i in range(n):
        intent = ob.begin_purchase(asn="32150000000000000001", amount=100 + i, atc=i, ttc=10 + i,
                                   date="20261201", time="101500", key_version=1, algorithm=0,
                                   balance_before=10_000, payee="bike")  # fmt: skip
        ob.complete(intent, tac="0A0B0C0D", mac2="01020304", balance_after=9_900 - i)


def test_outbox_backlog_and_its_age(rig: Rig) -> None:
    from dataclasses import replace

    _records(rig, 3)
    st = rig.diag.status(central=False).device(DeviceKind.OUTBOX)
    assert st.code is Code.OK and st.facts["waiting"] == 3 and st.facts["chain_verified"] is True
    rig.devices.limits = replace(rig.devices.limits, backlog_warn=2)
    assert _dev(rig, DeviceKind.OUTBOX, central=False)[0] is Code.BACKLOG
    later = time.time() + 7200
    rig.devices.clock = lambda: later
    st = rig.diag.status(central=False).device(DeviceKind.OUTBOX)
    assert st.code is Code.BACKLOG_OLD and int(st.facts["oldest_unsent_s"] or 0) >= 7199  # type: ignore[call-overload]


def test_a_corrupted_outbox_is_a_fault_with_the_right_next_step(rig: Rig) -> None:
    _records(rig, 3)
    with sqlite3.connect(rig.world.outbox.path) as db:
        body = db.execute("SELECT body FROM outbox_records WHERE seq = 2").fetchone()[0]
        db.execute("UPDATE outbox_records SET body = ? WHERE seq = 2",
                   (body.replace('"amount":101', '"amount":1'),))  # fmt: skip
    st = rig.diag.status(central=False).device(DeviceKind.OUTBOX)
    assert st.code is Code.CHAIN_BROKEN and st.next_step is NextStep.KEEP_OUTBOX_CALL_SUPPORT
    assert "record 2" in str(st.facts["chain_problem"])
    test = rig.diag.run_self_test(SelfTestName.OUTBOX)
    assert test.code is Code.CHAIN_BROKEN and test.facts["broken_at"] == 2


def test_an_outbox_behind_the_central(rig: Rig) -> None:
    # As after restoring an old disk image: the central holds more than this outbox wrote.
    from backend_sync.central.models import terminals

    with rig.world.central.engine.begin() as conn:
        conn.execute(terminals.update().values(acked_seq=5, head_hash="AB" * 32))
    test = rig.diag.run_self_test(SelfTestName.OUTBOX)
    assert test.code is Code.BEHIND_CENTRAL and test.next_step is NextStep.KEEP_OUTBOX_CALL_SUPPORT
    st = rig.diag.status(central=False).device(DeviceKind.OUTBOX)
    assert st.code is Code.BEHIND_CENTRAL and st.facts["central_acked_seq"] == 5


def test_out_of_service_with_a_reason_survives_a_restart(rig: Rig) -> None:
    from kiosk.audit import AuditLog

    log = AuditLog(rig.world.root / "maintenance-audit.db")
    diag = Diagnostics(rig.devices, audit=log)
    diag.take_out_of_service("printer being replaced", technician="32150000000000009002")
    again = Diagnostics(rig.devices)
    assert again.out_of_service()["reason"] == "printer being replaced"  # type: ignore[index]
    st = again.status(central=False).device(DeviceKind.SOFTWARE)
    assert st.code is Code.OUT_OF_SERVICE and again.heartbeat_summary()["out_of_service"]
    diag.back_in_service(technician="32150000000000009002")
    assert again.out_of_service() is None
    entries = log.entries()
    log.close()
    assert [e.event for e in entries] == [
        "maintenance.out_of_service", "maintenance.back_in_service"]  # fmt: skip
    assert entries[0].fields == {"technician": "32150000000000009002",
                                 "reason": "printer being replaced"}  # fmt: skip


def test_an_empty_reason_is_refused(shared_rig: Rig) -> None:
    with pytest.raises(ValueError):
        shared_rig.diag.take_out_of_service("  ")
    assert shared_rig.diag.out_of_service() is None


def test_documents_missing_or_stale(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(max_hotlist_age_s=60)
    assert _dev(rig, DeviceKind.DOCUMENTS, central=False)[0] is Code.OK
    later = time.time() + 3600
    rig.devices.clock = lambda: later
    st = rig.diag.status(central=False).device(DeviceKind.DOCUMENTS)
    assert st.code is Code.HOTLIST_STALE and st.next_step is NextStep.FORCE_SYNC
    rig.devices.clock = time.time
    assert rig.diag.force_sync().ok
    assert _dev(rig, DeviceKind.DOCUMENTS, central=False)[0] is Code.OK
    (rig.world.store.root / "catalog.json").write_text("{damaged", encoding="utf-8")
    assert _dev(rig, DeviceKind.DOCUMENTS, central=False)[0] is Code.DOCUMENT_MISSING
