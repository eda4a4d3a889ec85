"""Finding a citizen's cards at the counter: the holder index of issued cards.

The counter looks a citizen up by the holder's name or masked ID number
(``POST /v1/counter/cards/find``). Both are columns of ``issued_cards`` (migration
0015), written with the issue (a replacement and a renewal are issues too), each
indexed with ``created_ms``: a lookup is an exact match through an index, newest first,
never a scan of the holder data and never a wildcard. Names are keyed by
:func:`name_key` so the same name typed on the pinyin keyboard, read off an identity
document or written in another Unicode form finds the same rows. The ID number is only
ever the masked form written at issue (``320582********2717``).
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa

from backend_sync.central.counter_models import issued_cards
from backend_sync.central.models import cards
from backend_sync.central.service import Central
from backend_sync.counter_wire import CardFind, CardMatch, CardMatches

__all__ = ["MAX_MATCHES", "find_cards", "find_query", "holder_columns", "name_key"]

MAX_MATCHES = 20
_MASKED = re.compile(r"^[0-9A-Z]{6}\*+[0-9A-Z]{4}$")


def name_key(name: str) -> str:
    """The name as the index keys it: NFC, trimmed, runs of white space one space, in
    capitals (a foreigner's Latin name typed in either case), at most 60 characters."""
    return " ".join(unicodedata.normalize("NFC", name).split()).upper()[:60]


def holder_columns(name: str, id_masked: str) -> dict[str, str]:
    """The index columns of an issued card's row."""
    return {"holder_name": name_key(name), "holder_id_masked": id_masked.upper()}


def find_query(query: str) -> sa.Select[tuple[str, str, str, str, str]]:
    """The statement :func:`find_cards` runs: an exact match on the masked ID number
    when ``query`` has its form (six, stars, four), else on the name key."""
    q = query.strip().upper()
    ic = issued_cards.c
    match = ic.holder_id_masked == q if _MASKED.match(q) else ic.holder_name == name_key(query)
    return (
        sa.select(ic.asn, ic.holder, ic.holder_name, ic.holder_id_masked, cards.c.status)
        .join(cards, cards.c.asn == ic.asn)
        .where(match)
        .order_by(ic.created_ms.desc())
        .limit(MAX_MATCHES)
    )


def find_cards(central: Central, b: CardFind) -> CardMatches:
    """The cards the central issued to a holder, by name or masked ID number (exact),
    newest first, at most :data:`MAX_MATCHES`; the name shown as it was written at
    issue (kept with the application, ``issued_cards.holder``)."""
    import json

    with central.engine.connect() as conn:
        rows = conn.execute(find_query(b.query)).all()
    out = []
    for r in rows:
        holder = json.loads(r.holder)
        out.append(CardMatch(asn=r.asn, name=str(holder.get("name", r.holder_name)),
                             id_masked=r.holder_id_masked, status=r.status))  # fmt: skip
    return CardMatches(cards=out)
