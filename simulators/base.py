"""What every simulated PC/SC device offers: power and APDU exchange.

The in-process transport (cardlib ``Connection`` over a simulator) and the vpcd
bridge both drive devices through this protocol only, exactly as a reader drives
a chip: power on gives the ATR and clears volatile state, ``transmit`` takes one
command APDU and returns response data followed by SW1 SW2.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class SimulatedDevice(Protocol):
    """A simulated chip (citizen card or PSAM)."""

    def power_on(self) -> bytes:
        """Cold reset: clear volatile state (selection, PIN state, session), return the ATR."""
        ...

    def power_off(self) -> None:
        """Power removed; volatile state is lost, persistent state is whatever was committed."""
        ...

    def transmit(self, apdu: bytes) -> bytes:
        """Process one command APDU; return response data || SW1 SW2 (never raises on bad input)."""
        ...
