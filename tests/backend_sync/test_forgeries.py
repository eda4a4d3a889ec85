"""Every forgery the issue lists is rejected, and counted by reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend_sync import chain
from backend_sync.central import ledger, registry
from backend_sync.central.models import terminal_records
from backend_sync.central.service import Central
from backend_sync.terminal.client import CentralRefused
from backend_sync.terminal.tables import outbox_records
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import CardModel, Terminal, ThreadServer, cards, sell, terminal


def _status(central: Central, tid: str, seq: int) -> tuple[str, str | None]:
    t = terminal_records.c
    with central.engine.connect() as conn:
        row = conn.execute(
            sa.select(t.status, t.reason).where(t.terminal_id == tid, t.seq == seq)
        ).one()
    return row.status, row.reason


def _forge(t: Terminal, card: CardModel, *, amount: int, ttc: int, tac: str) -> int:
    iid = t.outbox.begin_purchase(
        asn=card.asn, amount=amount, atc=card.offline_atc, ttc=ttc, date="20261128",
        time="101500", key_version=1, algorithm=int(card.alg), balance_before=card.balance,
        payee="water",
    )  # fmt: skip
    card.offline_atc += 1
    return t.outbox.complete(iid, tac=tac, mac2="00000000", balance_after=card.balance - amount)


def _balance(central: Central, code: str) -> int:
    with central.engine.connect() as conn:
        return ledger.balance(conn, code)


def test_forged_records_are_rejected_and_counted(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        a = terminal(central, srv.url, tmp_path, "320500000001")
        b = terminal(central, srv.url, tmp_path, "320500000002")
        c1, c2 = cards(central, issuer_keys, 2)
        good = sell(a, c1, 500, ttc=1)
        # Altered amount: the TAC was made for 500, the record says 5.
        altered = _forge(
            a, c1, amount=5, ttc=2, tac=c1.purchase_tac(500, a.terminal_id, 2, "20261128", "101500")
        )
        wrong_tac = _forge(a, c1, amount=300, ttc=3, tac="DEADBEEF")
        dup_ttc = _forge(
            a,
            c2,
            amount=200,
            ttc=1,
            tac=c2.purchase_tac(200, a.terminal_id, 1, "20261128", "101500"),
        )
        assert a.agent.run_once().acked_seq == dup_ttc
        # Terminal B replays A's genuine record as its own, first as is (A's
        # terminal id inside), then with its own id (the TAC no longer matches).
        replay_as_is = _forge(
            b,
            c1,
            amount=500,
            ttc=1,
            tac=c1.purchase_tac(500, a.terminal_id, 1, "20261128", "101500"),
        )
        # A card transaction counter already used (same ASN, ATC, type) with a genuine TAC.
        c1.offline_atc = 0
        same_atc = _forge(
            b,
            c1,
            amount=500,
            ttc=9,
            tac=c1.purchase_tac(500, b.terminal_id, 9, "20261128", "101500"),
        )
        b.agent.run_once()
    assert _status(central, a.terminal_id, good) == ("posted", None)
    assert _status(central, a.terminal_id, altered) == ("rejected", "bad_tac")
    assert _status(central, a.terminal_id, wrong_tac) == ("rejected", "bad_tac")
    assert _status(central, a.terminal_id, dup_ttc) == ("rejected", "duplicate_ttc")
    assert _status(central, b.terminal_id, replay_as_is) == ("rejected", "bad_tac")
    assert _status(central, b.terminal_id, same_atc) == ("rejected", "duplicate_card_txn")
    assert _balance(central, "payee:water") == 500
    counts = central.rejection_counts()
    assert counts["bad_tac"] == 3 and counts["duplicate_ttc"] == 1
    assert counts["duplicate_card_txn"] == 1


def test_foreign_terminal_record_and_bad_signature(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        a = terminal(central, srv.url, tmp_path, "320500000001")
        b = terminal(central, srv.url, tmp_path, "320500000002")
        (c1,) = cards(central, issuer_keys, 1)
        sell(a, c1, 700, ttc=5)
        _, recs = a.outbox.pending()
        # B uploads A's record verbatim (A's terminal id inside), renumbered for B's chain.
        rec = json.loads(recs[0].body)
        prev = chain.genesis_hash(bytes.fromhex(b.terminal_id)).hex().upper()
        head = chain.link(bytes.fromhex(prev), rec).hex().upper()
        ack = b.client.upload(
            b.client.build_batch(prev, [1], [chain.canonical(rec).decode()], head)
        )
        assert ack.acked == 1 and ack.results[0].reason == "foreign_terminal"
        # A batch signed with a key the central never enrolled.
        impostor = terminal(central, srv.url, tmp_path, "320500000003")
        impostor.client.key = chain.generate_key()
        sell(impostor, c1, 100, ttc=6)
        with pytest.raises(CentralRefused) as exc:
            impostor.agent.upload_pending()
        assert exc.value.reason == "bad_signature"
        assert a.agent.run_once().acked_seq == 1
    counts = central.rejection_counts()
    assert counts["foreign_terminal"] == 1 and counts["bad_signature"] == 1
    assert _balance(central, "payee:water") == 700


def test_deleted_record_is_a_gap_and_changed_record_a_conflict(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        a = terminal(central, srv.url, tmp_path, "320500000001", batch_size=3)
        (c1,) = cards(central, issuer_keys, 1)
        for i in range(3):
            sell(a, c1, 100, ttc=10 + i)
        prev0, first3 = a.outbox.pending()
        assert a.agent.run_once().acked_seq == 3
        for i in range(3):
            sell(a, c1, 100, ttc=20 + i)
        hash5 = {r.seq: r.hash for r in a.outbox.pending()[1]}[5]
        with a.outbox.engine.begin() as conn:  # someone deletes record 5
            conn.execute(outbox_records.delete().where(outbox_records.c.seq == 5))
        with pytest.raises(CentralRefused) as exc:
            a.agent.upload_pending()
        assert exc.value.reason == "chain_gap"
        # Record 6 alone, chained on 5's hash: the central answers where the gap is.
        tail = [r for r in a.outbox.pending()[1] if r.seq == 6]
        ack = a.client.upload(a.client.build_batch(hash5, [6], [tail[0].body], tail[0].hash))
        assert (ack.status, ack.acked) == ("gap", 3)
        # Same numbers, other content, properly chained and signed: a conflict.
        altered = [json.loads(r.body) for r in first3]
        altered[1]["amount"] = 1
        hashes = chain.chain_hashes(bytes.fromhex(prev0), altered)
        body = a.client.build_batch(
            prev0,
            [1, 2, 3],
            [chain.canonical(x).decode() for x in altered],
            hashes[-1].hex().upper(),
        )
        ack = a.client.upload(body)
        assert (ack.status, ack.acked) == ("conflict", 3)
        assert [r.seq for r in ack.results] == [2, 3]
    counts = central.rejection_counts()
    assert counts["chain_gap"] == 2 and counts["conflicting_record"] == 2
    assert _balance(central, "payee:water") == 300


def test_hotlisted_card_and_second_payment_go_to_suspense(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        a = terminal(central, srv.url, tmp_path, "320500000001")
        c1, c2 = cards(central, issuer_keys, 2)
        order = a.client.hold_order(asn=c1.asn, payee="water", reference="BILL-1", amount=1234)
        with pytest.raises(CentralRefused) as exc:
            a.client.hold_order(asn=c1.asn, payee="water", reference="BILL-1", amount=1234)
        assert exc.value.reason == "order_held"
        paid = sell(a, c1, 1234, ttc=1, order_id=order.order_id)
        twice = sell(a, c1, 1234, ttc=2, order_id=order.order_id)
        registry.set_card_status(central, asn=c2.asn, status="blocked")
        stolen = sell(a, c2, 999, ttc=3)
        a.agent.run_once()
        with pytest.raises(CentralRefused) as exc:
            a.client.hold_order(asn=c1.asn, payee="water", reference="BILL-1", amount=1234)
        assert exc.value.reason == "order_paid"
    assert _status(central, a.terminal_id, paid) == ("posted", None)
    assert _status(central, a.terminal_id, twice) == ("suspended", "order_already_paid")
    assert _status(central, a.terminal_id, stolen) == ("suspended", "hotlisted_card")
    assert _balance(central, "payee:water") == 1234
    assert _balance(central, ledger.SUSPENSE) == 1234 + 999
    assert _balance(central, ledger.card_account(c1.asn)) == -2468
    counts = central.rejection_counts()
    assert counts["order_already_paid"] == 1 and counts["hotlisted_card"] == 1
