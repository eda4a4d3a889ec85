"""Money moving on the card, recorded in the outbox in DESIGN.md's order.

Purchase: INITIALIZE → PSAM 80 70 → the intent is written (``on_intent``) → DEBIT →
PSAM 80 72 → the record completed in the transaction that closes the intent.
Load: INITIALIZE FOR LOAD → the central checks MAC1 and answers MAC2 → the intent
is written → CREDIT FOR LOAD → the record. A lost answer leaves the intent open:
the card's next insertion settles it (:func:`backend_sync.terminal.settle`).
"""

from __future__ import annotations

from dataclasses import dataclass

from backend_sync.terminal.client import CentralClient
from backend_sync.terminal.outbox import IntentId, Outbox
from cardlib import purse as cp
from cardlib.bcd import card_now
from cardlib.psam import PsamClient
from kiosk.core.clock import Clock

__all__ = ["Done", "Transactions", "transaction_id"]


def transaction_id(terminal_id: str, date_bcd: str, seq: int) -> str:
    """Printed on receipts and in their QR: ``T20261128-0001-000042`` (date, terminal
    id's last four digits, outbox sequence) — unique per terminal."""
    return f"T{date_bcd}-{terminal_id[-4:]}-{seq:06d}"


@dataclass(frozen=True)
class Done:
    seq: int
    balance_after: int
    transaction_id: str
    tac: str
    ttc: int | None = None


class Transactions:
    """Purchases and loads for one terminal (its PSAM and its outbox)."""

    def __init__(self, outbox: Outbox, psam: PsamClient, clock: Clock) -> None:
        self.outbox = outbox
        self.psam = psam
        self.clock = clock

    @property
    def terminal_id(self) -> str:
        return self.psam.terminal_id.hex().upper()

    def purchase(
        self,
        purse: cp.Purse,
        amount: int,
        *,
        payee: str,
        order_id: str | None = None,
        hotlist_version: int | None = None,
        catalog_version: int | None = None,
        service_id: str | None = None,
    ) -> Done:
        """Debit ``amount`` fen; raises DebitOutcomeUnknown when DEBIT's answer is lost.
        ``catalog_version`` and ``service_id`` name the fixed-price item sold."""
        box: dict[str, IntentId] = {}

        def on_intent(it: cp.PurchaseIntent) -> None:
            # Durable before DEBIT: this record is what settles a torn purchase.
            box["id"] = self.outbox.begin_purchase(
                asn=it.asn.hex(), amount=it.amount, atc=it.offline_atc, ttc=it.ttc,
                date=it.date.hex(), time=it.time.hex(), key_version=it.key_version,
                algorithm=int(it.algorithm), balance_before=it.balance_before, payee=payee,
                order_id=order_id, hotlist_version=hotlist_version,
                catalog_version=catalog_version, service_id=service_id,
            )  # fmt: skip

        res = purse.purchase(self.psam, amount, on_intent=on_intent, now=self.clock.now())
        seq = self.outbox.complete(
            box["id"], tac=res.tac.hex(), mac2=res.mac2.hex(), balance_after=res.balance_after
        )
        tid = transaction_id(self.terminal_id, res.intent.date.hex(), seq)
        return Done(seq, res.balance_after, tid, res.tac.hex().upper(), res.intent.ttc)

    def load(
        self, purse: cp.Purse, client: CentralClient, amount: int, *, funding: str = "bank"
    ) -> Done:
        """Credit ``amount`` fen authorized by the central (funded from ``funding``)."""
        box: dict[str, IntentId] = {}
        date, time = card_now(self.clock.now())

        def authorize(req: cp.LoadRequest) -> cp.LoadAuthorization:
            auth = client.authorize_load(
                asn=req.asn.hex(), amount=req.amount, balance_before=req.balance_before,
                atc=req.online_atc, card_random=req.card_random.hex(),
                key_version=req.key_version, algorithm=int(req.algorithm), mac1=req.mac1.hex(),
                date=date.hex(), time=time.hex(), funding=funding,
            )  # fmt: skip
            box["id"] = self.outbox.begin_load(
                asn=req.asn.hex(), amount=req.amount, atc=req.online_atc, date=date.hex(),
                time=time.hex(), key_version=req.key_version, algorithm=int(req.algorithm),
                balance_before=req.balance_before, load_id=auth.load_id,
            )  # fmt: skip
            return cp.LoadAuthorization(date=date, time=time, mac2=bytes.fromhex(auth.mac2))

        res = purse.load(self.psam.terminal_id, amount, authorize=authorize)
        seq = self.outbox.complete(box["id"], tac=res.tac.hex(), balance_after=res.balance_after)
        tid = transaction_id(self.terminal_id, date.hex(), seq)
        return Done(seq, res.balance_after, tid, res.tac.hex().upper())
