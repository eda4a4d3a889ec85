"""``civicard central``: keys, database, registry and reconciliation from the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardlib.crypto import Algorithm
from cardlib.keys import IssuerKeys
from kiosk.cli import main


def test_central_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'central.db'}"
    keys = tmp_path / "issuer-keys.json"
    IssuerKeys.generate(Algorithm.SM4).save(keys)
    signing = tmp_path / "signing.pem"
    common = ["--db", db, "--issuer-keys", str(keys), "--signing-key", str(signing)]
    assert main(["central", "keygen", "--out", str(signing)]) == 0
    assert (tmp_path / "signing.pub.pem").read_text().startswith("-----BEGIN PUBLIC KEY")
    assert main(["central", "migrate", "--db", db]) == 0
    asn = "32150000000000000009"
    assert main(["central", "register-card", *common, "--asn", asn, "--algorithm", "4"]) == 0
    assert main(["central", "card-status", *common, "--asn", asn, "--status", "blocked"]) == 0
    assert "hotlist version 1" in capsys.readouterr().out
    assert main(["central", "reconcile", *common]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)  # one document
    assert report["total"] == 0 and report["unbalanced"] == 0
    # TEST ONLY keys are refused where production keys are required.
    from cardlib.keys import TestKeyRefused

    with pytest.raises(TestKeyRefused):
        main(["central", "reconcile", *common, "--production"])


def test_serving_process_collector_is_tuned() -> None:
    """`central serve` freezes the start-up objects out of the collector's passes and
    raises its thresholds (docs/scale.md: the collector took 1.4 s of a catch-up's
    4.9 s); reference cycles are still collected."""
    import gc

    from backend_sync.central.cli import GC_THRESHOLDS, tune_gc

    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS and GC_THRESHOLDS[0] > before[0]
        assert gc.get_freeze_count() > 0
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # a cycle made after it is still found
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
