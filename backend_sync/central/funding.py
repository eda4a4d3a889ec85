"""Funding accounts: where the outside money behind a load comes from.

Every load (a top-up, or the opening balance of a newly issued card) names its
source in the request's ``funding`` field, and the ledger keeps one account per
source, ``funding:<kind>:<holder>``:

- ``cash``: a drawer (a counter's cash drawer, a kiosk's cash acceptor), e.g.
  ``funding:cash:320500009999``: notes taken at that drawer;
- ``bank``: the bank or linked-account provider, ``funding:bank:linked``: the
  citizen's bank, charged online before the load is authorized;
- ``deposit``: money paid in ahead (an employer, a program),
  ``funding:deposit:employer-42``;
- ``demo``: ``funding:demo:civicard-demo``, nothing real: the TEST ONLY demo's own.

On the wire: ``cash`` alone is the requesting terminal's own drawer, ``bank`` alone
the linked-account provider, ``demo`` the demo's account; ``kind:holder`` names any
other. A counter station's drawers are ``cash:<drawer id>``: new holders need no
code. A funding account's balance is negative: what came in from outside.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = [
    "DEMO_FUNDING",
    "DEMO_HOLDER",
    "FundingAccount",
    "FundingKind",
    "UnknownFunding",
    "mask_account",
]

_HOLDER = re.compile(r"^[A-Za-z0-9_.\-]{1,48}$")
DEMO_HOLDER = "civicard-demo"


class UnknownFunding(ValueError):
    """A ``funding`` value naming no known kind, or a malformed holder."""


class FundingKind(enum.StrEnum):
    CASH = "cash"
    BANK = "bank"
    DEPOSIT = "deposit"
    DEMO = "demo"


@dataclass(frozen=True, slots=True)
class FundingAccount:
    """One source of outside money and its ledger account."""

    kind: FundingKind
    holder: str

    @property
    def code(self) -> str:
        """The ledger account code, ``funding:<kind>:<holder>``."""
        return f"funding:{self.kind.value}:{self.holder}"

    @property
    def charged_online(self) -> bool:
        """A bank is charged (and refunded on a void) through the funding provider;
        cash, deposits and the demo's money are already in hand."""
        return self.kind is FundingKind.BANK

    @classmethod
    def parse(cls, source: str, *, terminal_id: str) -> FundingAccount:
        """The account a request's ``funding`` value names (see the module doc)."""
        kind_s, sep, holder = source.partition(":")
        try:
            kind = FundingKind(kind_s)
        except ValueError as exc:
            raise UnknownFunding(f"unknown funding kind {kind_s!r}") from exc
        if not sep:
            holder = {
                FundingKind.CASH: terminal_id.upper(),
                FundingKind.BANK: "linked",
                FundingKind.DEMO: DEMO_HOLDER,
            }.get(kind, "")
        if kind is FundingKind.DEMO and holder != DEMO_HOLDER:
            raise UnknownFunding("the demo has one funding account")
        if not _HOLDER.match(holder):
            raise UnknownFunding(f"funding {source!r} names no holder")
        return cls(kind, holder)


DEMO_FUNDING = FundingAccount(FundingKind.DEMO, DEMO_HOLDER)


def mask_account(number: str) -> str:
    """A bank account number as a citizen may see it: its last four digits only
    (``6222021234564521`` → ``**** 4521``); nothing when there is no number."""
    digits = "".join(ch for ch in number if ch.isascii() and ch.isalnum())
    return f"**** {digits[-4:]}" if len(digits) >= 4 else ("****" if digits else "")
