"""The session state machine, headless with an injected clock: every transition of
the table, every timeout with its warning and "more time", the card pulled at every
step (a torn DEBIT settled on the card's return, exactly once)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cardlib.layout import Ins
from kiosk.core.timeouts import Timeouts
from kiosk.core.views import Language, ScreenChanged, TimeoutCleared, TimeoutWarning
from kiosk.journeys.citizen_states import TABLE, TIMED_STATES, TRANSITIONS, State
from kiosk.receipts.signing import verify_reference
from simulators.printer.interpreter import PaperState
from tests.kiosk.conftest import Kiosk, transitions_seen

# -- reaching each state ----------------------------------------------------------------


def _fixed_price_confirm(k: Kiosk) -> None:
    k.m.choose_service("bike_enable")
    k.settle()
    assert k.state is State.CONFIRM


def _no_paper(k: Kiosk) -> None:
    assert k.world.printer_sim is not None
    k.world.printer_sim.set_faults(paper=PaperState.OUT)
    _fixed_price_confirm(k)
    k.m.confirm()
    k.settle()
    assert k.state is State.NO_PAPER


def _done(k: Kiosk) -> None:
    _fixed_price_confirm(k)
    k.m.confirm()
    k.settle()
    assert k.state is State.DONE


def _clerk(k: Kiosk) -> None:
    clerk = next(c for c in k.world.wallet.cards() if c.role == "clerk")
    k.world.insert(clerk.asn)
    k.settle()
    assert k.state is State.CARD_REFUSED


def _then(*steps: Callable[[Kiosk], object]) -> Callable[[Kiosk], None]:
    def run(k: Kiosk) -> None:
        for step in steps:
            step(k)
        k.settle()

    return run


REACH: dict[State, Callable[[Kiosk], None]] = {
    State.CARD_REFUSED: _clerk,
    State.PIN_ENTRY: lambda k: k.insert(1),
    State.MENU: lambda k: k.login(1),
    State.FORM: _then(lambda k: k.login(1), lambda k: k.m.choose_service("water_bill")),
    State.INFO: _then(lambda k: k.login(1), lambda k: k.m.choose_service("balance")),
    State.CONFIRM: _then(lambda k: k.login(1), _fixed_price_confirm),
    State.NO_PAPER: _then(lambda k: k.login(1), _no_paper),
    State.DONE: _then(lambda k: k.login(1), _done),
    State.TAKE_CARD: _then(lambda k: k.login(1), lambda k: k.m.finish()),
}


def _insert_raw(k: Kiosk) -> None:
    """The card arrives and the kiosk is told, without waiting for the check."""
    k.world.card_reader.insert(k.world.wallet.open_card(k.world.citizen(1).asn))
    k.m.card_inserted()


def test_every_timed_state_can_be_reached() -> None:
    assert set(REACH) == set(TIMED_STATES)


# -- timeouts ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", sorted(TIMED_STATES, key=lambda s: s.value))
def test_timeout_warns_gives_more_time_then_ends(kiosk: Kiosk, state: State) -> None:
    k = kiosk
    REACH[state](k)
    assert k.state is state
    t = Timeouts()
    limit = TABLE.timeouts()[state]
    assert limit is not None
    k.events.clear()
    k.clock.advance(limit - t.warning - 1)
    k.settle()
    assert not any(isinstance(e, TimeoutWarning) for e in k.events)
    k.clock.advance(1.5)
    k.settle()
    warnings = [e for e in k.events if isinstance(e, TimeoutWarning)]
    assert len(warnings) == 1 and 0 < warnings[0].seconds_left <= t.warning
    k.m.more_time()
    k.settle()
    assert isinstance(k.events[-1], TimeoutCleared) and k.state is state
    k.clock.advance(limit - 1)  # a whole new period: still here
    k.settle()
    assert k.state is state
    k.clock.advance(1.5)
    k.settle()
    if state is State.TAKE_CARD:
        assert k.state is State.TAKE_CARD and k.m.screen().notices == ("card_forgotten",)
    else:
        assert k.state is State.TAKE_CARD and k.m.screen().notices == ("timed_out",)
    k.remove()
    assert k.state is State.ATTRACT


def test_input_restarts_the_timer_and_elder_mode_doubles_it(kiosk: Kiosk) -> None:
    k = kiosk
    limit = TABLE.timeouts()[State.PIN_ENTRY.value]
    k.insert(1)
    k.clock.advance(limit - 5)
    k.m.pin_digit(1)  # activity: the PIN screen's time starts over
    k.settle()
    k.clock.advance(limit - 5)
    k.settle()
    assert k.state is State.PIN_ENTRY
    k.m.set_elder_mode(True)
    k.settle()
    assert k.m.screen().timeout_s == 2 * limit and k.m.screen().elder_mode
    k.clock.advance(2 * limit - 5)
    k.settle()
    assert k.state is State.PIN_ENTRY
    k.clock.advance(6)
    k.settle()
    assert k.state is State.TAKE_CARD
    k.remove()
    assert not k.m.screen().elder_mode  # the next citizen starts afresh


# -- card pulled ------------------------------------------------------------------------


@pytest.mark.parametrize("state", sorted(TIMED_STATES, key=lambda s: s.value))
def test_card_pulled_in_each_waiting_state(kiosk: Kiosk, state: State) -> None:
    REACH[state](kiosk)
    kiosk.remove()
    assert kiosk.state is State.ATTRACT
    # taken out as asked (take your card; a refused card): no news for the next citizen
    want = None if state in (State.TAKE_CARD, State.CARD_REFUSED) else "card_pulled"
    assert kiosk.m.screen().notices == ((want,) if want else ())
    assert kiosk.world.ops._card is None  # the card session is forgotten


def _pull_during(k: Kiosk, start: Callable[[], None]) -> None:
    """Post an input that starts a job and the removal together, so the removal is
    handled while the job is in flight."""
    start()
    k.world.card_reader.remove()
    k.m.card_removed()
    k.settle()
    assert k.state is State.ATTRACT


def test_card_pulled_in_each_busy_state(kiosk: Kiosk) -> None:
    k = kiosk
    _pull_during(k, lambda: _insert_raw(k))
    k.insert(1)
    for d in k.world.citizen(1).pin:
        k.m.pin_digit(int(d))
    _pull_during(k, k.m.pin_submit)
    k.login(1)
    _pull_during(k, lambda: k.m.choose_service("balance"))
    k.login(1)
    _fixed_price_confirm(k)
    _pull_during(k, k.m.confirm)
    seen = transitions_seen(k.world)
    for busy in (State.CHECKING_CARD, State.VERIFYING_PIN, State.PREPARING,
                 State.CHECKING_PRINTER):  # fmt: skip
        assert (busy, State.ATTRACT) in seen
    assert k.world.outbox.status().head_seq == 0  # nothing was debited


@pytest.mark.parametrize("after", [False, True], ids=["before-debit", "after-commit"])
def test_card_pulled_at_debit_is_settled_once_on_return(kiosk: Kiosk, after: bool) -> None:
    k = kiosk
    c = k.world.citizen(1)
    before = k.world.card_balance(c.asn)
    k.login(1)
    _fixed_price_confirm(k)
    k.world.card_reader.arm_pull(Ins.DEBIT_FOR_PURCHASE, after=after)
    k.m.confirm()
    k.settle()  # the job lost the card: the session ends without waiting for the event
    assert k.state is State.ATTRACT and k.m.screen().notices == ("card_pulled_during_payment",)
    k.m.card_removed()  # the reader's removal event, late: nothing more happens
    k.settle()
    assert k.m.screen().notices == ("card_pulled_during_payment",)
    assert k.world.outbox.status().open_intents == 1
    assert k.world.printer_sim is not None and k.world.printer_sim.jobs == []
    k.insert(1)
    want = "previous_debit_completed" if after else "previous_debit_not_taken"
    assert k.state is State.PIN_ENTRY and k.m.screen().notices == (want,)
    assert k.world.outbox.status().open_intents == 0
    # the receipt of money that moved is printed on the card's return, and only then
    jobs = k.world.printer_sim.jobs
    assert len(jobs) == (1 if after else 0)
    if after:
        ref = verify_reference(jobs[0].qr_payloads[0].decode(), k.world.terminal_cert)
        assert (ref.kind, ref.amount_fen, ref.balance_after_fen) == (
            "purchase",
            1_000,
            before - 1_000,
        )
    report = k.world.agent.run_once()
    assert report.ok and report.acked_seq == 1
    ledger = k.world.ledger_balances()
    assert ledger.get("payee:bike", 0) == (1_000 if after else 0)
    k.remove()
    k.insert(1)  # settled exactly once: nothing more to tell
    assert k.m.screen().notices == () and k.world.outbox.status().head_seq == 1
    k.remove()
    assert k.world.card_balance(c.asn) == before - (1_000 if after else 0)


def test_card_pulled_at_credit_for_load_is_proven_on_return(kiosk: Kiosk) -> None:
    k = kiosk
    c = k.world.citizen(2)
    before = k.world.card_balance(c.asn)
    k.login(2)
    k.m.choose_service("top_up")
    k.m.set_field("amount", "10")
    k.m.submit_form()
    k.settle()
    k.world.card_reader.arm_pull(Ins.CREDIT_FOR_LOAD, after=True)
    k.m.confirm()
    k.settle()
    k.m.card_removed()
    k.settle()
    k.insert(2)
    assert k.m.screen().notices == ("previous_load_completed",)
    assert k.world.printer_sim is not None
    (job,) = k.world.printer_sim.jobs  # the top-up receipt, printed on the card's return
    ref = verify_reference(job.qr_payloads[0].decode(), k.world.terminal_cert)
    assert (ref.kind, ref.amount_fen, ref.balance_after_fen) == ("top_up", 1_000, before + 1_000)
    assert k.world.agent.run_once().ok
    assert k.world.ledger_balances()[f"card:{c.asn}"] == before + 1_000
    k.remove()
    assert k.world.card_balance(c.asn) == before + 1_000


# -- the rest of the session ----------------------------------------------------------


def test_one_session_at_a_time(kiosk: Kiosk) -> None:
    k = kiosk
    k.login(1)
    k.m.card_inserted()  # a second insertion event (a flaky reader) is ignored
    k.settle()
    assert k.state is State.MENU
    assert any(e.event == "card_ignored" for e in k.world.audit.entries())


def test_language_switch_renames_the_menu(kiosk: Kiosk) -> None:
    k = kiosk
    k.login(1)
    titles = {}
    for lang in Language:
        k.m.set_language(lang)
        k.settle()
        scr = k.m.screen()
        assert scr.language is lang
        titles[lang] = {i.service_id: i.title for g in scr.menu for i in g.items}["water_bill"]
    assert titles == {Language.ZH_HANS: "水费", Language.ZH_HANT: "水費", Language.EN: "Water bill"}
    assert isinstance(k.events[-1], ScreenChanged)


def test_the_pin_never_leaves_the_core_nor_reaches_the_audit(kiosk: Kiosk) -> None:
    k = kiosk
    pin = k.world.citizen(1).pin
    k.login(1)
    shown = [e.screen.pin for e in k.events if isinstance(e, ScreenChanged) and e.screen.pin]
    assert [p.length for p in shown] == [0, 1, 2, 3, 4, 5, 6]
    assert all(pin not in repr(e) for e in k.events)
    assert all(pin not in repr(e.fields) for e in k.world.audit.entries())


def test_out_of_service_without_psam_and_when_sales_stop(make_kiosk: Callable[..., Kiosk]) -> None:
    k = make_kiosk()
    psam = k.world.psam_reader.device
    k.world.psam_reader.remove()
    k.m.start(thread=False)
    k.settle()
    assert k.state is State.OUT_OF_SERVICE and k.m.screen().notices == ("no_psam",)
    k.m.card_inserted()
    k.settle()
    assert k.state is State.OUT_OF_SERVICE
    k.world.psam_reader.insert(psam)
    k.m.recheck_devices()
    k.settle()
    assert k.state is State.ATTRACT
    k.world.outbox.reserve_bytes = 1 << 62  # the disk is "full": sales stop
    k.m.recheck_devices()
    k.settle()
    assert k.state is State.OUT_OF_SERVICE and k.m.screen().notices == ("sales_stopped",)


def test_every_transition_in_the_table_is_walked(kiosk: Kiosk) -> None:
    """One kiosk, many citizens: every (from, to) of TRANSITIONS happens."""
    k = kiosk
    m = k.m
    # out of service and back
    k.world.outbox.reserve_bytes = 1 << 62
    m.recheck_devices()
    k.settle()
    k.world.outbox.reserve_bytes = 0
    m.recheck_devices()
    k.settle()
    # out of service by a technician: a citizen's card is still read, and refused
    k.world.kiosk.diagnostics.take_out_of_service("repair", technician="t")
    m.recheck_devices()
    k.settle()
    k.insert(1)
    assert (k.state, k.m.screen().refusal) == (State.CARD_REFUSED, "out_of_service")
    k.remove()
    k.world.kiosk.diagnostics.back_in_service(technician="t")
    m.recheck_devices()
    k.settle()
    # refused card: finish, and pulled
    _clerk(k)
    m.finish()
    k.settle()
    k.remove()
    _clerk(k)
    k.remove()
    # pulled while checking, while verifying
    _pull_during(k, lambda: _insert_raw(k))
    k.insert(1)
    for d in k.world.citizen(1).pin:
        m.pin_digit(int(d))
    _pull_during(k, m.pin_submit)
    # cancelled while checking the card
    _insert_raw(k)
    m.cancel()
    k.settle()
    assert k.state is State.CARD_REFUSED
    k.remove()
    # PIN: wrong, cancelled, pulled, blocked
    k.insert(5)
    k.type_pin("000000")
    m.cancel()
    k.settle()
    k.remove()
    k.insert(5)
    k.remove()
    k.insert(5)
    k.type_pin("000000")
    k.type_pin("000000")
    assert k.state is State.CARD_REFUSED
    k.remove()
    # menu: finish, pulled
    k.login(1)
    m.finish()
    k.settle()
    k.remove()
    k.login(1)
    k.remove()
    # form: back, timeout, pulled; bill not found; submit
    k.login(1)
    m.choose_service("water_bill")
    m.back()
    m.choose_service("water_bill")
    m.set_field("account", "42")
    m.submit_form()
    k.settle()
    assert k.state is State.FORM
    k.clock.advance(TABLE.timeouts()[State.FORM] + 1)
    k.settle()
    k.remove()
    k.login(1)
    m.choose_service("water_bill")
    k.settle()
    k.remove()
    # preparing: cancelled, pulled; info: back, finish, pulled
    k.login(1)
    m.choose_service("balance")
    m.cancel()
    k.settle()
    assert k.state is State.MENU
    _pull_during(k, lambda: m.choose_service("balance"))
    k.login(1)
    m.choose_service("balance")
    k.settle()
    m.print_answer()  # info: printed, and pulled while printing
    k.settle()
    assert k.state is State.INFO and k.m.screen().info.receipt == "printed"  # type: ignore[union-attr]
    _pull_during(k, m.print_answer)
    k.login(1)
    m.choose_service("balance")
    k.settle()
    m.back()
    m.choose_service("history")
    k.settle()
    m.finish()
    k.settle()
    k.remove()
    k.login(1)
    m.choose_service("balance")
    k.settle()
    k.remove()
    # confirm: back, timeout, pulled; printer check cancelled and pulled
    k.login(1)
    _fixed_price_confirm(k)
    m.back()
    _fixed_price_confirm(k)
    m.confirm()
    m.cancel()
    k.settle()
    assert k.state is State.MENU
    _fixed_price_confirm(k)
    _pull_during(k, m.confirm)
    k.login(1)
    _fixed_price_confirm(k)
    k.clock.advance(TABLE.timeouts()[State.CONFIRM] + 1)
    k.settle()
    k.remove()
    k.login(1)
    _fixed_price_confirm(k)
    k.remove()
    # no paper: back, without receipt, timeout, pulled
    k.login(1)
    _no_paper(k)
    m.back()
    _fixed_price_confirm(k)
    m.confirm()
    k.settle()
    m.continue_without_receipt()
    k.settle()
    assert k.state is State.DONE
    m.back()
    _fixed_price_confirm(k)
    m.confirm()
    k.settle()
    k.clock.advance(TABLE.timeouts()[State.NO_PAPER] + 1)
    k.settle()
    k.remove()
    k.login(1)
    _no_paper(k)
    k.remove()
    assert k.world.printer_sim is not None
    k.world.printer_sim.load_paper()
    # done: finish, pulled; processing pulled
    k.login(2)
    _done(k)
    m.finish()
    k.settle()
    k.remove()
    k.login(2)
    _done(k)
    k.remove()
    k.login(2)
    _fixed_price_confirm(k)
    k.world.card_reader.arm_pull(Ins.DEBIT_FOR_PURCHASE, after=False)
    m.confirm()
    k.settle()
    k.m.card_removed()
    k.settle()
    missing = set(TRANSITIONS) - transitions_seen(k.world)
    assert not missing, sorted((a.value, b.value) for a, b in missing)


def test_a_payment_that_finished_after_the_card_left_is_told(kiosk: Kiosk) -> None:
    k = kiosk
    k.login(1)
    _no_paper(k)
    k.m.continue_without_receipt()
    k.m.card_removed()  # the removal event arrives while DEBIT is under way
    k.settle()
    assert k.state is State.ATTRACT
    assert k.m.screen().notices == ("last_payment_completed",)
    assert any(e.event == "late_outcome" for e in k.world.audit.entries())
    assert k.world.outbox.status().head_seq == 1 and k.world.outbox.status().open_intents == 0


def test_torn_debit_left_unsettled_by_another_card_is_proven_when_its_card_returns(
    kiosk: Kiosk,
) -> None:
    k = kiosk
    k.login(1)
    _fixed_price_confirm(k)
    k.world.card_reader.arm_pull(Ins.DEBIT_FOR_PURCHASE, after=True)
    k.m.confirm()
    k.settle()
    k.m.card_removed()
    k.settle()
    k.insert(2)  # another citizen: the open intent is closed as unsettled first
    assert k.state is State.PIN_ENTRY and k.world.outbox.status().open_intents == 0
    k.remove()
    k.insert(1)  # the card comes back: its proof (GET TRANSACTION PROVE) is added
    assert k.m.screen().notices == ("previous_proven",)
    assert k.world.agent.run_once().ok
    assert k.world.ledger_balances()["payee:bike"] == 1_000


def test_top_up_torn_before_credit_is_voided_and_the_bank_refunded(kiosk: Kiosk) -> None:
    k = kiosk
    c = k.world.citizen(2)
    bank = k.world.bank.accounts[c.asn]
    before = k.world.card_balance(c.asn)

    def top_up(yuan: str) -> None:
        k.m.choose_service("top_up")
        k.m.set_field("amount", yuan)
        k.m.submit_form()
        k.settle()
        k.m.confirm()
        k.settle()

    k.login(2)
    k.world.card_reader.arm_pull(Ins.CREDIT_FOR_LOAD, after=False)
    top_up("30")
    assert k.state is State.ATTRACT and k.world.bank.accounts[c.asn] == bank - 3_000
    k.m.card_removed()
    k.settle()
    k.insert(2)  # not provable by the card: left for the central, which voids it when...
    assert k.m.screen().notices == ("previous_load_unsettled",)
    k.type_pin(c.pin)
    top_up("20")  # ...the card's next load shows the same online ATC: the credit never happened
    res = k.m.screen().result
    assert res is not None and res.ok and res.balance_after_fen == before + 2_000
    assert k.world.bank.accounts[c.asn] == bank - 2_000  # the 30 yuan came back
    assert k.world.sync().ok
    assert k.world.ledger_balances()[f"card:{c.asn}"] == before + 2_000


def test_a_card_arriving_during_a_device_recheck_is_not_lost(kiosk: Kiosk) -> None:
    k = kiosk
    k.m.recheck_devices()  # the sync thread's periodic "may we sell?"
    k.world.insert(k.world.citizen(1).asn)  # ...and a citizen at the same moment
    k.settle()
    assert k.state is State.PIN_ENTRY


def test_torn_debit_survives_a_kiosk_restart_and_is_settled_on_return(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    k = make_kiosk()
    k.start()
    root = k.world.root
    k.login(1)
    _fixed_price_confirm(k)
    k.world.card_reader.arm_pull(Ins.DEBIT_FOR_PURCHASE, after=True)
    k.m.confirm()
    k.settle()
    assert k.world.outbox.status().open_intents == 1
    k.world.close()  # the kiosk goes down with the intent open
    from kiosk.core.clock import ManualClock
    from kiosk.demo.world import DemoWorld

    clock = ManualClock()
    again = Kiosk(DemoWorld.build(root, clock=clock), clock)
    try:
        again.start()
        assert again.world.outbox.status().open_intents == 1
        again.insert(1)
        assert again.m.screen().notices == ("previous_debit_completed",)
        assert again.world.sync().ok
        assert again.world.ledger_balances()["payee:bike"] == 1_000
    finally:
        again.world.close()
