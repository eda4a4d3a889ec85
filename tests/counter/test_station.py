"""The counter station end to end: its core (kiosk.counter) on the card simulators,
the central on uvicorn; the ledger reconciles with zero mismatches after each
operation."""

from __future__ import annotations

import pytest

from backend_sync.central import loads, registry
from backend_sync.central.counter import drawer_account
from backend_sync.central.counter_models import counter_audit
from backend_sync.terminal.client import CentralRefused
from cardlib import crypto
from cardlib.crypto import TransactionType
from cardlib.layout import Ins
from kiosk.counter import CounterError, CounterStation
from kiosk.receipts.signing import verify_reference
from tests.backend_sync.support import CardModel, terminal
from tests.counter.conftest import DRAWER, Counter


def _audit(k: Counter) -> list[tuple[str, str, str]]:
    import sqlalchemy as sa

    with k.central.engine.connect() as conn:
        rows = conn.execute(
            sa.select(counter_audit.c.operator_number, counter_audit.c.action,
                      counter_audit.c.outcome).order_by(counter_audit.c.id)
        ).all()  # fmt: skip
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def test_login_needs_an_operator_card_and_its_pin(counter: Counter) -> None:
    k = counter
    with pytest.raises(CounterError) as no_card:
        k.station.login("800001")
    assert no_card.value.reason == "no_operator_card"
    citizen = k.card("citizen")
    k.clerk_reader.insert(k.wallet.open_card(citizen.asn))
    with pytest.raises(CounterError) as not_op:
        k.station.login(citizen.pin)
    assert not_op.value.reason == "not_an_operator"
    k.insert_clerk("technician")
    with pytest.raises(CounterError) as tech:
        k.station.login(k.card("technician").pin)
    assert tech.value.reason == "operator_role"
    k.insert_clerk()
    with pytest.raises(CounterError) as wrong:
        k.station.login("000000")
    assert (wrong.value.reason, wrong.value.tries_left) == ("wrong_pin", 2)
    session = k.station.login(k.card("clerk").pin)
    assert session.operator.role.value == "clerk"
    assert session.lookup(citizen.asn).status == "active"
    assert _audit(k) == [(session.operator.number, "lookup", "ok")]  # refusals before: none


def test_shift_cash_top_up_and_the_drawer_report(counter: Counter) -> None:
    k = counter
    session = k.login()
    opened = session.open_shift(50_000)
    assert (opened.status, opened.expected_fen) == ("open", 50_000)
    citizen = k.insert_citizen()
    receipt = session.top_up(2_000, citizen.pin)
    assert k.chip_balance(citizen.asn) == 2_000
    k.assert_reconciled()
    assert k.ledger(f"card:{citizen.asn}") == 2_000
    assert k.ledger(drawer_account(DRAWER)) == -2_000  # the cash came in at this drawer
    ref = verify_reference(receipt.qr, k.terminal_certificate())
    assert (ref.kind, ref.amount_fen, ref.balance_after_fen) == ("counter_topup", 2_000, 2_000)
    assert receipt.operator_number == session.operator.number
    report = session.close_shift(51_900)
    assert (report.cash_in_fen, report.expected_fen, report.mismatch_fen) == (2_000, 52_000, -100)
    actions = [(a, o) for _n, a, o in _audit(k)]
    # Begun; read back (nothing loaded yet); the load; done.
    assert actions == [("shift_open", "ok"), ("topup_begin", "ok"), ("topup_begin", "ok"),
                       ("topup_load", "ok"), ("op_done", "ok"), ("shift_close", "ok")]  # fmt: skip
    assert {n for n, _a, _o in _audit(k)} == {session.operator.number}


def test_a_counter_that_crashed_after_taking_cash_resumes_or_reverses_once(
    counter: Counter,
) -> None:
    k = counter
    session = k.login()
    session.open_shift(0)
    citizen = k.insert_citizen()
    loaded = session.begin_top_up(1_500)  # cash taken, then the counter dies
    handed_back = session.begin_top_up(700)  # cash taken, then the counter dies
    restarted: CounterStation = k.new_station()
    again = restarted.login(k.card("clerk").pin)
    assert {e.op_id for e in restarted.unfinished_ops()} == {loaded.op_id, handed_back.op_id}
    assert again.resume(loaded, citizen.pin) is not None
    assert again.resume(handed_back) is None  # no PIN: reversed, the cash handed back
    assert restarted.unfinished_ops() == []
    assert again.resume(loaded, citizen.pin) is None  # finished: nothing repeated
    assert k.chip_balance(citizen.asn) == 1_500
    k.assert_reconciled()
    assert k.ledger(drawer_account(DRAWER)) == -1_500
    assert again.close_shift(1_500).mismatch_fen == 0


