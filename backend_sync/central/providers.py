"""Outside systems the central talks to: billers (bill lookup) and funding (top-up).

The billers are the departments' systems behind
:class:`backend_sync.central.departments.Departments` (``civicard sim departments``
stands in for them, the demo world included). :class:`SimulatedBank` keeps a bank
sandbox in memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "BillDirectory",
    "BillInfo",
    "FundingProvider",
    "FundingRefused",
    "LinkedAccount",
    "LinkedAccounts",
    "SimulatedBank",
]


@dataclass(frozen=True)
class BillInfo:
    """An unpaid bill as its biller states it."""

    payee: str
    account: str
    reference: str  # the bill's own id: what a payment order holds
    period: str
    amount: int  # fen
    biller: str


class BillDirectory(Protocol):
    def unpaid(self, payee: str, account: str) -> list[BillInfo]:
        """The unpaid bills of ``account`` at ``payee``, oldest first."""
        ...


class FundingRefused(Exception):
    """The funding source said no (``reason``: "no_linked_account", "insufficient_funds")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FundingProvider(Protocol):
    def charge(self, *, source: str, asn: str, amount: int, ref: str) -> None:
        """Take ``amount`` fen from the citizen's linked account; FundingRefused if not."""
        ...

    def refund(self, *, source: str, asn: str, amount: int, ref: str) -> None:
        """Give back a charge whose load was voided."""
        ...


@dataclass(frozen=True)
class LinkedAccount:
    """The bank account a card is linked to: the bank's name and the account number
    (the central masks the number before it leaves: ``funding.mask_account``)."""

    provider: str
    number: str


@runtime_checkable
class LinkedAccounts(Protocol):
    """A funding provider that can say which account of a card it would charge (so the
    kiosk names it before the citizen confirms a top-up)."""

    def linked(self, *, source: str, asn: str) -> LinkedAccount | None: ...


class SimulatedBank:
    """Linked bank accounts by card ASN, balances in fen; every charge is kept."""

    def __init__(self, accounts: dict[str, int] | None = None) -> None:
        self._lock = threading.Lock()
        self.accounts = {k.upper(): v for k, v in (accounts or {}).items()}
        self.details: dict[str, LinkedAccount] = {}  # the bank and number, by ASN
        self.charges: dict[str, int] = {}

    def link(self, asn: str, balance: int, *, provider: str = "", number: str = "") -> None:
        with self._lock:
            self.accounts[asn.upper()] = balance
            if provider or number:
                self.details[asn.upper()] = LinkedAccount(provider, number)

    def linked(self, *, source: str, asn: str) -> LinkedAccount | None:
        with self._lock:
            if asn.upper() not in self.accounts:
                return None
            return self.details.get(asn.upper(), LinkedAccount("", ""))

    def charge(self, *, source: str, asn: str, amount: int, ref: str) -> None:
        with self._lock:
            if ref in self.charges:
                return  # idempotent: the same authorization charged once
            have = self.accounts.get(asn.upper())
            if have is None:
                raise FundingRefused("no_linked_account")
            if have < amount:
                raise FundingRefused("insufficient_funds")
            self.accounts[asn.upper()] = have - amount
            self.charges[ref] = amount

    def refund(self, *, source: str, asn: str, amount: int, ref: str) -> None:
        with self._lock:
            if self.charges.pop(ref, None) is not None:
                self.accounts[asn.upper()] = self.accounts.get(asn.upper(), 0) + amount
