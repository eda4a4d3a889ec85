"""``civicard diagnose --config FILE`` against a DemoWorld's central, printer and
data folder; its readers are named but absent (no PC/SC here), so it must fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend_sync import chain
from kiosk.cli import main
from simulators.printer.interpreter import PaperState
from tests.diagnostics.conftest import Rig


def _config(rig: Rig, tmp_path: Path) -> Path:
    w = rig.world
    (tmp_path / "central.pub").write_bytes(chain.public_key_pem(w.central.signing_key.public_key()))
    (tmp_path / "terminal.key").write_bytes(chain.private_key_pem(w.terminal_key))
    cfg = tmp_path / "kiosk.toml"
    port = w.printer_sim.tcp_port
    cfg.write_text(
        f'[kiosk]\ndata_dir = "{w.root}"\nlocation = "test"\n'
        '[readers]\ncard_reader = "civicard-diag-test card"\n'
        'psam_reader = "civicard-diag-test psam"\n'
        f'[printer]\nurl = "tcp://127.0.0.1:{port}"\n'
        f'[central]\nurl = "{w.central_url}"\ncentral_key = "{tmp_path / "central.pub"}"\n'
        f'terminal_key = "{tmp_path / "terminal.key"}"\n',
        encoding="utf-8",
    )
    return cfg


def test_diagnose_prints_status_and_tests_and_fails_on_faults(
    shared_rig: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(shared_rig, tmp_path)
    assert main(["diagnose", "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert f"terminal {shared_rig.devices.terminal_id}" in out  # from the outbox, no PSAM
    assert "FAULT   psam" in out and "next: " in out
    assert "OK      printer" in out and "OK      central" in out
    assert "PASS test_print" in out and "PASS outbox" in out and "FAIL readers" in out
    assert "next: restart the PC/SC service" in out or "next: check the reader" in out

    shared_rig.world.printer_sim.set_faults(paper=PaperState.OUT)
    try:
        assert main(["diagnose", "--config", str(cfg), "--json", "--no-print"]) == 1
    finally:
        shared_rig.world.printer_sim.load_paper()
    doc = json.loads(capsys.readouterr().out)
    printer = next(d for d in doc["status"]["devices"] if d["device"] == "printer")
    assert (printer["code"], printer["next_step"]) == ("paper_out", "load_paper")
    assert "test_print" not in [t["name"] for t in doc["self_tests"]]
    assert {d["device"]: d["code"] for d in doc["status"]["devices"]}["card_reader"] in (
        "reader_missing", "pcsc_down")  # fmt: skip


def test_a_self_test_that_cannot_run_is_skipped_not_passed(
    shared_rig: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the terminal key the test page cannot be signed: the test print is
    not run, and the shell says SKIP with the reason (not PASS)."""
    cfg = _config(shared_rig, tmp_path)
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text[: text.index("[central]")], encoding="utf-8")  # no central, no key
    main(["diagnose", "--config", str(cfg)])
    got = capsys.readouterr()
    out = got.out
    assert "SKIP test_print not_configured" in out and "PASS test_print" not in out, got
    assert "signed with the terminal key" in out


def test_diagnose_refuses_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[printer]\nurl = "lpt1"\n', encoding="utf-8")
    assert main(["diagnose", "--config", str(cfg)]) == 2
    assert "printer.url" in capsys.readouterr().err


def test_diagnose_writes_and_uploads_a_signed_bundle(
    shared_rig: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(shared_rig, tmp_path)
    stick = tmp_path / "stick"
    stick.mkdir()
    main(["diagnose", "--config", str(cfg), "--no-tests", "--bundle", str(stick)])
    out = capsys.readouterr().out
    assert "support bundle:" in out and "uploaded as #" in out, out
    (path,) = stick.glob("*.json")
    sig = (stick / (path.name + ".sig")).read_text().strip()
    assert chain.verify(shared_rig.world.terminal_cert.public_key(), path.read_bytes(), sig)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["config"]["values"]["terminal_key"].startswith("<redacted>")
