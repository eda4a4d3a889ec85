"""The outbox's one query for the offline limit: what a card may have spent here that
the central has not confirmed (issue: unsettled purchases count too)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from backend_sync.terminal.outbox import IntentId, Outbox
from kiosk.core.clock import ManualClock
from kiosk.flows.base import CardSession, FlowEnv, Network, OfflineLimits

TID = "320500000001"
ASN = "32150000000000000001"
OTHER = "32150000000000000002"


def _begin(ob: Outbox, ttc: int, amount: int, asn: str = ASN) -> IntentId:
    return ob.begin_purchase(
        asn=asn, amount=amount, atc=ttc, ttc=ttc, date="20261128", time="101500",
        key_version=1, algorithm=0, balance_before=10_000, payee="bike",
    )  # fmt: skip


def test_unacked_open_and_unsettled_purchases_count_until_confirmed(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "outbox.db", TID)
    assert ob.card_offline_spend(ASN) == 0
    ob.complete(_begin(ob, 1, 100), tac="0A0B0C0D", mac2="01020304", balance_after=9_900)
    assert ob.card_offline_spend(ASN) == 100  # completed, not yet acknowledged
    ob.acknowledge(1)
    assert ob.card_offline_spend(ASN) == 0  # the central holds it
    ob.leave_unsettled(_begin(ob, 2, 250), "DEBIT answer lost, card gone")
    assert ob.card_offline_spend(ASN) == 250  # debited or not: it counts
    ob.acknowledge(2)
    assert ob.card_offline_spend(ASN) == 250  # acknowledged, still unproven: still counts
    _begin(ob, 3, 40)
    assert ob.card_offline_spend(ASN) == 290  # an intent still open counts too
    ob.abort(IntentId(3), "card proved it did not debit")
    assert ob.card_offline_spend(ASN) == 250
    ob.add_proof(2, asn=ASN, tac="11223344", mac2="55667788")
    assert ob.card_offline_spend(ASN) == 0  # proven: the proof record is what uploads
    ob.complete(_begin(ob, 6, 70, OTHER), tac="0A0B0C0D", mac2="01020304", balance_after=1)
    assert (ob.card_offline_spend(ASN), ob.card_offline_spend(OTHER.lower())) == (0, 70)
    ob.close()


class _Hotlist:
    def age_s(self, _now: float) -> float:
        return 10.0


class _Store:
    def hotlist(self) -> _Hotlist:
        return _Hotlist()


class _Info:
    asn = bytes.fromhex(ASN)


def test_an_unsettled_purchase_stops_the_next_offline_sale_over_the_limit(
    tmp_path: Path,
) -> None:
    ob = Outbox(tmp_path / "outbox.db", TID)
    card = CardSession(purse=None, identity=None, info=_Info(), holder=None)  # type: ignore[arg-type]
    env = FlowEnv(clock=ManualClock(dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC)),
                  network=Network(online=False), limits=OfflineLimits(max_card_offline_fen=1_500),
                  card=card, outbox=ob, store=_Store())  # type: ignore[arg-type]  # fmt: skip
    assert env.offline_refusal(1_000) is None
    ob.leave_unsettled(_begin(ob, 1, 1_000), "torn")  # the card may have paid already
    assert env.offline_refusal(1_000) == "offline_limit"
    assert env.offline_refusal(500) is None
    ob.close()
