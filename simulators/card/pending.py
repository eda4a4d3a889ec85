"""The card's volatile context between an INITIALIZE and its DEBIT / CREDIT."""

from __future__ import annotations

from dataclasses import dataclass

from cardlib.crypto import TransactionType

__all__ = ["Pending"]


@dataclass
class Pending:
    """What INITIALIZE told the terminal, kept in RAM until the next command."""

    kind: TransactionType
    key_index: int
    amount: int
    terminal_id: bytes
    atc: int
    card_random: bytes
    balance: int
