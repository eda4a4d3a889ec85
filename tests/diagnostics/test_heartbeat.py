"""Heartbeats from a kiosk's diagnostics to the central over real HTTP: at start, at
the interval, at once on a device-state change; the fleet API shows them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from backend_sync.terminal.heartbeat import HeartbeatSender
from simulators.printer.interpreter import PaperState
from tests.diagnostics.conftest import Rig

ADMIN = {"authorization": "Bearer demo-admin-token"}


def _wait(pred: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_heartbeats_on_start_interval_and_change(rig: Rig) -> None:
    url, tid = rig.world.central_url, rig.devices.terminal_id
    sender = HeartbeatSender(rig.world.client, rig.diag.heartbeat_summary, interval=0.5,
                             check_every=0.05)  # fmt: skip
    stop = threading.Event()
    t = threading.Thread(target=sender.run, args=(stop,), daemon=True)
    t.start()

    def history() -> list[dict[str, Any]]:
        r = httpx.get(f"{url}/v1/admin/fleet/{tid}/history", headers=ADMIN)
        return list(r.json())

    def fleet() -> dict[str, Any]:
        return dict(httpx.get(f"{url}/v1/admin/fleet", headers=ADMIN).json())

    try:
        _wait(lambda: any(h["reason"] == "start" for h in history()))
        _wait(lambda: any(h["reason"] == "interval" for h in history()))
        assert sender.last_ack is not None and sender.last_ack.acked_seq == 0
        rig.world.printer_sim.set_faults(paper=PaperState.OUT)
        changed = _wait(lambda: [h for h in history() if h["reason"] == "change"])
        assert changed[0]["paper"] == "out" and changed[0]["health"] == "fault"
        (kiosk,) = fleet()["kiosks"]
        assert kiosk["terminal_id"] == tid and kiosk["paper"] == "out"
        assert {"device": "printer", "code": "paper_out"} in [
            {"device": f["device"], "code": f["code"]} for f in kiosk["faults"]
        ]
        rig.unplug(rig.world.psam_reader.name)
        _wait(lambda: any(f["device"] == "psam" for f in fleet()["kiosks"][0]["faults"]))
        rig.stop_central()
        _wait(lambda: sender.last_error is not None)
        assert t.is_alive()  # a central that is down does not stop the heartbeat
    finally:
        stop.set()
        sender.notify()
        t.join(5)
    assert not t.is_alive()
