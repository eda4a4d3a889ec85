"""``civicard session`` / ``civicard demo``: the scripted session, printed step by step."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from kiosk.demo.session_cli import run_script


def test_default_script_pays_a_bill_and_prints_the_receipt(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_script(_default(), data=tmp_path / "s", out=out) == 0
    text = out.getvalue()
    assert "→ pin_entry" in text and "→ menu" in text and "→ confirm" in text
    assert "receipt printed" in text
    assert "张家港水务" in text  # the receipt, as the printer simulator decoded it
    # The department simulator's bill, paid and posted at the central.
    assert f"ledger payee:water: +{_paid_fen(text)} fen" in text
    # The demo citizens' opening balances came from the demo's own funding account.
    assert "ledger funding:demo:civicard-demo: -91950 fen" in text
    assert "reconcile: 0 mismatches, ledger balanced" in text
    assert "outbox: head 1, acknowledged 1, open intents 0" in text


def _paid_fen(text: str) -> int:
    """The amount of the session's "OK: paid ¥12.34" line, in fen."""
    import re

    from kiosk.money import parse_yuan

    found = re.search(r"OK: paid ¥([0-9,.]+)", text)
    assert found, text
    return parse_yuan(found.group(1))


def _default() -> str:
    from kiosk.demo.session_cli import DEFAULT_SCRIPT

    return DEFAULT_SCRIPT


def test_a_wrong_expectation_fails_the_script(tmp_path: Path) -> None:
    out = io.StringIO()
    script = "insert 1\npin 000000\nexpect menu\n"
    assert run_script(script, data=tmp_path / "s", out=out, language="en") == 1
    assert "expected menu, the kiosk is in pin_entry" in out.getvalue()
    assert "PIN ○○○○○○ wrong, 2 tries left" in out.getvalue()


def test_no_paper_and_timeouts_from_a_script(tmp_path: Path) -> None:
    script = """
    insert 2
    pin
    paper-out
    choose bike_enable
    confirm
    expect no_paper
    without-receipt
    expect done
    wait 30
    more-time
    wait 50
    expect take_card
    remove
    """
    out = io.StringIO()
    assert run_script(script, data=tmp_path / "s", out=out) == 0, out.getvalue()
    text = out.getvalue()
    assert "printer: paper_out" in text and "receipt skipped" in text
    assert "s left (more-time to stay)" in text and "(notice: timed_out)" in text


def test_civicard_demo_text_runs_as_a_command_without_a_display(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["CIVICARD_DATA"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "demo", "--text"], env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _paid_fen(proc.stdout) > 0