@pytest.mark.parametrize("credited", [True, False], ids=["credit-done", "credit-lost"])
def test_a_tear_during_the_top_up_load_is_recovered_once(counter: Counter, credited: bool) -> None:
    k = counter
    session = k.login()
    session.open_shift(0)
    citizen = k.insert_citizen()
    entry = session.begin_top_up(3_000)
    k.citizen_reader.arm_pull(Ins.CREDIT_FOR_LOAD, after=credited)
    with pytest.raises(CounterError) as torn:
        session.complete_top_up(entry, citizen.pin)
    assert torn.value.reason == "citizen_card_gone"
    assert k.chip_balance(citizen.asn) == (3_000 if credited else 0)
    with pytest.raises(CounterError) as locked_out:
        session.reverse(entry)  # the money is in suspense: never handed back now
    assert locked_out.value.reason == "load_in_suspense"
    k.insert_citizen()
    assert session.resume(entry, citizen.pin) is not None
    assert k.chip_balance(citizen.asn) == 3_000  # credited exactly once
    k.assert_reconciled()
    assert k.ledger(f"card:{citizen.asn}") == 3_000
    assert k.ledger("suspense") == 0
    assert k.ledger(drawer_account(DRAWER)) == -3_000


def test_report_loss_block_and_unblock(counter: Counter) -> None:
    k = counter
    session = k.login()
    lost = k.card("citizen", 1)
    r = session.report_loss(lost.asn)
    assert dict(r.lines)["hotlist_version"] == "1"
    assert session.lookup(lost.asn).status == "blocked"
    citizen = k.insert_citizen()
    session.block()
    assert session.read_citizen_card().blocked  # on the chip too
    session.unblock()  # the card is here and signs the request
    card = session.read_citizen_card()
    assert not card.blocked and session.lookup(citizen.asn).status == "active"
    with pytest.raises(CentralRefused) as absent:
        session.client.card_status(lost.asn, "unblock")  # the card is not here
    assert (absent.value.status, absent.value.reason) == (403, "card_not_present")
    registry.set_card_status(k.central, asn=citizen.asn, status="terminated")
    with pytest.raises(CounterError) as ended:
        session.unblock()
    assert ended.value.reason == "card_terminated"
    k.assert_reconciled()


def test_the_session_locks_on_card_removal_and_inactivity(counter: Counter) -> None:
    k = counter
    now = [0.0]
    k.station.clock = lambda: now[0]
    citizen = k.card("citizen")
    session = k.login()
    session.lookup(citizen.asn)
    now[0] += k.station.idle_timeout_s + 1
    with pytest.raises(CounterError) as idle:
        session.lookup(citizen.asn)
    assert idle.value.reason == "session_locked"
    session = k.login()
    k.clerk_reader.remove()
    with pytest.raises(CounterError) as removed:
        session.lookup(citizen.asn)
    assert removed.value.reason == "session_locked"
    # Put back, the card no longer signs (its PIN state went with the power).
    k.insert_clerk()
    session._locked = False  # even a UI that forgot the lock: the card itself refuses
    with pytest.raises(CounterError) as card_says_no:
        session.lookup(citizen.asn)
    assert card_says_no.value.reason == "session_locked"


def test_a_voided_load_is_credited_again_once(counter: Counter) -> None:
    k = counter
    session = k.login()
    session.open_shift(0)
    citizen = k.insert_citizen()
    # A kiosk's cash top-up authorized, the card gone before CREDIT FOR LOAD, never
    # back: voided after the window, the money back on the kiosk's cash account.
    kiosk = terminal(k.central, k.server.url, k.tmp, "320500000001")
    card, rnd = CardModel(k.wallet.keys(), citizen.asn, 0), bytes(4)
    tid = bytes.fromhex(kiosk.terminal_id)
    sk = crypto.load_session_key(card.dlk, rnd, 0, card.alg)
    mac1 = crypto.load_mac1(sk, 0, 800, TransactionType.LOAD, tid, card.alg)
    kiosk.client.authorize_load(asn=citizen.asn, amount=800, balance_before=0, atc=0,
                                card_random=rnd.hex(), key_version=1, algorithm=0,
                                mac1=mac1.hex(), date="20261201", time="101500")  # fmt: skip
    k.central.load_void_after_s = 0
    loads.void_expired(k.central)
    [voided] = session.lookup(citizen.asn).voided_loads
    assert voided["amount"] == 800
    receipt = session.recredit(str(voided["load_id"]), 800, citizen.pin)
    assert receipt.kind == "counter_recredit" and k.chip_balance(citizen.asn) == 800
    with pytest.raises(CounterError) as twice:
        session.recredit(str(voided["load_id"]), 800, citizen.pin)
    assert twice.value.reason == "recredited_already"
    k.assert_reconciled()
    assert k.ledger(f"card:{citizen.asn}") == 800
    assert k.ledger("funding:cash:320500000001") == -800  # taken from where the void put it
    assert k.ledger(drawer_account(DRAWER)) == 0
