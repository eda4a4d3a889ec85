"""Opening balances: the money a newly issued card starts with, through the central.

Personalization (the card ACTIVE) and the opening load are separate steps. The
issuer records each card's opening balance as *pending* (``opening-loads.json``
in the wallet); the issuing counter then credits it exactly as a kiosk top-up is
credited: INITIALIZE FOR LOAD's MAC1 to the central, which authorizes the amount
into suspense from a named funding account (the demo's own,
``funding:demo:civicard-demo``; a counter's cash drawer, ``cash:<drawer>``), the
intent in the counter's outbox, CREDIT FOR LOAD with the central's MAC2, the
card's load TAC in the record, and the record uploaded: suspense -> card.

**Active with no balance while money was taken** (the counter lost power, or the
card left, between the authorization and CREDIT's answer): the money sits in
suspense, never lost. :func:`load_opening_balances` run again settles the open
intent against the card first (GET TRANSACTION PROVE: the credit happened ->
the record is completed and posted), then asks the card's own log whether the
opening load happened; if not, it loads again, and the new MAC1 (same online ATC)
voids the earlier authorization back to its funding account. A card that never
returns has its authorization voided after the window (``load_void_after_s``),
flagged ``load_voided_unconfirmed``, the money back on the funding account.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend_sync.terminal.client import CentralClient, CentralRefused
from backend_sync.terminal.outbox import IntentId, Outbox
from backend_sync.terminal.settle import settle_unfinished
from cardlib import purse as cp
from cardlib.apdu import ApduSession
from cardlib.bcd import card_now
from cardlib.crypto import TransactionType
from cardlib.errors import ApduError
from cardlib.identity import Identity

__all__ = ["OpeningLoad", "load_opening_balances", "pending_opening_loads", "record_opening_load"]

PENDING_FILE = "opening-loads.json"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpeningLoad:
    """One issued card's opening balance, and where its money comes from."""

    asn: str
    amount: int  # fen
    funding: str  # a funding source as the load request names it (funding.py)
    loaded: bool = False


def _read(root: Path) -> list[OpeningLoad]:
    path = root / PENDING_FILE
    if not path.exists():
        return []
    return [OpeningLoad(**e) for e in json.loads(path.read_text(encoding="utf-8"))]


def _write(root: Path, loads: list[OpeningLoad]) -> None:
    # Atomically: a torn write must not forget that a card's money is still due.
    tmp = root / (PENDING_FILE + ".tmp")
    tmp.write_text(json.dumps([e.__dict__ for e in loads], indent=1), encoding="utf-8")
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(root / PENDING_FILE)


def record_opening_load(root: Path, asn: str, amount: int, funding: str) -> None:
    """Note a personalized card's opening balance as due (the issuer's step)."""
    if amount <= 0:
        raise ValueError("an opening balance is a positive amount of fen")
    loads = [e for e in _read(root) if e.asn != asn.upper()]
    _write(root, [*loads, OpeningLoad(asn.upper(), amount, funding)])


def pending_opening_loads(root: Path) -> list[OpeningLoad]:
    """Opening balances not yet on their cards."""
    return [e for e in _read(root) if not e.loaded]


def _opened(purse: cp.Purse, counter: bytes) -> bool:
    # The card's own word: a load by the issuing counter is in its log.
    return any(r.ttype == TransactionType.LOAD and r.terminal_id == counter for r in purse.log())


def _credit(purse: cp.Purse, outbox: Outbox, client: CentralClient, e: OpeningLoad) -> None:
    box: dict[str, IntentId] = {}
    date, time = card_now()
    counter = bytes.fromhex(outbox.terminal_id)

    def authorize(req: cp.LoadRequest) -> cp.LoadAuthorization:
        auth = client.authorize_load(
            asn=req.asn.hex(), amount=req.amount, balance_before=req.balance_before,
            atc=req.online_atc, card_random=req.card_random.hex(), key_version=req.key_version,
            algorithm=int(req.algorithm), mac1=req.mac1.hex(), date=date.hex(), time=time.hex(),
            funding=e.funding,
        )  # fmt: skip
        box["id"] = outbox.begin_load(
            asn=req.asn.hex(), amount=req.amount, atc=req.online_atc, date=date.hex(),
            time=time.hex(), key_version=req.key_version, algorithm=int(req.algorithm),
            balance_before=req.balance_before, load_id=auth.load_id,
        )  # fmt: skip
        return cp.LoadAuthorization(date=date, time=time, mac2=bytes.fromhex(auth.mac2))

    res = purse.load(counter, e.amount, authorize=authorize)
    bal = res.request.balance_before + e.amount
    outbox.complete(box["id"], tac=res.tac.hex(), balance_after=bal)


def load_opening_balances(
    root: Path,
    open_session: Any,
    outbox: Outbox,
    client: CentralClient,
    pin_of: Callable[[str], str | None] = lambda _asn: None,
) -> int:
    """Credit every pending opening balance of the wallet at ``root`` through the
    central's load path, as the issuing counter (``outbox``'s terminal, ``client``
    signing as it); ``open_session(asn)`` gives an :class:`ApduSession` to the card,
    ``pin_of(asn)`` the holder's PIN, which a card wants verified before a load
    (the citizen types it on the counter's PIN pad; the demo's are TEST ONLY).
    Safe to run again after a failure (see the module doc). Returns how many were
    loaded now; the caller uploads the counter's outbox."""
    loads = _read(root)
    counter = bytes.fromhex(outbox.terminal_id)
    n = 0
    for i, e in enumerate(loads):
        if e.loaded:
            continue
        session: ApduSession = open_session(e.asn)
        purse = cp.Purse(session)
        settle_unfinished(outbox, [purse])  # a torn opening load: the card says what happened
        if not _opened(purse, counter):
            pin = pin_of(e.asn)
            if pin:
                Identity.of(purse).verify_pin(pin)
            try:
                _credit(purse, outbox, client, e)
            except (CentralRefused, ApduError) as exc:
                if outbox.unfinished():
                    raise  # after the intent: the next run settles it with the card
                # Refused before any money moved (say, above the purse maximum, by
                # the card or the central): the card stays ACTIVE and empty, the
                # balance stays due, the other cards go on.
                log.warning("opening load of %s refused: %s", e.asn, exc)
                continue
            n += 1
        loads[i] = OpeningLoad(e.asn, e.amount, e.funding, loaded=True)
        _write(root, loads)
    return n
