"""What the counter station asks of its core: the operations, one method each, and
what they give back. No Kivy, no devices: the station's screens (terminal_ui/counter/)
call these; the station core does them (``kiosk.counter.ports_adapter``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from cardlib.idcard import IdentityDocument
from kiosk.counter.holder import HolderData

__all__ = ["Clerk", "CounterPorts", "CounterRefused", "Op", "Outcome", "Unfinished"]


class Op(StrEnum):
    """The clerk's operations (issue 17's list), in the home screen's order."""

    ISSUE = "issue"
    TOP_UP = "top_up"
    REPORT_LOSS = "report_loss"
    BLOCK = "block"
    UNBLOCK = "unblock"
    REPLACE = "replace"
    RESET_PIN = "reset_pin"
    REFUND = "refund"
    LOOKUP = "lookup"
    RENEW = "renew"
    SHIFT_OPEN = "shift_open"
    SHIFT_CLOSE = "shift_close"


@dataclass(frozen=True)
class Clerk:
    """The signed-in operator, as the clerk card says."""

    name: str
    card_number: str
    role: str  # "clerk" or "supervisor"


@dataclass(frozen=True)
class Outcome:
    """What an operation did: rows of (label message id, value text) for the screen and
    the receipt (a calculation shown line by line), and whether the receipt printed."""

    op: Op
    rows: tuple[tuple[str, str], ...]
    receipt_printed: bool
    reference: str = ""
    warning: str = ""  # a code shown, never hidden (a drawer mismatch)


@dataclass(frozen=True)
class Unfinished:
    """An operation the counter's journal holds unfinished (after a restart): what it
    is (``kind``: topup, recredit, issue, replace, refund), for which card, how much,
    since when (Unix seconds, 0 unknown), what resuming it asks for (``needs``:
    ``new_pin`` — a blank card in the reader and the citizen's new PIN —, ``card_pin`` —
    the card in the reader and its PIN —, or ``card``) and whether it may be reversed
    (the cash handed back) instead."""

    op_id: str
    kind: str
    card: str
    amount_fen: int
    at: float
    needs: str
    reversible: bool
    replaces: str = ""  # an issue's replacement: the old card's number


class CounterRefused(Exception):
    """An operation refused before or while running; ``code`` picks the words."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class CounterPorts(Protocol):
    """What the station asks of its core: one method per operation. PINs are passed
    once and never kept; amounts are integer fen."""

    def sign_in(self, pin: str) -> Clerk: ...
    def sign_out(self) -> None: ...
    def read_id_card(self) -> IdentityDocument: ...
    def issue_card(self, holder: HolderData, pin: str, opening_fen: int) -> Outcome: ...
    def top_up(self, amount_fen: int, pin: str) -> Outcome: ...
    def report_loss(self, card_number: str, id_number: str) -> Outcome: ...
    def block(self, card_number: str) -> Outcome: ...
    def unblock(self, id_number: str) -> Outcome: ...
    def replace(self, card_number: str, id_number: str, pin: str) -> Outcome: ...
    def reset_pin(self, puk: str, id_number: str, pin: str) -> Outcome: ...
    def refund(self, id_number: str, supervisor_pin: str = "") -> Outcome: ...
    def lookup(self, query: str) -> Outcome: ...
    def renew(self, id_number: str, pin: str = "") -> Outcome: ...
    def open_shift(self, float_fen: int) -> Outcome: ...
    def close_shift(self, counted_fen: int) -> Outcome: ...
    def unfinished(self) -> tuple[Unfinished, ...]: ...
    def resume(self, op_id: str, pin: str = "") -> Outcome: ...
    def reverse(self, op_id: str) -> Outcome: ...
