"""The adapter over the real pcscd: protocols, the transaction's exclusivity."""

from __future__ import annotations

import threading

import pytest

from drivers.pcsc import PcscConnection, Protocol, transaction
from simulators.private_pcscd import PrivatePcscd
from simulators.vpcd import VpcdBridge
from tests.pcsc.conftest import CounterChip

pytestmark = pytest.mark.pcsc

T0_ATR = bytes.fromhex("3B0200")  # no TD1: T=0 only
T1_ATR = bytes.fromhex("3B8880010000000000000000")  # TD1 = 01: T=1


@pytest.mark.parametrize(
    ("atr", "protocol"), [(T0_ATR, Protocol.T0), (T1_ATR, Protocol.T1)], ids=["T=0", "T=1"]
)
def test_protocol_follows_the_atr(
    pcscd: PrivatePcscd, bridge: VpcdBridge, atr: bytes, protocol: int
) -> None:
    chip = CounterChip(atr)
    bridge.card.insert(chip)
    card_slot, _ = pcscd.slot_names()
    with PcscConnection.wait_for_card(card_slot, timeout=5.0) as conn:
        assert (conn.atr, conn.protocol) == (atr, protocol)
        apdu = bytes.fromhex("0010000004CAFE0001")
        assert conn.send_and_receive(apdu) == (b"", 0x9000)
        assert conn.send_and_receive(bytes.fromhex("0012000004")) == (
            bytes.fromhex("CAFE0001"),
            0x9000,
        )
    assert chip.commands[-2:] == [apdu, bytes.fromhex("0012000004")]


def test_a_transaction_keeps_other_handles_out_until_released(
    pcscd: PrivatePcscd, bridge: VpcdBridge
) -> None:
    bridge.card.insert(CounterChip())
    bridge.psam.insert(CounterChip(T0_ATR))
    card_slot, psam_slot = pcscd.slot_names()
    kiosk_card = PcscConnection.wait_for_card(card_slot, timeout=5.0)
    kiosk_psam = PcscConnection.wait_for_card(psam_slot, timeout=5.0)
    intruder = PcscConnection(card_slot)  # another process's shared handle
    answered = threading.Event()
    answers: list[tuple[bytes, int]] = []

    def intrude() -> None:
        answers.append(intruder.send_and_receive(bytes.fromhex("0012000004")))
        answered.set()

    with kiosk_card, kiosk_psam, intruder:
        with transaction(kiosk_card, kiosk_psam):
            kiosk_card.send_and_receive(bytes.fromhex("0010000004000000AA"))
            thread = threading.Thread(target=intrude, daemon=True)
            thread.start()
            # pcscd makes the other handle's command wait for the transaction's end.
            assert not answered.wait(0.5)
            kiosk_card.send_and_receive(bytes.fromhex("0010000004000000BB"))
        assert answered.wait(5.0)
        thread.join(5.0)
    assert answers == [(bytes.fromhex("000000BB"), 0x9000)]
