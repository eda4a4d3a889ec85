"""A kiosk built from its TOML config on real PC/SC: pyscard → pcscd → vpcd → the
simulated card and PSAM, the reader monitor driving the session, the printer over
TCP, the central on loopback. A citizen pays a bill with nothing simulated in-process
but the chips."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from backend_sync import chain
from kiosk.config import load_config
from kiosk.journeys.citizen_states import State
from kiosk.runtime import build_runtime
from simulators.private_pcscd import PrivatePcscd
from simulators.vpcd import VpcdBridge
from tests.kiosk.conftest import Kiosk

pytestmark = pytest.mark.pcsc


def _wait(cond: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_configured_kiosk_on_pcsc_pays_a_bill(
    make_kiosk: Callable[..., Kiosk], pcscd: PrivatePcscd, bridge: VpcdBridge, tmp_path: Path
) -> None:
    demo = make_kiosk()  # the wallet, the central (departments, bank), the printer simulator
    w = demo.world
    (bill,) = w.unpaid_bills("water", "1000001")  # the department's own
    root = w.root
    (root / "central.pub").write_bytes(chain.public_key_pem(w.central.signing_key.public_key()))
    assert w.ops.receipts is not None
    printer_url = w.ops.receipts.printer.url  # the same printer simulator, over TCP
    card_slot, psam_slot = pcscd.slot_names()
    conf = tmp_path / "kiosk.toml"
    conf.write_text(f"""
[kiosk]
data_dir = "{tmp_path / 'kiosk-data'}"
location = "测试网点"
trusted_ca = "{root / 'wallet' / 'issuer-ca.crt'}"
[readers]
card_reader = "{card_slot}"
psam_reader = "{psam_slot}"
allow_virtual = true
[printer]
url = "{printer_url}"
[central]
url = "{w.central_url}"
central_key = "{root / 'central.pub'}"
terminal_key = "{root / 'terminal-key.pem'}"
sync_interval = 60
""", encoding="utf-8")  # fmt: skip
    bridge.psam.insert(w.wallet.open_psam())
    rt = build_runtime(load_config(conf, env={}))
    psam_id = w.wallet.psam_path().stem  # the wallet names PSAM files by terminal id
    assert rt.terminal_id == psam_id.upper()  # read from the PSAM through pcscd
    rt.start()
    try:
        _wait(lambda: rt.controller.state is State.ATTRACT, "attract")
        c = w.citizen(1)
        bridge.card.insert(w.wallet.open_card(c.asn))
        _wait(lambda: rt.controller.state is State.PIN_ENTRY, "the PIN screen")
        for d in c.pin:
            rt.controller.pin_digit(int(d))
        rt.controller.pin_submit()
        _wait(lambda: rt.controller.state is State.MENU, "the menu")
        _wait(lambda: rt.ops.catalog().version >= 1, "the catalog synced (first pass)")
        rt.controller.choose_service("water_bill")
        _wait(lambda: rt.controller.state is State.FORM, "the form")
        rt.controller.set_field("account", "1000001")
        rt.controller.submit_form()
        _wait(lambda: rt.controller.state is State.CONFIRM, "confirm")
        rt.controller.confirm()
        _wait(lambda: rt.controller.state is State.DONE, "done")
        res = rt.machine.screen().result
        assert res is not None and res.ok and res.receipt == "printed", res
        rt.controller.finish()
        _wait(lambda: rt.controller.state is State.TAKE_CARD, "take card")
        bridge.card.remove()
        _wait(lambda: rt.controller.state is State.ATTRACT, "attract again")
        # uploaded at once (the record wakes the sync thread), not a minute later
        _wait(lambda: rt.outbox.status().acked_seq == 1, "the record acknowledged", timeout=10)
        assert w.ledger_balances()["payee:water"] == bill["amount"]
        assert w.order_status(bill["reference"]) == "paid"
    finally:
        rt.stop()
    assert w.card_balance(c.asn) == 12_850 - bill["amount"]


def test_a_kiosk_whose_outbox_was_lost_goes_out_of_service(
    make_kiosk: Callable[..., Kiosk], pcscd: PrivatePcscd, bridge: VpcdBridge, tmp_path: Path
) -> None:
    # Issue 12 item 3: the outbox truncated to 0 bytes is never re-created empty.
    from backend_sync.terminal.outbox import Outbox

    w = make_kiosk().world
    card_slot, psam_slot = pcscd.slot_names()
    data = tmp_path / "kiosk-data"
    data.mkdir()
    tid = w.wallet.psam_path().stem.upper()
    Outbox(data / "outbox.db", tid).close()
    (data / "outbox.db").write_bytes(b"")
    conf = tmp_path / "kiosk.toml"
    conf.write_text(f"""
[kiosk]
data_dir = "{data}"
trusted_ca = "{w.root / 'wallet' / 'issuer-ca.crt'}"
[readers]
card_reader = "{card_slot}"
psam_reader = "{psam_slot}"
allow_virtual = true
""", encoding="utf-8")  # fmt: skip
    bridge.psam.insert(w.wallet.open_psam())
    rt = build_runtime(load_config(conf, env={}))
    rt.start()
    try:
        _wait(lambda: rt.controller.state is State.OUT_OF_SERVICE, "out of service")
        assert "outbox_damaged" in rt.machine.screen().notices
        bridge.card.insert(w.wallet.open_card(w.citizen(1).asn))
        time.sleep(1.0)
        assert rt.controller.state is State.OUT_OF_SERVICE  # no session, no sale
    finally:
        rt.stop()
    assert (data / "outbox.db").read_bytes() == b""  # the evidence left as it was
