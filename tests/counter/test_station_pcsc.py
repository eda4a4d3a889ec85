"""The counter station on real PC/SC: the clerk's card and the citizen's card in the
two slots of a vpcd reader behind pcscd (pyscard → pcscd → vpcd → the simulated
chips); the operator card signs its request through pcscd after its PIN, the
citizen's card is topped up in cash."""

from __future__ import annotations

import pytest

from drivers.pcsc import PcscConnection, reader_atrs
from kiosk.counter import CounterDevices, CounterError, CounterStation
from simulators.private_pcscd import PrivatePcscd
from simulators.transport import SimReader
from simulators.vpcd import VpcdBridge
from tests.counter.conftest import COUNTER_TID, DRAWER, Counter, issuer_ca

pytestmark = pytest.mark.pcsc


def test_the_counter_on_pcsc_logs_in_and_tops_up(
    counter: Counter, pcscd: PrivatePcscd, bridge: VpcdBridge
) -> None:
    k = counter
    clerk_slot, citizen_slot = pcscd.slot_names()
    clerk, citizen = k.card("clerk"), k.card("citizen")
    bridge.card.insert(k.wallet.open_card(clerk.asn))
    bridge.psam.insert(k.wallet.open_card(citizen.asn))  # the second slot: the citizen's
    held: dict[str, PcscConnection] = {}

    def open_slot(name: str) -> PcscConnection:
        # One connection per card for the session: the clerk card keeps its PIN state.
        if name not in held:
            held[name] = PcscConnection.wait_for_card(name, timeout=10)
        return held[name]

    psam = SimReader("psam")
    psam.insert(k.wallet.open_psam(COUNTER_TID))
    devices = CounterDevices(
        open_clerk_card=lambda: open_slot(clerk_slot),
        open_citizen_card=lambda: open_slot(citizen_slot),
        psam=psam,
        clerk_present=lambda: reader_atrs().get(clerk_slot) is not None,
    )
    station = CounterStation(
        devices, central=k.terminal.client, outbox=k.terminal.outbox,
        trusted=[issuer_ca(k.wallet)], drawer=DRAWER, receipt_key=k.terminal.key,
        journal=k.tmp / "pcsc-ops.json", upload=k.terminal.agent.run_once,
    )  # fmt: skip
    try:
        with pytest.raises(CounterError) as wrong:
            station.login("000000")
        assert wrong.value.reason == "wrong_pin"
        session = station.login(clerk.pin)
        session.open_shift(1_000)
        receipt = session.top_up(600, citizen.pin)
        assert receipt.balance_after_fen == 600
        k.assert_reconciled()
        assert session.close_shift(1_600).mismatch_fen == 0
    finally:
        for conn in held.values():
            conn.close()
