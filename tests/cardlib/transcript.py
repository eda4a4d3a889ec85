"""Test helpers for APDU-level tests: record what crosses a Connection, script a card's RNG."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cardlib.apdu import Connection


@dataclass(frozen=True)
class Exchange:
    """One command and its answer, as hex (upper case, no spaces) for readable diffs."""

    command: str
    response: str
    sw: str

    def __str__(self) -> str:
        return f"> {self.command}\n< {self.response} {self.sw}"


class RecordingConnection:
    """A Connection that forwards to another one and records every exchange verbatim."""

    def __init__(self, inner: Connection) -> None:
        self.inner = inner
        self.exchanges: list[Exchange] = []

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self.inner.send_and_receive(apdu)
        self.exchanges.append(Exchange(apdu.hex().upper(), data.hex().upper(), f"{sw:04X}"))
        return data, sw

    def take(self) -> list[Exchange]:
        """The exchanges recorded since the last call."""
        out, self.exchanges = self.exchanges, []
        return out


class ScriptedConnection:
    """A fake card: answers each command with the next scripted (data, sw); records commands."""

    def __init__(self, answers: Iterable[tuple[bytes, int]]) -> None:
        self.answers = list(answers)
        self.sent: list[bytes] = []

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        self.sent.append(apdu)
        if not self.answers:
            raise AssertionError(f"unexpected extra command {apdu.hex().upper()}")
        return self.answers.pop(0)


class ScriptedRng:
    """A card RNG that hands out fixed values in order (so transcripts are byte-exact
    and can be compared with vectors made outside cardlib); fails loudly when the
    card asks for more, or another length, than the test planned."""

    def __init__(self, *values: str) -> None:
        self.values = [bytes.fromhex(v) for v in values]

    def __call__(self, n: int) -> bytes:
        if not self.values:
            raise AssertionError(f"card asked for {n} more random bytes than scripted")
        value = self.values.pop(0)
        if len(value) != n:
            raise AssertionError(f"card asked for {n} random bytes, script has {len(value)}")
        return value
