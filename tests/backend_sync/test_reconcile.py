"""Reconciliation: balance chaining across a card's two counters, the one report
document and the exit status of ``civicard central reconcile``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central import reconcile
from backend_sync.central.reconcile import ChainedRecord, chain_card
from backend_sync.central.service import Central
from cardlib.keys import IssuerKeys
from kiosk.cli import main
from tests.backend_sync.support import ThreadServer, cards, make_central, sell, terminal, top_up

SAME_SECOND = ("20261128", "101500")


@pytest.mark.parametrize("load_first", [False, True])
def test_purchase_and_load_within_one_second_chain_by_balance(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path, load_first: bool
) -> None:
    d, tm = SAME_SECOND
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        (card,) = cards(central, issuer_keys, 1)
        card.balance = 0
        top_up(t, card, 10_000, date=d, time_="101400")  # the opening balance, as issued
        if load_first:
            top_up(t, card, 5_000, date=d, time_=tm)
            sell(t, card, 300, ttc=1, date=d, time_=tm)
        else:
            sell(t, card, 300, ttc=1, date=d, time_=tm)
            top_up(t, card, 5_000, date=d, time_=tm)
        assert t.agent.run_once().acked_seq == 3
    rec = reconcile.reconcile(central)
    assert card.balance == 14_700
    assert rec.mismatches == [] and rec.chain_breaks == [] and rec.counter_gaps == []
    assert rec.cards_checked == 1 and rec.clean


def test_records_out_of_order_from_two_kiosks(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    """Kiosk B's clock is an hour slow and it uploads first: neither the card's date
    nor arrival order is the card's order; the balances are."""
    with ThreadServer(central) as srv:
        a = terminal(central, srv.url, tmp_path, "320500000001")
        b = terminal(central, srv.url, tmp_path, "320500000002")
        (card,) = cards(central, issuer_keys, 1)
        card.balance = 0
        top_up(a, card, 2_000, time_="090000")
        sell(a, card, 100, ttc=1, time_="100000")
        sell(b, card, 200, ttc=1, time_="090500")  # later, on a slow clock
        top_up(b, card, 1_000, time_="090600")
        sell(a, card, 50, ttc=2, time_="101000")
        b.agent.run_once()
        mid = reconcile.reconcile(central)
        a.agent.run_once()
    # With only kiosk B's records in, the chain shows where A's are missing.
    assert [(x.expected, x.found) for x in mid.chain_breaks] == [(0, 1_900)]
    # Kiosk A's load is already on the card's account (B's MAC1 proved the online ATC
    # moved on); A's purchase of 100 is what the ledger lacks.
    assert [(m.shadow_balance, m.reported_balance) for m in mid.mismatches] == [(2_800, 2_700)]
    rec = reconcile.reconcile(central)
    assert card.balance == 2_650
    assert rec.mismatches == [] and rec.chain_breaks == [] and rec.counter_gaps == []


def test_a_missing_record_breaks_the_chain_where_it_belongs(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        (card,) = cards(central, issuer_keys, 1)
        card.balance = 0
        top_up(t, card, 1_000)
        sell(t, card, 100, ttc=1)
        card.offline_atc += 1  # a purchase made at a kiosk still offline
        card.balance -= 250
        sell(t, card, 100, ttc=2)
        t.agent.run_once()
    rec = reconcile.reconcile(central)
    assert [(b.after, b.at, b.expected, b.found) for b in rec.chain_breaks] == [
        ("320500000001:2", "320500000001:3", 900, 650)
    ]
    assert [(g.counter, g.missing) for g in rec.counter_gaps] == [("offline", 1)]
    assert [(m.shadow_balance, m.reported_balance) for m in rec.mismatches] == [(800, 550)]
    assert not rec.clean


def _r(ttype: int, atc: int, before: int, after: int, time_: str = "100000") -> ChainedRecord:
    return ChainedRecord("320500000001", atc * 10 + ttype, ttype, atc, abs(after - before),
                         before, after, "20261128", time_)  # fmt: skip


def test_chaining_keeps_each_counters_order_and_prefers_the_joining_head() -> None:
    recs = [_r(6, 1, 900, 850, "090000"), _r(2, 0, 0, 1_000), _r(6, 0, 1_000, 900),
            _r(2, 1, 850, 2_850, "080000")]  # fmt: skip
    ordered, breaks = chain_card("A", recs)
    assert [(r.ttype, r.atc) for r in ordered] == [(2, 0), (6, 0), (6, 1), (2, 1)]
    assert breaks == []
    # A misreported balance: the chain goes on from it, reporting the break once.
    ordered, breaks = chain_card("A", [_r(2, 0, 0, 1_000), _r(6, 0, 990, 890)])
    assert [(b.expected, b.found) for b in breaks] == [(1_000, 990)]
    assert ordered[-1].balance_after == 890


def _cli(db: str, tmp_path: Path, keys: IssuerKeys, key: ec.EllipticCurvePrivateKey) -> list[str]:
    kf, sf = tmp_path / "issuer-keys.json", tmp_path / "signing.pem"
    if not kf.exists():
        keys.save(kf)
        sf.write_bytes(chain.private_key_pem(key))
    return ["central", "reconcile", "--db", db, "--issuer-keys", str(kf), "--signing-key", str(sf)]


def test_reconcile_command_prints_one_document_and_exits_by_what_it_found(
    issuer_keys: IssuerKeys,
    central_signing_key: ec.EllipticCurvePrivateKey,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = f"sqlite:///{tmp_path / 'central.db'}"
    central = make_central(db, issuer_keys, central_signing_key)
    cmd = _cli(db, tmp_path, issuer_keys, central_signing_key)
    assert main(cmd) == 0
    doc = json.loads(capsys.readouterr().out)  # exactly one JSON document
    assert doc["clean"] is True and doc["rejections"] == {} and doc["mismatches"] == []
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        (card,) = cards(central, issuer_keys, 1)
        card.balance = 0
        iid = t.outbox.begin_purchase(
            asn=card.asn, amount=100, atc=0, ttc=1, date="20261128", time="101500",
            key_version=1, algorithm=int(card.alg), balance_before=0, payee="water",
        )  # fmt: skip
        t.outbox.leave_unsettled(iid, "card pulled")
        t.agent.run_once()
        assert main(cmd) == 3  # a flag, no money disagreeing
        doc = json.loads(capsys.readouterr().out)
        assert doc["anomalies"] == {"unsettled_intent": 1} and doc["clean"] is False
        card.balance = 5_000  # the card says it holds money the ledger never saw
        sell(t, card, 100, ttc=2)
        t.agent.run_once()
    assert main(cmd) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["mismatches"] == [
        {"asn": card.asn, "shadow_balance": -100, "reported_balance": 4_900}
    ]
    assert doc["chain_breaks"][0]["expected"] == 0
    # Only flags raised since a time count (cron runs over a window).
    assert main([*cmd, "--flags-since", str(central.now_ms() + 60_000)]) == 1
    assert json.loads(capsys.readouterr().out)["anomalies"] == {}
    central.engine.dispose()
