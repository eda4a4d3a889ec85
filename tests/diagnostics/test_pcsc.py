"""A kiosk built from its config on the real PC/SC stack (private pcscd + vpcd):
its diagnostics see the readers through pcscd, run the PSAM/card MAC round trip
through pyscard, heartbeat to the central, and report pcscd gone (marker ``pcsc``:
run under the machine-wide lock)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend_sync import chain
from kiosk.config import load_config
from kiosk.diagnostics import Code, DeviceKind, SelfTestName
from kiosk.runtime import build_runtime
from simulators.private_pcscd import PrivatePcscd
from simulators.vpcd import VpcdBridge
from tests.diagnostics.conftest import Rig

pytestmark = pytest.mark.pcsc
ADMIN = {"authorization": "Bearer demo-admin-token"}


def _wait(pred: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_runtime_diagnostics_and_heartbeat_over_pcsc(
    make_rig: Callable[..., Rig],
    pcscd: PrivatePcscd,
    bridge: VpcdBridge,
    tmp_path: Path,
) -> None:
    rig = make_rig()
    w = rig.world
    (w.root / "central.pub").write_bytes(chain.public_key_pem(w.central.signing_key.public_key()))
    card_slot, psam_slot = pcscd.slot_names()
    conf = tmp_path / "kiosk.toml"
    conf.write_text(f"""
[kiosk]
data_dir = "{tmp_path / 'kiosk-data'}"
trusted_ca = "{w.root / 'wallet' / 'issuer-ca.crt'}"
[readers]
card_reader = "{card_slot}"
psam_reader = "{psam_slot}"
allow_virtual = true
[printer]
url = "tcp://127.0.0.1:{w.printer_sim.tcp_port}"
[central]
url = "{w.central_url}"
central_key = "{w.root / 'central.pub'}"
terminal_key = "{w.root / 'terminal-key.pem'}"
""", encoding="utf-8")  # fmt: skip
    bridge.psam.insert(w.wallet.open_psam())
    rt = build_runtime(load_config(conf, env={}))
    rt.heartbeat.check_every = 0.1
    rt.start()
    fleet = f"{w.central_url}/v1/admin/fleet"
    try:
        _wait(lambda: httpx.get(fleet, headers=ADMIN).json()["kiosks"], "the first heartbeat")
        report = rt.diagnostics.status()
        assert report.device(DeviceKind.CARD_READER).code is Code.NO_CARD
        psam = report.device(DeviceKind.PSAM)
        assert psam.code is Code.OK and psam.facts["reader"] == psam_slot and psam.facts["atr"]
        # The technician's card opens the maintenance journey (its PIN first); the
        # readers self-test then uses the card in the slot.
        bridge.card.insert(w.wallet.open_card(rig.card("technician").asn))
        _wait(lambda: str(rt.controller.state) == "maintenance_pin", "the technician's PIN")
        test = rt.diagnostics.run_self_test(SelfTestName.READERS)
        assert test.code is Code.OK and test.facts["mac_round_trip"] is True, test.to_dict()
        trace = rt.diagnostics.apdu_trace()  # the session's and the self-test's, data withheld
        assert any("> 80 70 00 00 1C <28 bytes>" in line for line in trace), trace[-10:]
        pcscd.stop()
        report = rt.diagnostics.status(central=False)
        assert report.device(DeviceKind.PSAM).code in (Code.PCSC_DOWN, Code.READER_MISSING)

        def psam_fault() -> bool:
            (k,) = httpx.get(fleet, headers=ADMIN).json()["kiosks"]
            return any(f["device"] == "psam" for f in k["faults"])

        _wait(psam_fault, "a heartbeat saying the PSAM is gone")
    finally:
        rt.stop()
