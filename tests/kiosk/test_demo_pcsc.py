"""The demo's --pcsc path: the same citizen session with the card and PSAM behind the
real pcscd and the vpcd virtual reader, reached through pyscard."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from kiosk.demo.session_cli import DEFAULT_SCRIPT, run_script

pytestmark = pytest.mark.pcsc


def test_scripted_session_through_pcscd(tmp_path: Path) -> None:
    out = io.StringIO()
    rc = run_script(DEFAULT_SCRIPT, data=tmp_path / "demo", out=out, pcsc=True)
    text = out.getvalue()
    assert rc == 0, text
    assert "behind pcscd + vpcd" in text
    assert re.search(r"ledger payee:water: \+[1-9][0-9]* fen", text)  # the department's bill
    assert "open intents 0" in text
    # pcscd wrote its own log: the readers really were PC/SC readers.
    assert "Virtual PCD" in (tmp_path / "demo" / "pcscd" / "pcscd.log").read_text()
