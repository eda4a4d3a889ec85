"""In-process transport: a cardlib Connection straight onto a simulated chip.

What a reader does, minus the wire: power the chip on insertion, pass APDUs, and
report the card gone when it is pulled or loses power mid-command.
"""

from __future__ import annotations

from cardlib.apdu import split_response
from cardlib.errors import CardRemovedError, NoCardError
from simulators.base import SimulatedDevice
from simulators.eeprom import PowerLost

__all__ = ["SimReader"]


class SimReader:
    """A reader slot holding at most one simulated device (implements Connection)."""

    def __init__(self, name: str = "civicard in-process reader") -> None:
        self.name = name
        self.device: SimulatedDevice | None = None
        self.atr: bytes | None = None
        self.apdu_count = 0
        self._pull: tuple[int, bool] | None = None

    def arm_pull(self, ins: int, *, after: bool) -> None:
        """Pull the card at the next command with this INS: before the card sees it
        (``after=False``), or after the card processed it but before its answer
        reaches the terminal (``after=True``) - the two tearing cases of a reader."""
        self._pull = (ins, after)

    def insert(self, device: SimulatedDevice) -> bytes:
        """Insert and power the device; returns its ATR."""
        if self.device is not None:
            self.remove()
        self.device = device
        self.atr = device.power_on()
        return self.atr

    def remove(self) -> None:
        if self.device is not None:
            self.device.power_off()
        self.device = None
        self.atr = None

    @property
    def present(self) -> bool:
        return self.device is not None

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        if self.device is None:
            raise NoCardError(f"no card in {self.name}")
        pull = self._pull
        if pull is not None and len(apdu) > 1 and apdu[1] == pull[0]:
            self._pull = None
            if pull[1]:
                self.device.transmit(apdu)
            self.remove()
            raise CardRemovedError(f"card pulled from {self.name}")
        try:
            raw = self.device.transmit(apdu)
        except PowerLost as exc:
            # A torn card is a card that left the reader.
            self.device = None
            self.atr = None
            raise CardRemovedError(f"card lost power in {self.name}: {exc}") from exc
        self.apdu_count += 1
        return split_response(raw)
