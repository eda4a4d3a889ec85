"""Each card's latest reported state, kept as records post (card_state): only
forward when records arrive out of order, both counters, rejected records left
out, and the migration's fill from the records already held; checked against the
full reconciliation's balance chaining."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from backend_sync.central import card_state, reconcile, shadow
from backend_sync.central.card_state import CardState
from backend_sync.central.db import _config, make_engine, upgrade
from backend_sync.central.service import Central
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import ThreadServer, cards, sell, terminal, top_up


def _states(central: Central, asn: str) -> dict[int, tuple[int, int, str]]:
    with central.engine.connect() as conn:
        return {s.counter: (s.atc, s.balance_after, s.ref) for s in card_state.states(conn, asn)}


def test_latest_state_moves_only_forward_when_records_arrive_out_of_order(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        a = terminal(central, srv.url, tmp_path, "320500005001", batch_size=3)
        b = terminal(central, srv.url, tmp_path, "320500005002", batch_size=3)
        card, other = cards(central, issuer_keys, 2)
        top_up(a, card, 2_000)  # online ATC 0, at terminal a
        for i in range(4):  # offline ATC 0..3 at terminal a (its upload delayed)
            sell(a, card, 100 + i, ttc=i + 1, time_=f"1100{i:02d}")
        for i in range(3):  # offline ATC 4..6 at terminal b, later on the card's clock
            sell(b, card, 200 + i, ttc=i + 1, time_=f"1200{i:02d}")
        sell(b, other, 50, ttc=4)
        # Terminal b reaches the central first: the card's latest is its ATC 6.
        assert b.agent.upload_pending().acked_seq == 4
        assert _states(central, card.asn) == {0: (6, card.balance, "320500005002:3")}
        check = shadow.card_check(central, card.asn)
        assert check is not None and check.reported_balance == card.balance
        assert check.balance == -(200 + 201 + 202)  # the ledger has only b's sales yet
        assert not check.agrees
        # Terminal a's records arrive late (ATC 0..3 and the load): the offline state
        # stays at ATC 6; the online counter gets its first state.
        assert a.agent.upload_pending().acked_seq == 5
        states = _states(central, card.asn)
        assert states[0] == (6, card.balance, "320500005002:3")
        assert states[1] == (0, 50_000 + 2_000, "320500005001:1")
        check = shadow.card_check(central, card.asn)
        assert check is not None and check.reported is not None
        # Neither latest record follows the other (the sales between them): the
        # card's clock decides, b's ATC 6.
        assert (check.reported.counter, check.reported.atc) == (card_state.OFFLINE, 6)
        # The model card held 50,000 fen before the ledger knew it (a demo opening).
        assert check.balance == card.balance - 50_000 and check.reported_balance == card.balance
        # The full reconciliation chains every record to the same balance.
        rec = {m.asn: m.reported_balance for m in reconcile.reconcile(central).mismatches}
        assert rec[card.asn] == check.reported_balance
        assert rec[other.asn] == shadow.card_check(central, other.asn).reported_balance  # type: ignore[union-attr]
        # A load after the purchases: now the online counter's record is the latest.
        top_up(b, card, 1_000, time_="130000")
        assert b.agent.upload_pending().acked_seq == 5
        check = shadow.card_check(central, card.asn)
        assert check is not None and check.reported is not None
        assert (check.reported.counter, check.reported.atc) == (card_state.ONLINE, 1)
        assert check.reported_balance == card.balance
        for t in (a, b):
            t.client.close()
            t.outbox.close()
    # A card with no record yet: nothing reported, nothing to disagree with.
    fresh = next(cards(central, issuer_keys, 1, start=9))
    check = shadow.card_check(central, fresh.asn)
    assert check is not None and check.reported is None and check.agrees


def test_a_rejected_record_does_not_move_the_state(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500005003")
        (card,) = cards(central, issuer_keys, 1)
        sell(t, card, 100, ttc=1)
        # A forged record: a wrong TAC, a higher ATC and another balance.
        version, sid = t.prices.item("water", 300)
        iid = t.outbox.begin_purchase(
            asn=card.asn, amount=300, atc=card.offline_atc + 5, ttc=2, date="20261128",
            time="101600", key_version=1, algorithm=int(card.alg), balance_before=card.balance,
            payee="water", catalog_version=version, service_id=sid,
        )  # fmt: skip
        t.outbox.complete(iid, tac="00000000", mac2="00000000", balance_after=card.balance - 300)
        report = t.agent.upload_pending()
        assert report.acked_seq == 2
        t.client.close()
        t.outbox.close()
    assert _states(central, card.asn) == {0: (0, card.balance, "320500005003:1")}


def test_latest_of_two_counters() -> None:
    def st(counter: int, before: int, after: int, time_: str, ms: int = 0) -> CardState:
        return CardState("3215", counter, 1, before, after, "20261128", time_, "T", 1, ms)

    buy, load = st(0, 500, 400, "120000"), st(1, 400, 1400, "110000")
    # The load follows the purchase by balance chaining, whatever the clocks say.
    assert card_state.latest([buy, load]) is load
    assert card_state.latest([load, buy]) is load
    # Neither follows the other (a record missing between them): the card's clock.
    buy, load = st(0, 500, 400, "120000"), st(1, 900, 1900, "110000")
    assert card_state.latest([buy, load]) is buy
    # Same time too: the later arrival.
    buy, load = st(0, 500, 400, "120000", 5), st(1, 900, 1900, "120000", 9)
    assert card_state.latest([buy, load]) is load
    assert card_state.latest([buy]) is buy and card_state.latest([]) is None


def test_migration_fills_the_states_from_the_records_held(
    central: Central, db_url: str, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500005004", batch_size=4)
        cs = list(cards(central, issuer_keys, 3))
        top_up(t, cs[0], 500)
        for i in range(9):
            sell(t, cs[i % 3], 10 + i, ttc=i + 1)
        assert t.agent.upload_pending().acked_seq == 10
        t.client.close()
        t.outbox.close()
    kept = {c.asn: _states(central, c.asn) for c in cs}
    assert kept[cs[0].asn][1] == (0, 50_500, "320500005004:1")
    assert all(kept[c.asn][0][1] == c.balance for c in cs)
    central.engine.dispose()
    engine = make_engine(db_url)
    with engine.begin() as conn:  # the table dropped...
        command.downgrade(_config(conn), "0014")
    with engine.connect() as conn:
        assert "card_states" not in sa.inspect(conn).get_table_names()
    upgrade(engine)  # ...and filled again from terminal_records
    engine.dispose()
    assert {c.asn: _states(central, c.asn) for c in cs} == kept
