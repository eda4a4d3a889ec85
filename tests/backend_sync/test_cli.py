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
