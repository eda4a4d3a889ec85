"""Settling torn intents against the card (kiosk start-up, or the card's return).

For each open intent: when its card is in the reader, ask the card (current ATC,
GET TRANSACTION PROVE, its log) and close the intent as completed, aborted or
unsettled; when the card is not there, close it as ``unsettled`` with everything
known, for the central to resolve. Later, :func:`prove_unsettled` adds the card's
proof if the card comes back while the transaction is still its last one.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend_sync.terminal.outbox import Intent, Outbox
from cardlib.crypto import Algorithm, TransactionType
from cardlib.errors import CardError, NoTransactionToProveError
from cardlib.purse import PurchaseIntent, Purse, SettlementKind

__all__ = ["prove_unsettled", "settle_unfinished"]


def _purchase_intent(it: Intent, terminal_id: str) -> PurchaseIntent:
    f = it.fields
    return PurchaseIntent(
        asn=bytes.fromhex(f["asn"]),
        terminal_id=bytes.fromhex(terminal_id),
        amount=int(f["amount"]),
        balance_before=int(f["balance_before"]),
        offline_atc=int(f["atc"]),
        ttc=int(f["ttc"]),
        date=bytes.fromhex(f["date"]),
        time=bytes.fromhex(f["time"]),
        key_version=int(f["key_version"]),
        algorithm=Algorithm(int(f["algorithm"])),
        ttype=int(f.get("ttype") or TransactionType.PURCHASE),
    )


def settle_unfinished(outbox: Outbox, purses: Iterable[Purse]) -> list[tuple[int, str]]:
    """Close every open intent; ``purses`` are the cards present now (maybe none).

    Returns (seq, outcome) pairs: ``completed``, ``aborted`` or ``unsettled``.
    """
    present = {p.asn.hex().upper(): p for p in purses}
    done: list[tuple[int, str]] = []
    for it in outbox.unfinished():
        purse = present.get(it.asn)
        if purse is None:
            outbox.leave_unsettled(it.id, "card not present at settlement")
            done.append((it.id, "unsettled"))
            continue
        try:
            done.append((it.id, _settle_one(outbox, purse, it)))
        except CardError as exc:
            outbox.leave_unsettled(it.id, f"card error at settlement: {exc}")
            done.append((it.id, "unsettled"))
    return done


def _settle_one(outbox: Outbox, purse: Purse, it: Intent) -> str:
    f = it.fields
    if it.kind == "purchase":
        s = purse.settle(_purchase_intent(it, outbox.terminal_id))
        if s.kind is SettlementKind.DEBITED and s.tac is not None and s.mac2 is not None:
            outbox.complete(
                it.id,
                tac=s.tac.hex(),
                mac2=s.mac2.hex(),
                balance_after=int(f["balance_before"]) - int(f["amount"]),
            )
            return "completed"
        if s.kind is SettlementKind.NOT_DEBITED:
            outbox.abort(it.id, "card did not debit (ATC unchanged, not in its log)")
            return "aborted"
        outbox.leave_unsettled(it.id, "debited per the card's log, proof no longer available")
        return "unsettled"
    try:
        mac2, tac = purse.transaction_prove(TransactionType.LOAD, int(f["atc"]))
    except NoTransactionToProveError:
        # Not provable is not "not credited": the void rule at the central
        # decides from the card's next MAC1.
        outbox.leave_unsettled(it.id, "load not provable by the card")
        return "unsettled"
    del mac2
    outbox.complete(it.id, tac=tac.hex(), balance_after=int(f["balance_before"]) + int(f["amount"]))
    return "completed"


def prove_unsettled(outbox: Outbox, purse: Purse) -> list[int]:
    """Add proofs for this card's unsettled records it can still prove."""
    added: list[int] = []
    asn = purse.asn.hex().upper()
    for rec in outbox.unsettled(asn):
        try:
            mac2, tac = purse.transaction_prove(int(rec["ttype"]), int(rec["atc"]))
        except NoTransactionToProveError:
            continue
        added.append(outbox.add_proof(rec["seq"], asn=asn, tac=tac.hex(), mac2=mac2.hex()))
    return added
