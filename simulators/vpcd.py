"""The vpcd bridge: simulated chips behind the real pcscd, through vsmartcard's vpcd.

vpcd (the virtual reader driver loaded by pcscd) listens on one TCP port per slot; a
virtual card "inserts" itself by connecting and "leaves" by disconnecting. The
bridge serves a :class:`~simulators.base.SimulatedDevice` on a slot: the citizen
card on port P (slot 0) and the PSAM on port P+1 (slot 1).

The vpcd protocol: each message is a 2-byte big-endian length and a payload. A
1-byte payload is a control (0 power off, 1 power on, 2 reset, 4 get ATR); anything
longer is a command APDU. Only GET ATR and APDUs are answered. pcscd polls every
slot with GET ATR about every 400 ms, also in the middle of a session, so GET ATR
must not reset the chip: the ATR is taken at power-on and cached.

Latency: vpcd answers each message with a small write; with Nagle and delayed ACK
both on, every APDU costs ~40 ms. TCP_NODELAY is set once, and TCP_QUICKACK (which
Linux clears after use) is re-armed before every read.

For anti-tearing tests a slot can pull its card at the next matching command, either
before the chip sees it or after the chip processed (and committed) it but before
the answer goes back: see :meth:`VpcdSlot.arm_tear`.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from simulators.base import SimulatedDevice
from simulators.eeprom import PowerLost

__all__ = ["TearPoint", "VpcdBridge", "VpcdSlot"]

_log = logging.getLogger(__name__)

_CTRL_OFF = 0
_CTRL_ON = 1
_CTRL_RESET = 2
_CTRL_ATR = 4

_LENGTH = struct.Struct(">H")


class TearPoint(enum.Enum):
    """Where a card is pulled relative to the command that triggers the tear."""

    BEFORE_PROCESSING = "before"
    """The chip never sees the command."""
    AFTER_COMMIT = "after"
    """The chip processed and committed the command; its answer is lost."""


@dataclass
class _Tear:
    point: TearPoint
    match: Callable[[bytes], bool]


class _Pulled(Exception):
    """The card was pulled (by a tear or by :meth:`VpcdSlot.remove`)."""


class VpcdSlot:
    """One vpcd slot served by a simulated chip.

    :meth:`insert` connects to vpcd (a card entering the reader), :meth:`remove`
    disconnects. While a card is inserted, losing the connection because pcscd went
    away is not a removal: the slot reconnects once vpcd listens again, as a card
    stays in a physical reader while the service restarts.
    """

    def __init__(
        self, host: str, port: int, *, name: str = "card", low_latency: bool = True
    ) -> None:
        self.host = host
        self.port = port
        self.name = name
        self.low_latency = low_latency
        """TCP_NODELAY and TCP_QUICKACK; off only to measure what they save."""
        self.torn = threading.Event()
        """Set when an armed tear pulled the card."""
        self._lock = threading.Lock()
        self._device: SimulatedDevice | None = None
        self._atr = b""
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._tear: _Tear | None = None
        self._connected = threading.Event()
        self.apdus_served = 0

    # -- card in and out ---------------------------------------------------------------

    @property
    def device(self) -> SimulatedDevice | None:
        """The chip in the slot, or None when empty."""
        return self._device

    def insert(self, device: SimulatedDevice, *, wait: float | None = 5.0) -> None:
        """Put ``device`` in the slot; with ``wait``, block until vpcd accepted the connection.

        The TCP connection completing means vpcd's listen socket has it; pcscd notices
        the card at its next poll of the slot.
        """
        if self._device is not None:
            raise RuntimeError(f"{self.name} slot already holds a card; remove it first")
        self._device = device
        self._atr = device.power_on()
        self.torn.clear()
        self._stop.clear()
        self._connected.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"vpcd-{self.name}-{self.port}", daemon=True
        )
        self._thread.start()
        if wait is not None and not self._connected.wait(wait):
            self.remove()
            raise ConnectionError(f"vpcd does not listen on {self.host}:{self.port}")

    def remove(self) -> SimulatedDevice | None:
        """Pull the card out (disconnect); return the chip that was in the slot."""
        self._stop.set()
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            _shutdown(sock)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)
        self._thread = None
        device, self._device = self._device, None
        if device is not None:
            device.power_off()
        return device

    def swap(self, device: SimulatedDevice, *, gap: float = 0.6) -> SimulatedDevice | None:
        """Take the current card out and put ``device`` in; return the card taken out.

        The slot stays empty for ``gap`` seconds, as a hand takes to swap cards: pcscd
        polls the slot about every 400 ms and misses a shorter absence.
        """
        old = self.remove()
        if old is not None and gap > 0:
            time.sleep(gap)
        self.insert(device)
        return old

    def arm_tear(self, point: TearPoint, match: Callable[[bytes], bool] | None = None) -> None:
        """Pull the card at the next command APDU for which ``match`` is true (default: any)."""
        self.torn.clear()
        self._tear = _Tear(point, match or (lambda _apdu: True))

    @property
    def inserted(self) -> bool:
        """A card is in the slot (it may be waiting for vpcd to listen)."""
        return self._device is not None

    # -- serving -----------------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.02
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2.0)
            except OSError:
                # vpcd is not listening (pcscd down or restarting): try again shortly.
                self._stop.wait(delay)
                delay = min(delay * 2, 0.25)
                continue
            delay = 0.02
            sock.settimeout(None)
            if self.low_latency:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._stop.is_set():
                    sock.close()
                    return
                self._sock = sock
            self._connected.set()
            try:
                self._serve(sock)
            except _Pulled:
                self._pulled_by_tear()
                return
            except OSError as exc:
                _log.debug("%s slot: connection lost: %s", self.name, exc)
            finally:
                with self._lock:
                    if self._sock is sock:
                        self._sock = None
                sock.close()
            # pcscd went away with the card still in: the chip loses power.
            if self._device is not None and not self._stop.is_set():
                self._device.power_off()
                self._atr = self._device.power_on()

    def _serve(self, sock: socket.socket) -> None:
        quickack = self.low_latency
        while True:
            header = _recv_exact(sock, 2, quickack)
            if header is None:
                raise ConnectionResetError("vpcd closed the connection")
            (length,) = _LENGTH.unpack(header)
            payload = _recv_exact(sock, length, quickack) if length else b""
            if payload is None:
                raise ConnectionResetError("vpcd closed the connection mid-message")
            answer = self._handle(payload)
            if answer is not None:
                sock.sendall(_LENGTH.pack(len(answer)) + answer)

    def _handle(self, payload: bytes) -> bytes | None:
        device = self._device
        if device is None:  # remove() is under way on another thread
            raise ConnectionAbortedError("card removed")
        if len(payload) == 1:
            control = payload[0]
            if control == _CTRL_ATR:
                return self._atr
            if control == _CTRL_OFF:
                device.power_off()
            elif control == _CTRL_ON:
                self._atr = device.power_on()
            elif control == _CTRL_RESET:
                device.power_off()
                self._atr = device.power_on()
            else:
                _log.warning("%s slot: unknown vpcd control %d", self.name, control)
            return None
        tear = self._tear
        try:
            if tear is not None and tear.match(payload):
                self._tear = None
                if tear.point is TearPoint.AFTER_COMMIT:
                    device.transmit(payload)
                raise _Pulled
            self.apdus_served += 1
            return device.transmit(payload)
        except PowerLost as exc:
            # The chip's own tear hook cut power mid-write: the card is out of the reader.
            raise _Pulled from exc

    def _pulled_by_tear(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            _shutdown(sock)
        device, self._device = self._device, None
        if device is not None:
            device.power_off()
        self._stop.set()
        self.torn.set()
        _log.info("%s slot: card pulled (tear)", self.name)


class VpcdBridge:
    """A reader pair as a kiosk has it: citizen card on vpcd port P, PSAM on P+1."""

    def __init__(self, host: str, port: int, *, low_latency: bool = True) -> None:
        self.card = VpcdSlot(host, port, name="card", low_latency=low_latency)
        self.psam = VpcdSlot(host, port + 1, name="psam", low_latency=low_latency)

    def close(self) -> None:
        """Pull both chips."""
        self.card.remove()
        self.psam.remove()

    def __enter__(self) -> VpcdBridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _recv_exact(sock: socket.socket, n: int, quickack: bool = True) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        # Linux clears TCP_QUICKACK after it fires: re-arm it before every read, or the
        # ACK for vpcd's next write is delayed ~40 ms.
        if quickack:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already disconnected by the peer
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
