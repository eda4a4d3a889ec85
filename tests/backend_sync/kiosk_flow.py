"""The kiosk's purchase and load steps wired to the outbox, as kiosk.transactions
will do them: the intent is written inside ``on_intent`` (before DEBIT) and inside
``authorize`` (before CREDIT FOR LOAD)."""

from __future__ import annotations

from collections.abc import Callable

from backend_sync.terminal.client import CentralClient
from backend_sync.terminal.outbox import IntentId, Outbox
from cardlib import purse as cp
from cardlib.bcd import card_now
from cardlib.psam import PsamClient

# Fixed-price items of the catalog the killed kiosk sells from (published as
# version ``CATALOG_VERSION`` by the test): the central derives the payee from them.
PRICES = {"water_120": 120, "water_250": 250, "water_499": 499}
CATALOG_VERSION = 1


def price_catalog() -> dict[str, object]:
    """The catalog body publishing :data:`PRICES`."""
    return {"groups": [], "services": [
        {"id": sid, "flow": "fixed_price", "payment": {"payee": "water", "amount_fen": fen}}
        for sid, fen in PRICES.items()
    ]}  # fmt: skip


def purchase(
    purse: cp.Purse,
    psam: PsamClient,
    outbox: Outbox,
    amount: int,
    *,
    payee: str = "water",
    order_id: str | None = None,
    hook: Callable[[str], None] = lambda _p: None,
    catalog_version: int | None = None,
    service_id: str | None = None,
) -> int:
    """One purchase; returns the record's seq. Raises DebitOutcomeUnknown when torn."""
    box: dict[str, IntentId] = {}

    def on_intent(it: cp.PurchaseIntent) -> None:
        hook("before_intent")
        box["id"] = outbox.begin_purchase(
            asn=it.asn.hex(), amount=it.amount, atc=it.offline_atc, ttc=it.ttc,
            date=it.date.hex(), time=it.time.hex(), key_version=it.key_version,
            algorithm=int(it.algorithm), balance_before=it.balance_before, payee=payee,
            order_id=order_id, catalog_version=catalog_version, service_id=service_id,
        )  # fmt: skip
        hook("after_intent")

    res = purse.purchase(psam, amount, on_intent=on_intent)
    hook("after_debit")
    seq = outbox.complete(
        box["id"], tac=res.tac.hex(), mac2=res.mac2.hex(), balance_after=res.balance_after
    )
    hook("after_complete")
    return seq


def load(
    purse: cp.Purse, terminal_id: bytes, outbox: Outbox, client: CentralClient, amount: int
) -> int:
    """One online load: the central's MAC2, the intent, CREDIT, the record."""
    box: dict[str, IntentId] = {}

    def authorize(req: cp.LoadRequest) -> cp.LoadAuthorization:
        date, time = card_now()
        auth = client.authorize_load(
            asn=req.asn.hex(), amount=req.amount, balance_before=req.balance_before,
            atc=req.online_atc, card_random=req.card_random.hex(), key_version=req.key_version,
            algorithm=int(req.algorithm), mac1=req.mac1.hex(), date=date.hex(), time=time.hex(),
        )  # fmt: skip
        box["id"] = outbox.begin_load(
            asn=req.asn.hex(), amount=req.amount, atc=req.online_atc, date=date.hex(),
            time=time.hex(), key_version=req.key_version, algorithm=int(req.algorithm),
            balance_before=req.balance_before, load_id=auth.load_id,
        )  # fmt: skip
        return cp.LoadAuthorization(date=date, time=time, mac2=bytes.fromhex(auth.mac2))

    res = purse.load(terminal_id, amount, authorize=authorize)
    return outbox.complete(box["id"], tac=res.tac.hex(), balance_after=res.balance_after)
