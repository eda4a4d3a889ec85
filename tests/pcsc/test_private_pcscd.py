"""The private pcscd: another pcscd is named plainly; an orphan of a killed run is stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulators.private_pcscd import (
    OtherPcscdRunning,
    PrivatePcscd,
    find_pcscd,
    find_vpcd_driver,
    free_port_pair,
    running_pcscd,
)

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[2]


def _wait_gone(pid: int) -> bool:
    for _ in range(500):
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.01)
    return False


def test_a_pcscd_started_by_someone_else_is_named(tmp_path: Path) -> None:
    daemon = PrivatePcscd(tmp_path)
    daemon._acquire_lock()  # keep other civicard runs away while a stray pcscd exists
    conf = tmp_path / "stray"
    conf.mkdir()
    port = free_port_pair()
    (conf / "vpcd").write_text(
        f'FRIENDLYNAME "Stray"\nDEVICENAME /dev/null:0x{port:04X}\n'
        f"LIBPATH {find_vpcd_driver()}\nCHANNELID 0x{port:04X}\n",
        encoding="utf-8",
    )
    stray = subprocess.Popen([find_pcscd(), "-f", "-c", str(conf)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(500):
            if running_pcscd():
                break
            time.sleep(0.01)
        with pytest.raises(OtherPcscdRunning, match=f"pid {stray.pid}: .*pcscd"):
            daemon.start()
    finally:
        stray.terminate()
        stray.wait(10)
        daemon.close()


def test_a_pcscd_orphaned_by_a_killed_run_is_stopped(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from simulators.private_pcscd import PrivatePcscd\n"
        "d = PrivatePcscd(Path(sys.argv[1]))\n"
        "d.start()\n"
        "print(d._proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "killed")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    (tmp_path / "killed").mkdir()
    assert owner.stdout is not None
    orphan = int(owner.stdout.readline())
    owner.send_signal(signal.SIGKILL)  # no chance to stop its pcscd
    owner.wait(10)
    assert running_pcscd() is not None

    with PrivatePcscd(tmp_path / "next") as daemon:
        assert daemon.running
        assert _wait_gone(orphan)
