"""Replacement with the balance carried: the old card present (emptied by a counter
purchase whose TAC the central verifies) or lost (after the quarantine, its shadow
balance less the late debits that arrived); the carry reaches the new card as a
real CREDIT FOR LOAD; a late debit after the transfer is flagged."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend_sync.central.counter import drawer_account
from backend_sync.central.counter_close import deposit_account
from backend_sync.central.counter_replace import carry_account
from backend_sync.central.models import anomalies, hotlist_events
from backend_sync.central.service import Central
from cardlib.apdu import ApduSession
from cardlib.errors import ApduError
from cardlib.layout import Ins
from cardlib.purse import Purse
from kiosk.counter import CounterError
from simulators.card import CitizenCard
from tests.backend_sync.support import CardModel, sell, terminal
from tests.counter.conftest import DRAWER, Counter
from tests.counter.test_issue import APP, PIN, _blank, _issuer, _reinsert


def test_replace_a_card_present_carrying_exactly_what_it_gave(counter: Counter) -> None:
    k = counter
    issuer = _issuer(k)
    session = k.login()
    session.open_shift(0)
    old = k.insert_citizen()
    session.top_up(4_200, old.pin)
    repl = session.begin_replacement()
    assert (repl.state.carried_fen, repl.state.cash_out_fen) == (4_200, 0)
    with pytest.raises(ApduError):
        Purse(ApduSession(k.citizen_reader))  # blocked for good on the chip (9303)
    _blank(k, issuer)  # the clerk puts the new card in
    receipt = session.complete_replacement(repl, APP, PIN)
    assert (
        dict(receipt.lines)["carried_fen"] == "4200" and dict(receipt.lines)["replaces"] == old.asn
    )
    assert k.chip_balance_in_reader() == 4_200  # a real CREDIT FOR LOAD
    k.assert_reconciled()
    assert k.ledger(f"card:{old.asn}") == 0 and k.ledger(f"card:{receipt.card_asn}") == 4_200
    assert k.ledger(carry_account(repl.entry.op_id)) == 0
    assert session.lookup(old.asn).status == "terminated"
    assert k.station.unfinished_ops() == []
    # The demo card had no deposit: the new one's is charged as for any new card.
    assert k.ledger(deposit_account(receipt.card_asn)) == 2_000
    assert k.ledger(drawer_account(DRAWER)) == -4_200 - 2_500


def test_replace_a_lost_card_after_the_quarantine_and_flag_a_late_debit(counter: Counter) -> None:
    k = counter
    issuer = _issuer(k)
    session = k.login()
    session.open_shift(0)
    lost = k.insert_citizen()
    session.top_up(5_000, lost.pin)
    k.citizen_reader.remove()  # then the citizen loses it
    kiosk = terminal(k.central, k.server.url, k.tmp, "320500000001")
    card = CardModel(k.wallet.keys(), lost.asn, 5_000)  # the same card keys: genuine TACs
    sell(kiosk, card, 300, ttc=1)  # an offline debit made before the loss was reported
    session.report_loss(lost.asn)
    with pytest.raises(CounterError) as early:
        session.begin_replacement(lost_asn=lost.asn)
    assert early.value.reason == "in_quarantine"
    assert kiosk.agent.run_once().ok  # the late debit arrives inside the window
    # Eight days later (the loss was reported then): past the quarantine.
    with k.central.engine.begin() as conn:
        back = (k.central.card_quarantine_s + 86_400) * 1000
        conn.execute(hotlist_events.update().where(hotlist_events.c.asn == lost.asn)
                     .values(at_ms=hotlist_events.c.at_ms - back))  # fmt: skip
    replacement = session.begin_replacement(lost_asn=lost.asn)
    assert [e.op_id for e in k.station.unfinished_ops()] == [replacement.entry.op_id]
    st = replacement.state
    assert (st.shadow_fen, st.late_debits_fen, st.carried_fen) == (4_700, 300, 4_700)
    _blank(k, issuer)
    receipt = session.complete_replacement(replacement, APP, PIN)
    assert k.chip_balance_in_reader() == 4_700
    # A debit of the old card arriving after the transfer: suspended and flagged.
    sell(kiosk, card, 200, ttc=2)
    assert kiosk.agent.run_once().ok
    with k.central.engine.connect() as conn:
        kinds = set(conn.execute(sa.select(anomalies.c.kind).where(anomalies.c.asn == lost.asn))
                    .scalars())  # fmt: skip
    assert "hotlisted_card" in kinds
    assert k.ledger(f"card:{lost.asn}") == -200  # never silently absorbed
    assert k.ledger(f"card:{receipt.card_asn}") == 4_700
    k.assert_reconciled()


def test_the_quarantine_default_covers_the_terminals_ages() -> None:
    from kiosk.config import SCHEMA as KIOSK
    from kiosk.validator.config import _SCHEMA as VALIDATOR

    kiosk, validator = KIOSK["offline"], VALIDATOR["validator"]
    worst = max(kiosk["max_hotlist_age_s"][1], validator["max_hotlist_age_s"][1]) + max(
        kiosk["max_unsent_age_s"][1], validator["max_unsent_age_s"][1]
    )
    assert Central.__dataclass_fields__["card_quarantine_s"].default >= worst


def test_renew_a_card_whose_counter_nears_its_end(counter: Counter) -> None:
    k = counter
    issuer = _issuer(k)
    session = k.login()
    session.open_shift(0)
    old = k.insert_citizen()
    with pytest.raises(CounterError) as early:
        session.begin_renewal()  # ten years left, a fresh counter
    assert early.value.reason == "not_due"
    session.top_up(900, old.pin)
    dev = k.citizen_reader.device
    assert isinstance(dev, CitizenCard)
    with dev.eeprom.atomic("test: a well-used card") as w:  # its last record at ATC 65001
        w["log"] = [f"{65_001:04X}" + r[4:] for r in dev.eeprom["log"]]
    repl, application = session.begin_renewal()
    assert application.name == old.name
    _blank(k, issuer)
    receipt = session.complete_replacement(repl, application, PIN)
    assert k.chip_balance_in_reader() == 900 and dict(receipt.lines)["replaces"] == old.asn
    k.assert_reconciled()


def test_a_tear_during_the_transfer_load_is_recovered_once(counter: Counter) -> None:
    k = counter
    issuer = _issuer(k)
    session = k.login()
    session.open_shift(0)
    old = k.insert_citizen()
    session.top_up(2_500, old.pin)
    repl = session.begin_replacement()
    _blank(k, issuer)
    k.citizen_reader.arm_pull(Ins.CREDIT_FOR_LOAD, after=True)  # credited, the answer lost
    with pytest.raises(CounterError):
        session.complete_replacement(repl, APP, PIN)
    [issue] = [e for e in k.station.unfinished_ops() if e.kind == "issue"]
    assert issue.ref == repl.entry.op_id
    _reinsert(k, 1)
    receipt = session.resume(issue, PIN, APP)
    assert receipt is not None and k.chip_balance_in_reader() == 2_500  # credited once
    assert k.station.unfinished_ops() == []
    k.assert_reconciled()
    assert k.ledger(f"card:{receipt.card_asn}") == 2_500
    assert k.ledger(carry_account(repl.entry.op_id)) == 0 and k.ledger("suspense") == 0
