"""Wire schema of the funding account a top-up is paid from (kiosk ⇄ central).

The kiosk asks with a signed :class:`backend_sync.services_wire.ServiceCall`
(``service="linked_funding"``, the card's ``asn``, ``params={"funding": ...}``) at
``POST /v1/funding/linked``, before it shows the top-up to confirm; the central
answers :class:`LinkedFunding`, the account number already masked.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LINKED_FUNDING", "LinkedFunding"]

LINKED_FUNDING = "linked_funding"  # the ServiceCall's service name


class LinkedFunding(BaseModel):
    """Who pays a top-up: ``kind`` (bank, cash, deposit, demo), the provider's name (a
    bank's, a drawer's id) and, for a bank, the account number masked (``**** 4521``)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    kind: Annotated[str, Field(pattern=r"^[a-z]{1,16}$")]
    provider: Annotated[str, Field(max_length=64)] = ""
    account_masked: Annotated[str, Field(max_length=32)] = ""
