"""``civicard sim printer`` runs the simulator as its own process, driven by stdin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from drivers.printer.document import Document, Text
from drivers.printer.printer import Printer
from drivers.printer.profiles import PROFILES


def test_sim_printer_command_prints_and_takes_fault_commands(tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("civicard")
    proc = subprocess.Popen(
        [str(cli), "sim", "printer", "--port", "0", "--pty", "--out", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        tcp = proc.stdout.readline().rsplit(" ", 1)[-1].strip()
        pty = proc.stdout.readline().rsplit(" ", 1)[-1].strip()
        assert tcp.startswith("tcp://127.0.0.1:") and pty.startswith("serial:///dev/")
        doc = Document("note", "N1", "zh-Hans", (Text("市民卡「测试」"),))
        with Printer(pty, PROFILES["gb18030-80mm"], timeout=2.0) as printer:
            printer.print_document(doc)
            proc.stdout.readline()  # "jobs are written to ..."
            proc.stdin.write("cover-open\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "ok"
            assert printer.status().problems() == ["cover_open"]
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
    assert (tmp_path / "job-0001.txt").read_text(encoding="utf-8") == "市民卡「测试」\n"
    assert (tmp_path / "job-0001.png").stat().st_size > 0
