"""Hostile bytes and damaged files: every refusal a clear 4xx or a status, never a crash."""

from __future__ import annotations

import base64
import json
import sqlite3

import httpx
import pytest

from backend_sync import chain
from kiosk.diagnostics import Code, DeviceKind, Diagnostics, SelfTestName
from tests.diagnostics.conftest import Rig


def test_hostile_heartbeats_and_bundles_get_4xx(shared_rig: Rig) -> None:
    url, tid = shared_rig.world.central_url, shared_rig.devices.terminal_id
    for body in (b"", b"{", b"[]", b'{"body": 1, "signature": "00"}', b"\xff" * 64):
        r = httpx.post(f"{url}/v1/heartbeats", content=body,
                       headers={"content-type": "application/json"})  # fmt: skip
        assert 400 <= r.status_code < 500, (body, r.status_code)
    fault = {"device": "printer", "health": "fault", "code": "paper_out", "next_step": "x"}
    hb = {"terminal_id": tid, "boot_id": "0" * 32, "counter": 1, "ts": 1, "reason": "interval",
          "health": "ok", "faults": [fault] * 33, "backlog": 0, "paper": "x",
          "versions": {}}  # fmt: skip
    r = httpx.post(f"{url}/v1/heartbeats", json={"body": hb, "signature": "00" * 8})
    assert r.status_code == 422  # 33 faults: more than any kiosk has devices
    hb["faults"], hb["extra"] = [], "x"
    assert httpx.post(f"{url}/v1/heartbeats", json={"body": hb, "signature": "00" * 8}
                      ).status_code == 422  # fmt: skip

    def bundle(content_b64: str) -> httpx.Response:
        body = {"terminal_id": tid, "name": "b", "content_b64": content_b64,
                "signature": "AB" * 8}  # fmt: skip
        return httpx.post(f"{url}/v1/support-bundles", json=body)

    assert bundle("not base64!").json()["reason"] == "bad_bundle"
    big = base64.b64encode(b"x" * (4 * 1024 * 1024 + 1)).decode()
    assert bundle(big).status_code == 413
    not_json = b"\x00\x01binary"
    r = httpx.post(f"{url}/v1/support-bundles", json={
        "terminal_id": tid, "name": "b", "content_b64": base64.b64encode(not_json).decode(),
        "signature": chain.sign(shared_rig.world.terminal_key, not_json)})  # fmt: skip
    assert r.status_code == 400 and r.json()["reason"] == "bad_bundle"
    assert httpx.get(f"{url}/v1/terminals/{tid}/position").status_code == 422  # no nonce
    assert httpx.get(f"{url}/v1/terminals/ZZ/position?nonce=1").status_code == 404


def test_a_damaged_outbox_file_is_unreadable_not_a_crash(make_rig: object) -> None:
    rig = make_rig()  # type: ignore[operator]
    path = rig.world.outbox.path
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM outbox_meta WHERE key = 'acked_hash'")
    st = rig.diag.status(central=False).device(DeviceKind.OUTBOX)
    assert st.code is Code.OUTBOX_UNREADABLE
    assert rig.diag.run_self_test(SelfTestName.OUTBOX).code is Code.OUTBOX_UNREADABLE
    rig.world.outbox.close()
    path.write_bytes(b"this is not a database" * 100)
    st = rig.diag.status(central=False).device(DeviceKind.OUTBOX)
    assert st.code is Code.OUTBOX_UNREADABLE, st.to_dict()


@pytest.mark.parametrize("bad", ['{"reason": ', "[1, 2]", '{"reason": 7}', "\xff\xfe"])
def test_a_damaged_service_state_keeps_the_kiosk_out_of_service(shared_rig: Rig, bad: str) -> None:
    diag = Diagnostics(shared_rig.devices)
    path = shared_rig.devices.data_dir / "service-state.json"
    path.write_text(bad, encoding="utf-8", errors="surrogateescape")
    try:
        state = diag.out_of_service()
        assert state is not None and "unreadable" in state["reason"]
    finally:
        diag.back_in_service()
    assert diag.out_of_service() is None and json.dumps(diag.status(central=False).to_dict())
