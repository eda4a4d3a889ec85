"""Fixtures for the PC/SC tests: a private pcscd with vpcd readers, the bridge, events.

Every test gets its own pcscd on fresh ports (it starts in a few milliseconds). pcscd's
socket is machine-wide: if another pcscd is running, the fixture fails saying so.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from simulators.private_pcscd import PrivatePcscd
from simulators.vpcd import VpcdBridge

# pcscd polls each vpcd slot about every 400 ms: a card event is seen within ~0.5 s.
EVENT_TIMEOUT = 5.0


class CounterChip:
    """A test-only chip: INS 10 stores a 4-byte value (committed), INS 12 reads it back.

    Power-on clears nothing persistent, like a card's EEPROM; ``commands`` records every
    APDU the chip processed.
    """

    def __init__(self, atr: bytes = bytes.fromhex("3B8880010000000000000000")) -> None:
        self.atr = atr
        self.value = 0
        self.powered = False
        self.commands: list[bytes] = []

    def power_on(self) -> bytes:
        self.powered = True
        return self.atr

    def power_off(self) -> None:
        self.powered = False

    def transmit(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        if apdu[1] == 0x10 and len(apdu) == 9:
            self.value = int.from_bytes(apdu[5:9], "big")
            return b"\x90\x00"
        if apdu[1] == 0x12:
            return self.value.to_bytes(4, "big") + b"\x90\x00"
        return b"\x6d\x00"


class Events:
    """A queue of PC/SC monitor events with waiting helpers."""

    def __init__(self) -> None:
        self.q: queue.Queue[object] = queue.Queue()
        self.seen: list[object] = []

    def put(self, event: object) -> None:
        self.q.put(event)

    def next(self, timeout: float = EVENT_TIMEOUT) -> object:
        try:
            event = self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no PC/SC event within {timeout} s; seen: {self.seen}") from None
        self.seen.append(event)
        return event

    def until(
        self, match: Callable[[object], bool], timeout: float = EVENT_TIMEOUT
    ) -> list[object]:
        """Events up to and including the first matching one."""
        deadline = time.monotonic() + timeout
        got: list[object] = []
        while True:
            got.append(self.next(max(0.01, deadline - time.monotonic())))
            if match(got[-1]):
                return got

    def quiet(self, for_seconds: float) -> list[object]:
        """Whatever arrives within ``for_seconds`` (expected: nothing)."""
        got = []
        deadline = time.monotonic() + for_seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self.q.get(timeout=left))
            except queue.Empty:
                break
        self.seen += got
        return got


@pytest.fixture
def pcscd(tmp_path: Path) -> Iterator[PrivatePcscd]:
    daemon = PrivatePcscd(tmp_path / "pcscd")
    daemon.workdir.mkdir()
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.close()


@pytest.fixture
def bridge(pcscd: PrivatePcscd) -> Iterator[VpcdBridge]:
    b = VpcdBridge("127.0.0.1", pcscd.port)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def events() -> Events:
    return Events()
