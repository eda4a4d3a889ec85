"""Reader and card events through the real pcscd and vpcd."""

from __future__ import annotations

import pytest

from cardlib.errors import CardRemovedError, DeviceError, PcscServiceError, ReaderGoneError
from drivers.pcsc import PcscConnection, PcscContext, list_readers, wait_for_removal
from drivers.pcsc_events import (
    CardInserted,
    CardRemoved,
    PcscMonitor,
    ReaderAdded,
    ReaderRemoved,
    ServiceLost,
    ServiceRestored,
)
from simulators.private_pcscd import PrivatePcscd, VpcdReader, free_port_pair
from simulators.vpcd import VpcdBridge
from tests.pcsc.conftest import CounterChip, Events

pytestmark = pytest.mark.pcsc


def test_readers_are_announced_first(pcscd: PrivatePcscd, events: Events) -> None:
    card_slot, psam_slot = pcscd.slot_names()
    assert list_readers() == [card_slot, psam_slot]
    with PcscMonitor(events.put):
        assert [events.next(), events.next()] == [ReaderAdded(card_slot), ReaderAdded(psam_slot)]
        assert events.quiet(0.2) == []


def test_twenty_insert_remove_cycles_are_seen_in_order(
    pcscd: PrivatePcscd, bridge: VpcdBridge, events: Events
) -> None:
    card_slot, _ = pcscd.slot_names()
    with PcscMonitor(events.put, reader_filter=lambda name: name == card_slot):
        assert events.next() == ReaderAdded(card_slot)
        for n in range(20):
            atr = bytes([0x3B, 0x02, 0x14, n])
            bridge.card.insert(CounterChip(atr))
            assert events.next() == CardInserted(card_slot, atr)
            bridge.card.remove()
            assert events.next() == CardRemoved(card_slot)
        assert events.quiet(0.5) == []


def test_card_in_a_reader_before_the_monitor_starts_is_reported(
    pcscd: PrivatePcscd, bridge: VpcdBridge, events: Events
) -> None:
    card_slot, _ = pcscd.slot_names()
    chip = CounterChip()
    bridge.card.insert(chip)
    with PcscConnection.wait_for_card(card_slot, timeout=5.0) as conn:
        assert conn.atr == chip.atr
    with PcscMonitor(events.put):
        got = events.until(lambda e: isinstance(e, CardInserted))
        assert got[-1] == CardInserted(card_slot, chip.atr)


def test_pcscd_restart_mid_session_is_a_clear_error_then_recovers(
    pcscd: PrivatePcscd, bridge: VpcdBridge, events: Events
) -> None:
    card_slot, _ = pcscd.slot_names()
    chip = CounterChip()
    bridge.card.insert(chip)
    with PcscMonitor(events.put, reader_filter=lambda name: name == card_slot):
        events.until(lambda e: isinstance(e, CardInserted))
        conn = PcscConnection(card_slot)
        assert conn.send_and_receive(bytes.fromhex("001000000400000042")) == (b"", 0x9000)

        pcscd.restart()

        with pytest.raises(PcscServiceError):
            conn.send_and_receive(bytes.fromhex("0012000004"))
        assert conn.closed
        conn.close()
        got = events.until(lambda e: isinstance(e, CardInserted))
        assert got == [
            CardRemoved(card_slot),
            ReaderRemoved(card_slot),
            ServiceLost(got[2].reason),  # type: ignore[attr-defined]
            ServiceRestored(),
            ReaderAdded(card_slot),
            CardInserted(card_slot, chip.atr),
        ]
        # The card stayed in the reader: its committed value survives, a new session works.
        with PcscConnection(card_slot) as again:
            assert again.send_and_receive(bytes.fromhex("0012000004")) == (
                b"\x00\x00\x00\x42",
                0x9000,
            )


def test_reader_hot_plug_by_restarting_pcscd_with_another_config(
    pcscd: PrivatePcscd, bridge: VpcdBridge, events: Events
) -> None:
    old_card, old_psam = pcscd.slot_names()
    with PcscMonitor(events.put):
        events.until(lambda e: e == ReaderAdded(old_psam))

        pcscd.restart([])  # every reader unplugged
        got = events.until(lambda e: isinstance(e, ServiceRestored))
        assert got[:2] == [ReaderRemoved(old_card), ReaderRemoved(old_psam)]
        assert events.quiet(0.3) == []
        assert list_readers() == []
        with pytest.raises(ReaderGoneError):
            PcscConnection(old_card)

        new = VpcdReader("Kiosk Reader B", free_port_pair())
        pcscd.restart([new])  # another reader plugged in
        got = events.until(lambda e: e == ReaderAdded("Kiosk Reader B 00 01"))
        assert got[-2:] == [
            ReaderAdded("Kiosk Reader B 00 00"),
            ReaderAdded("Kiosk Reader B 00 01"),
        ]

        with VpcdBridge("127.0.0.1", new.port) as other:
            chip = CounterChip(bytes.fromhex("3B0A0B"))
            other.psam.insert(chip)
            assert events.next() == CardInserted("Kiosk Reader B 00 01", chip.atr)


def test_card_pulled_mid_session_is_a_removal_error(
    pcscd: PrivatePcscd, bridge: VpcdBridge, events: Events
) -> None:
    card_slot, _ = pcscd.slot_names()
    bridge.card.insert(CounterChip())
    with PcscMonitor(events.put, reader_filter=lambda name: name == card_slot):
        events.until(lambda e: isinstance(e, CardInserted))
        conn = PcscConnection(card_slot)
        assert not wait_for_removal(card_slot, 0.3)  # still in
        bridge.card.remove()
        assert wait_for_removal(card_slot, 5.0)
        assert events.next() == CardRemoved(card_slot)
        with pytest.raises(CardRemovedError):
            conn.send_and_receive(bytes.fromhex("0012000004"))
        conn.close()
        with pytest.raises(DeviceError):
            PcscConnection(card_slot)


def test_monitor_stops_promptly_while_waiting(pcscd: PrivatePcscd, events: Events) -> None:
    monitor = PcscMonitor(events.put)
    monitor.start()
    events.next()
    monitor.stop(timeout=2.0)
    assert not monitor.running


def test_swapping_cards_is_seen_as_removal_then_insertion(
    pcscd: PrivatePcscd, bridge: VpcdBridge, events: Events
) -> None:
    card_slot, _ = pcscd.slot_names()
    first, second = CounterChip(bytes.fromhex("3B0101")), CounterChip(bytes.fromhex("3B0202"))
    bridge.card.insert(first)
    with PcscMonitor(events.put, reader_filter=lambda name: name == card_slot):
        events.until(lambda e: isinstance(e, CardInserted))
        assert bridge.card.swap(second) is first
        assert [events.next(), events.next()] == [
            CardRemoved(card_slot),
            CardInserted(card_slot, second.atr),
        ]


def test_a_kept_context_survives_a_pcscd_restart(pcscd: PrivatePcscd) -> None:
    context = PcscContext()
    try:
        assert list_readers(context) == list(pcscd.slot_names())
        pcscd.restart()
        assert list_readers(context) == list(pcscd.slot_names())  # re-established
        pcscd.stop()
        with pytest.raises(PcscServiceError):
            list_readers(context)
        pcscd.start()
        assert list_readers(context) == list(pcscd.slot_names())
    finally:
        context.close()
