"""PIN digits, held in the core only while they are being typed.

The digits live in a ``bytearray`` that is overwritten as soon as the PIN has been
sent; the UI is told only how many digits there are. (A ``str`` has to be made for
the one call that builds the PIN block; it is dropped right after.)
"""

from __future__ import annotations

__all__ = ["PinBuffer"]


class PinBuffer:
    """Up to ``max_length`` digits, wiped on :meth:`clear` and :meth:`take`."""

    def __init__(self, max_length: int = 6) -> None:
        self.max_length = max_length
        self._digits = bytearray(max_length)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def complete(self) -> bool:
        return self._n == self.max_length

    def add(self, digit: int) -> bool:
        """Append a digit 0-9; False when full."""
        if not 0 <= digit <= 9:
            raise ValueError("a PIN digit is 0-9")
        if self._n >= self.max_length:
            return False
        self._digits[self._n] = 0x30 + digit
        self._n += 1
        return True

    def delete(self) -> None:
        if self._n:
            self._n -= 1
            self._digits[self._n] = 0

    def clear(self) -> None:
        for i in range(len(self._digits)):
            self._digits[i] = 0
        self._n = 0

    def same_as(self, other: PinBuffer) -> bool:
        return self._n == other._n and self._digits[: self._n] == other._digits[: other._n]

    def take(self) -> str:
        """The digits as text for the one call that needs them; the buffer is wiped."""
        text = self._digits[: self._n].decode("ascii")
        self.clear()
        return text
