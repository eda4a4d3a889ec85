"""PcscMonitor against a scripted PC/SC: paths the vpcd stack cannot produce.

vpcd readers never come and go while pcscd runs, so the PnP pseudo-reader path, a
card swapped between two wake-ups and a PC/SC without PnP support are driven here.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from drivers.pcsc import PNP_NOTIFICATION
from drivers.pcsc_events import (
    CardInserted,
    CardRemoved,
    PcscEvent,
    PcscMonitor,
    ReaderAdded,
    ReaderRemoved,
)

OK = 0
E_CANCELLED = 0x80100002
E_TIMEOUT = 0x8010000A
STATE_UNKNOWN = 0x4
STATE_EMPTY = 0x10
STATE_PRESENT = 0x20
R1, R2 = "Reader One 00 00", "Reader Two 00 00"
ATR1, ATR2 = bytes.fromhex("3B0101"), bytes.fromhex("3B0202")

Step = Callable[["ScriptedScard"], dict[str, tuple[int, bytes]]]


class ScriptedScard:
    """Each SCardGetStatusChange runs the next step; then it blocks until cancelled."""

    def __init__(self, readers: list[str], steps: list[Step]) -> None:
        self.readers = readers
        self.steps = steps
        self.cancelled = threading.Event()
        self.timeouts: list[int] = []

    def SCardEstablishContext(self, scope: int) -> tuple[int, int]:
        return OK, 1

    def SCardReleaseContext(self, ctx: int) -> int:
        return OK

    def SCardCancel(self, ctx: int) -> int:
        self.cancelled.set()
        return OK

    def SCardGetErrorMessage(self, code: int) -> str:
        return f"error {code:08X}"

    def SCardListReaders(self, ctx: int, groups: list[str]) -> tuple[int, list[str]]:
        return OK, list(self.readers)

    def SCardGetStatusChange(
        self, ctx: int, timeout: int, states: list[tuple[str, int]]
    ) -> tuple[int, list[tuple[str, int, list[int]]]]:
        self.timeouts.append(timeout)
        if not self.steps:
            self.cancelled.wait(10)
            return E_CANCELLED, []
        changes = self.steps.pop(0)(self)
        out = []
        for name, current in states:
            state, atr = changes.get(name, (current, b""))
            out.append((name, state, list(atr)))
        return OK, out


def _run(api: ScriptedScard, count: int) -> list[PcscEvent]:
    got: queue.Queue[PcscEvent] = queue.Queue()
    with PcscMonitor(got.put, api=api):
        events = [got.get(timeout=5) for _ in range(count)]
    return events


def _counter(n: int) -> int:
    return n << 16


def test_readers_arriving_and_leaving_through_pnp_and_a_quick_swap() -> None:
    def first(api: ScriptedScard) -> dict[str, tuple[int, bytes]]:
        return {R1: (STATE_EMPTY, b""), PNP_NOTIFICATION: (_counter(0), b"")}

    def plug_r2(api: ScriptedScard) -> dict[str, tuple[int, bytes]]:
        api.readers = [R1, R2]
        return {PNP_NOTIFICATION: (_counter(1) | 0x2, b"")}

    def card_in_r2(api: ScriptedScard) -> dict[str, tuple[int, bytes]]:
        return {R2: (_counter(1) | STATE_PRESENT | 0x2, ATR1)}

    def swapped_between_waits(api: ScriptedScard) -> dict[str, tuple[int, bytes]]:
        # Pulled and another card put in: two more events, still present.
        return {R2: (_counter(3) | STATE_PRESENT | 0x2, ATR2)}

    def unplug_r1(api: ScriptedScard) -> dict[str, tuple[int, bytes]]:
        api.readers = [R2]
        return {PNP_NOTIFICATION: (_counter(2) | 0x2, b"")}

    api = ScriptedScard([R1], [first, plug_r2, card_in_r2, swapped_between_waits, unplug_r1])
    assert _run(api, 6) == [
        ReaderAdded(R1),
        ReaderAdded(R2),
        CardInserted(R2, ATR1),
        CardRemoved(R2),
        CardInserted(R2, ATR2),
        ReaderRemoved(R1),
    ]
    assert api.timeouts[1] == 0x7FFFFFFF  # with PnP it waits without a timeout


def test_without_pnp_support_readers_are_listed_again_periodically() -> None:
    def no_pnp(api: ScriptedScard) -> dict[str, tuple[int, bytes]]:
        return {R1: (STATE_EMPTY, b""), PNP_NOTIFICATION: (STATE_UNKNOWN | 0x2, b"")}

    def plugged(api: ScriptedScard) -> dict[str, tuple[int, bytes]]:
        api.readers = [R1, R2]
        return {}

    api = ScriptedScard([R1], [no_pnp, plugged])
    assert _run(api, 2) == [ReaderAdded(R1), ReaderAdded(R2)]
    assert api.timeouts[0] == 0x7FFFFFFF
    assert all(t < 10_000 for t in api.timeouts[1:])


class FlakyListener:
    """Raises on the first event, records the rest."""

    def __init__(self) -> None:
        self.seen: list[PcscEvent] = []
        self.second = threading.Event()

    def __call__(self, event: PcscEvent) -> None:
        self.seen.append(event)
        if len(self.seen) == 1:
            raise RuntimeError("listener bug")
        self.second.set()


def test_a_failing_listener_does_not_stop_the_monitor() -> None:
    def first(api: ScriptedScard) -> dict[str, tuple[int, bytes]]:
        return {R1: (STATE_PRESENT | 0x2, ATR1)}

    listener = FlakyListener()
    with PcscMonitor(listener, api=ScriptedScard([R1], [first])):
        assert listener.second.wait(5)
    assert listener.seen == [ReaderAdded(R1), CardInserted(R1, ATR1)]


def test_an_unavailable_reader_is_kept_and_an_unknown_one_dropped() -> None:
    STATE_UNAVAILABLE = 0x8

    def unavailable(api: ScriptedScard) -> dict[str, tuple[int, bytes]]:
        return {R1: (STATE_UNAVAILABLE | 0x2, b""), R2: (STATE_EMPTY, b"")}

    def recovers_with_card(api: ScriptedScard) -> dict[str, tuple[int, bytes]]:
        return {R1: (_counter(1) | STATE_PRESENT | 0x2, ATR1)}

    def r2_vanishes(api: ScriptedScard) -> dict[str, tuple[int, bytes]]:
        api.readers = [R1]
        return {R2: (STATE_UNKNOWN | 0x2, b"")}

    api = ScriptedScard([R1, R2], [unavailable, recovers_with_card, r2_vanishes])
    assert _run(api, 4) == [
        ReaderAdded(R1),
        ReaderAdded(R2),
        CardInserted(R1, ATR1),
        ReaderRemoved(R2),
    ]
    # Each wait passed the state last seen: no busy loop on the unavailable reader.
    assert len(api.timeouts) <= 4
