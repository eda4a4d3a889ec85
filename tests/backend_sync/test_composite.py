"""Composite (transit, type 09) purchases at the central: posted once, deduplicated by
(ASN, ATC, type) across terminals and by TTC across 06 and 09 on one PSAM, and counted
with the purse purchases in the offline-ATC reconciliation."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from backend_sync.central import ledger, reconcile
from backend_sync.central.models import terminal_records
from backend_sync.central.service import Central
from cardlib import crypto
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import CardModel, Terminal, ThreadServer, cards, sell, terminal


def ride(
    t: Terminal, card: CardModel, amount: int, ttc: int, *, atc: int | None = None,
    tac_type: int = 9, date: str = "20261128", time_: str = "071500",
) -> int:  # fmt: skip
    """One bus ride through the outbox as the validator writes it (type 09)."""
    use_atc = card.offline_atc if atc is None else atc
    iid = t.outbox.begin_purchase(
        asn=card.asn, amount=amount, atc=use_atc, ttc=ttc, date=date, time=time_,
        key_version=1, algorithm=int(card.alg), balance_before=card.balance,
        payee="transit", ttype=9,
    )  # fmt: skip
    tac = crypto.purchase_tac(
        card.tac_key, amount, tac_type, bytes.fromhex(t.terminal_id), ttc, bytes.fromhex(date),
        bytes.fromhex(time_), card.alg,
    ).hex()  # fmt: skip
    if atc is None:
        card.offline_atc += 1
    card.balance -= amount
    return t.outbox.complete(iid, tac=tac, mac2="00000000", balance_after=card.balance)


def _outcomes(central: Central) -> dict[tuple[str, int], tuple[str, str | None, int | None]]:
    t = terminal_records.c
    with central.engine.connect() as conn:
        rows = conn.execute(sa.select(t.terminal_id, t.seq, t.status, t.reason, t.ttype))
        return {(a, s): (st, r, ty) for a, s, st, r, ty in rows}


def test_rides_post_once_and_duplicates_are_refused(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        bus = terminal(central, srv.url, tmp_path, "320500000B01")
        other = terminal(central, srv.url, tmp_path, "320500000B02")
        a, b, c = cards(central, issuer_keys, 3)
        ride(bus, a, 200, ttc=10)  # seq 1: posted (ATC 0)
        sell(bus, b, 500, ttc=11)  # seq 2: a purse purchase on the same PSAM
        ride(bus, a, 200, ttc=12)  # seq 3: posted (ATC 1)
        ride(bus, b, 200, ttc=11)  # seq 4: TTC 11 already a type-06's on this PSAM
        ride(bus, a, 200, ttc=13, tac_type=6, atc=a.offline_atc)  # seq 5: another type's TAC
        ride(bus, c, 200, ttc=14)  # seq 6: card c's ATC 0
        c.offline_atc += 1  # ATC 1 is still offline at some other validator
        sell(bus, c, 100, ttc=15)  # seq 7: card c's ATC 2
        assert bus.agent.run_once().acked_seq == 7
        # The same ride (ASN a, ATC 0, type 09) from another validator: never twice.
        ride(other, a, 200, ttc=10, atc=0)
        sell(other, a, 300, ttc=20)  # a purse purchase at ATC 2 of card a: fine
        assert other.agent.run_once().acked_seq == 2
        # A type-06 record reusing a type-09's TTC, down the fast path: the database
        # index refuses it, the batch is redone with the checks.
        sell(bus, b, 100, ttc=12)
        assert bus.agent.run_once().acked_seq == 8
    got = _outcomes(central)
    tid, oid = bus.terminal_id, other.terminal_id
    assert got[(tid, 1)] == ("posted", None, 9) and got[(tid, 3)] == ("posted", None, 9)
    assert got[(tid, 2)] == ("posted", None, 6)
    assert got[(tid, 4)] == ("rejected", "duplicate_ttc", 9)
    assert got[(tid, 5)] == ("rejected", "bad_tac", 9)
    assert got[(oid, 1)] == ("rejected", "duplicate_card_txn", 9)
    assert got[(oid, 2)] == ("posted", None, 6)
    assert got[(tid, 8)] == ("rejected", "duplicate_ttc", 6)
    with central.engine.connect() as conn:
        assert ledger.balance(conn, "payee:transit") == 600
        assert ledger.balance(conn, ledger.card_account(a.asn)) == -700
        assert ledger.unbalanced_transactions(conn) == []
    rec = reconcile.reconcile(central)
    # One offline counter for 06 and 09: card a (09 at ATC 0 and 1, 06 at 2) has no
    # gap; card c (09 at 0, 06 at 2) misses ATC 1, visible only if 09 counts.
    assert rec.total == 0 and rec.unbalanced == 0
    assert [(g.asn, g.counter, g.missing) for g in rec.counter_gaps] == [(c.asn, "offline", 1)]


def test_an_unsettled_ride_is_settled_by_its_type_09_proof(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        bus = terminal(central, srv.url, tmp_path, "320500000B03")
        (card,) = cards(central, issuer_keys, 1)
        iid = bus.outbox.begin_purchase(
            asn=card.asn, amount=200, atc=0, ttc=7, date="20261128", time="071500",
            key_version=1, algorithm=int(card.alg), balance_before=card.balance,
            payee="transit", ttype=9,
        )  # fmt: skip
        unsettled = bus.outbox.leave_unsettled(iid, "card gone before the answer")
        tac = crypto.purchase_tac(
            card.tac_key, 200, 9, bytes.fromhex(bus.terminal_id), 7, bytes.fromhex("20261128"),
            bytes.fromhex("071500"), card.alg,
        ).hex()  # fmt: skip
        assert bus.outbox.unsettled()[0]["ttype"] == 9
        bus.outbox.add_proof(unsettled, asn=card.asn, tac=tac, mac2="00000000")
        assert bus.agent.run_once().acked_seq == 2
    got = _outcomes(central)
    assert got[(bus.terminal_id, 1)][0] == "settled"
    assert got[(bus.terminal_id, 2)][:2] == ("posted", None)
    with central.engine.connect() as conn:
        assert ledger.balance(conn, "payee:transit") == 200
