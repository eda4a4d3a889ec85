"""``civicard validator bus --config FILE`` as its own process on real PC/SC: pyscard →
pcscd → vpcd → the simulated card and the bus's PSAM. It syncs at the depot, serves
taps offline, and uploads when it stops; the central verifies and posts the rides."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from backend_sync import chain
from backend_sync.central import registry
from backend_sync.terminal_certs import load_test_terminal_ca, terminal_cert_pem_for
from simulators.private_pcscd import PrivatePcscd
from simulators.sam import Psam, make_psam
from simulators.vpcd import VpcdBridge
from tests.kiosk.conftest import Kiosk

pytestmark = pytest.mark.pcsc

BUS_TID = "3205B5000002"


def _lines(stream: IO[str], out: queue.Queue[dict[str, Any]]) -> None:
    for line in stream:
        if line.startswith("{"):
            out.put(json.loads(line))


def test_the_validator_process_on_pcsc(
    make_kiosk: Callable[..., Kiosk], pcscd: PrivatePcscd, bridge: VpcdBridge, tmp_path: Path
) -> None:
    w = make_kiosk().world
    central_pub = tmp_path / "central.pub"
    central_pub.write_bytes(chain.public_key_pem(w.central.signing_key.public_key()))
    key = chain.generate_key()
    (tmp_path / "bus.key").write_bytes(chain.private_key_pem(key))
    # Its certificate from the demo world's TEST ONLY terminal CA (the central trusts it).
    pem = terminal_cert_pem_for(load_test_terminal_ca(w.root), BUS_TID, key)
    registry.enroll_terminal(w.central, terminal_id=BUS_TID, cert_pem=pem)
    lost = w.citizen(5).asn
    registry.set_card_status(w.central, asn=lost, status="blocked")
    bridge.psam.insert(Psam(make_psam(w.wallet.keys(), bytes.fromhex(BUS_TID),
                                      path=tmp_path / "bus-psam.json")))  # fmt: skip
    card_slot, psam_slot = pcscd.slot_names()
    conf = tmp_path / "bus.toml"
    conf.write_text(f"""
[validator]
data_dir = "{tmp_path / 'bus-data'}"
fare_fen = 200
line = 12
vehicle = 345
[readers]
card_reader = "{card_slot}"
psam_reader = "{psam_slot}"
allow_virtual = true
[central]
url = "{w.central_url}"
central_key = "{central_pub}"
terminal_key = "{tmp_path / 'bus.key'}"
sync_interval = 3600
""", encoding="utf-8")  # fmt: skip
    order = [1, 2, 4, 5, 3]  # citizen 4 holds 80 fen; citizen 5's card is hotlisted
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "validator", "bus", "--config", str(conf),
         "--taps", str(len(order))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert proc.stdout is not None
    got: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, got), daemon=True).start()
    try:
        first = got.get(timeout=20)
        assert first["validator"] == BUS_TID and first["card_reader"] == card_slot
        taps = []
        for n in order:
            bridge.card.insert(w.wallet.open_card(w.citizen(n).asn))
            taps.append(got.get(timeout=15))
            bridge.card.remove()
            time.sleep(0.9)  # pcscd polls a vpcd slot about every 400 ms
        end = got.get(timeout=20)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [t["outcome"] for t in taps] == [
        "ride", "ride", "insufficient_balance", "hotlisted", "ride"
    ]  # fmt: skip
    assert [t["seq"] for t in taps if t["outcome"] == "ride"] == [1, 2, 3]
    assert end == {"stopped": True, "head_seq": 3, "acked_seq": 3}  # uploaded on stopping
    assert w.ledger_balances()["payee:transit"] == 600
    assert w.card_balance(w.citizen(1).asn) == 12_850 - 200
    assert w.wallet.open_card(lost).eeprom["status"] == "blocked"
