"""Where a purchase's money goes: derived by the central, never the kiosk's word.

The purchase TAC binds amount, terminal, TTC, date and time, not the payee, so a
terminal with its own key could name any payee. The central derives it instead:

- a bill payment cites its **payment order**, held at the central for this card,
  bill and amount: the order's payee;
- a fixed-price sale names the **catalog item** it sold (``catalog_version`` and
  ``service_id`` in the record): the payee and price of that item in that version.
  Versions are immutable and all are kept, since an offline kiosk sells from the
  version it last downloaded;
- a composite (type 09, transit) purchase pays the transit operator
  (``Central.transit_payee``): its type is covered by the TAC.

A genuine debit whose payee cannot be derived or disagrees is never refused (the
card's money really moved): it posts to the **disputed** account and is flagged for
the ledger auditor (see posting.py and docs/sync.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import NamedTuple

import sqlalchemy as sa

from backend_sync.central.models import documents
from backend_sync.central.service import Central

__all__ = ["CatalogItem", "catalog_items"]


class CatalogItem(NamedTuple):
    payee: str
    price: int  # fen, the fixed price


def _fixed_prices(payload: str) -> dict[str, CatalogItem]:
    try:
        body = json.loads(payload)
        services = body.get("services", []) if isinstance(body, dict) else []
    except ValueError:
        return {}
    out: dict[str, CatalogItem] = {}
    for s in services if isinstance(services, list) else []:
        pay = s.get("payment") if isinstance(s, dict) else None
        if not isinstance(pay, dict):
            continue
        payee, price = pay.get("payee"), pay.get("amount_fen")
        # Only fixed prices derive a payee: a bill's amount and payee come from its order.
        if isinstance(s.get("id"), str) and isinstance(payee, str) and type(price) is int:
            out[s["id"]] = CatalogItem(payee, price)
    return out


def catalog_items(
    central: Central, conn: sa.Connection, versions: Iterable[int | None]
) -> dict[tuple[int, str], CatalogItem]:
    """The fixed-price items of the catalog versions a batch cites, by (version,
    service id). Published versions never change, so they are cached per central."""
    want = {v for v in versions if v is not None}
    cache = central.catalog_cache
    missing = want - cache.keys()
    if missing:
        rows = conn.execute(
            sa.select(documents.c.version, documents.c.payload).where(
                documents.c.name == "catalog", documents.c.version.in_(missing)
            )
        ).all()
        for version, payload in rows:
            cache[int(version)] = _fixed_prices(payload)
    return {(v, sid): item for v in want for sid, item in cache.get(v, {}).items()}
