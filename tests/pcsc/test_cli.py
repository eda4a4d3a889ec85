"""``civicard sim card`` and ``civicard pcsc`` against a private pcscd."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from cardlib.apdu import ApduSession
from cardlib.crypto import Algorithm
from cardlib.layout import Holder
from cardlib.purse import Purse
from drivers.pcsc import PcscConnection
from drivers.pcsc_events import CardInserted, CardRemoved, PcscMonitor
from kiosk.cli import main
from simulators.card import make_card
from simulators.private_pcscd import PrivatePcscd
from simulators.sam import make_psam
from tests.cardlib.rig import ASN, TERMINAL, fixed_keys
from tests.pcsc.conftest import Events

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim_card(pcscd: PrivatePcscd, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    keys = fixed_keys(Algorithm.TDES)
    holder = Holder("测试", ASN.hex(), "320582********0000", date(1990, 1, 1))
    card_file, psam_file = tmp_path / "card.json", tmp_path / "psam.json"
    make_card(keys, ASN, holder, balance=4_321, path=card_file)
    make_psam(keys, TERMINAL, path=psam_file)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "sim", "card", "--vpcd", f"127.0.0.1:{pcscd.port}",
         "--card", str(card_file), "--psam", str(psam_file)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def test_sim_card_serves_card_and_psam_and_obeys_stdin(
    pcscd: PrivatePcscd, sim_card: subprocess.Popen[str], events: Events
) -> None:
    card_slot, _ = pcscd.slot_names()
    with PcscConnection.wait_for_card(card_slot, timeout=10.0) as conn:
        assert Purse(ApduSession(conn)).balance() == 4_321
    with PcscMonitor(events.put, reader_filter=lambda name: name == card_slot):
        events.until(lambda e: isinstance(e, CardInserted))
        assert sim_card.stdin is not None
        sim_card.stdin.write("remove\n")
        sim_card.stdin.flush()
        assert events.next() == CardRemoved(card_slot)
        sim_card.stdin.write("insert\n")
        sim_card.stdin.flush()
        assert isinstance(events.next(), CardInserted)


def test_pcsc_readers_atr_send_and_selftest(
    pcscd: PrivatePcscd, sim_card: subprocess.Popen[str], capsys: pytest.CaptureFixture[str]
) -> None:
    card_slot, psam_slot = pcscd.slot_names()
    PcscConnection.wait_for_card(card_slot, timeout=10.0).close()
    PcscConnection.wait_for_card(psam_slot, timeout=10.0).close()
    roles = ["--card-reader", "*00 00", "--psam-reader", "*00 01"]

    # Production default: virtual readers refused, and said so.
    assert main(["pcsc", "selftest", *roles]) == 1
    assert "virtual readers refused" in capsys.readouterr().err

    assert main(["pcsc", "readers", *roles, "--allow-virtual"]) == 0
    out = capsys.readouterr().out
    assert f"{card_slot}  [virtual]" in out
    assert f"roles: card = {card_slot}; PSAM = {psam_slot}" in out

    assert main(["pcsc", "atr", *roles, "--allow-virtual"]) == 0
    assert "ATR 3B 88 80 01 43 49 56 49 43 41 52 44 (T=1)" in capsys.readouterr().out

    verify = "0020000003123456"  # VERIFY, PBOC form
    assert main(["pcsc", "send", "--reader", "*00 00", "--allow-virtual",
                 "00A404000AF0434956494341524401", verify, "805C000204"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "> 00 20 00 00 03 <3 bytes redacted>" in out
    assert "123456" not in out
    assert "< 00 00 10 E1 9000" in out  # the balance, 4321 fen

    assert main(["pcsc", "watch", "--count", "4", "--timeout", "10"]) == 0
    out = capsys.readouterr().out
    assert f"reader added    {psam_slot}" in out
    assert f"card inserted   {card_slot}  ATR 3B 88 80 01 43 49 56 49 43 41 52 44" in out

    assert main(["pcsc", "selftest", *roles, "--allow-virtual"]) == 0
    out = capsys.readouterr().out
    assert "ok   GET BALANCE: 43.21" in out
    assert f"ok   SELECT PSAM, read terminal id: {TERMINAL.hex().upper()}" in out
    assert "selftest passed" in out


def test_sim_card_says_what_is_wrong_with_its_arguments() -> None:
    env = {**os.environ}
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "sim", "card", "--vpcd", "nonsense", "--card", "x"],
        cwd=ROOT, capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "HOST:PORT" in result.stderr
