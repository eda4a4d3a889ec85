"""The station's view-model on the station core (``kiosk.counter.ports_adapter``) in the
demo world, without Kivy: every operation through the central's signed lifecycle
endpoints. One world for the module (it takes seconds to build); the tests run in order
on it, each on its own cards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.counter.holder import mask
from kiosk.demo.counter_world import CounterWorld
from kiosk.demo.issuer import create_demo_wallet
from kiosk.money import format_fen
from terminal_ui.counter.station import Op, Page, Station

CLERK_PIN = "800001"
SUPERVISOR_PIN = "700003"


@pytest.fixture(scope="module")
def cw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CounterWorld]:
    root: Path = tmp_path_factory.mktemp("counter-ports")
    create_demo_wallet(root / "wallet", seed=17)
    world = CounterWorld.build(root)
    yield world
    world.close()


def _pins(st: Station, pin: str) -> None:
    for d in pin:
        st.pin_digit(int(d))
    st.pin_submit()
    assert st.wait_idle(30)


def _run(st: Station, op: Op, fields: dict[str, str], pin: str | None = None) -> None:
    st.home()
    st.open_op(op)
    assert st.view.page is Page.FORM, st.view
    for k, v in fields.items():
        st.set_field(k, v)
    st.submit()
    if pin is not None:
        assert st.view.page is Page.CITIZEN_PIN, st.view
        _pins(st, pin)
    assert st.wait_idle(30)


@pytest.fixture(scope="module")
def st(cw: CounterWorld) -> Station:
    """The clerk signed in and the shift open (once for the module)."""
    station = Station(cw.ports())
    cw.insert_clerk()
    _pins(station, CLERK_PIN)
    assert station.view.page is Page.HOME, station.view
    _run(station, Op.SHIFT_OPEN, {"float": "500"})
    assert station.view.shift_open, station.view
    return station


def _citizen(cw: CounterWorld, n: int) -> Any:
    return [c for c in cw.wallet.cards() if c.role == "citizen"][n]


def _id_number(cw: CounterWorld, asn: str) -> str:
    """A full ID number whose mask is the card holder's (the form's input)."""
    from cardlib.apdu import ApduSession
    from cardlib.purse import Purse

    masked = Purse(ApduSession(cw.citizen_reader)).holder().id_masked
    return masked.replace("********", "19900101")


def test_replace_a_present_card_through_the_view_model(cw: CounterWorld, st: Station) -> None:
    old = _citizen(cw, 0)
    cw.insert_citizen(old.asn)
    number = _id_number(cw, old.asn)
    _run(st, Op.TOP_UP, {"amount": "12.34"}, old.pin)
    assert st.view.page is Page.RESULT, st.view
    balance = cw.world.card_balance(old.asn)
    jobs = len(cw.world.printer_sim.jobs)
    # Step 1, the old card present: transferred, the calculation shown.
    _run(st, Op.REPLACE, {"card_number": old.asn, "number": number}, "246810")
    assert st.view.page is Page.RESULT and st.view.message == "insert_new_card", st.view
    rows = dict(st.view.outcome.rows)  # type: ignore[union-attr]
    assert rows["Carried to the new card"] == format_fen(balance)
    # The old card is terminated; a blank card goes in, step 2 issues with the carry.
    cw.insert_blank()
    _run(st, Op.REPLACE, {"card_number": old.asn, "number": number}, "246810")
    assert st.view.page is Page.RESULT and st.view.message == "", st.view
    out = st.view.outcome
    assert out is not None and out.receipt_printed
    rows = dict(out.rows)
    assert rows["Replaces card"] == old.asn and rows["Balance"] == format_fen(balance)
    assert rows["Carried to the new card"] == format_fen(balance)
    from cardlib.apdu import ApduSession
    from cardlib.purse import Purse

    assert Purse(ApduSession(cw.citizen_reader)).balance() == balance  # exactly carried
    receipt = cw.world.printer_sim.jobs[-1].text
    assert len(cw.world.printer_sim.jobs) == jobs + 2  # the transfer's slip, the receipt
    # The receipt shows the calculation, line by line, in the station's words.
    for label in ("原卡卡号", "转移时余额", "滞后扣款（已计入）", "转入新卡", "押金", "工本费"):
        assert label in receipt, receipt
    assert format_fen(balance) in receipt and old.asn in receipt
    # Looked up by the holder's full ID number (masked at the station before it is
    # sent): the holder's two cards, newest first — the one the counter issued now and
    # the old one, issued by the central to the demo wallet (kiosk.demo.issuing_desk),
    # terminated; a stranger's number, nothing.
    _run(st, Op.LOOKUP, {"query": number})
    listed = [v for k, v in st.view.outcome.rows if k == "Card number"]  # type: ignore[union-attr]
    assert len(listed) == 2, listed
    assert mask(number) in listed[0] and listed[0].endswith("active"), listed
    assert listed[1].startswith(old.asn) and listed[1].endswith("terminated"), listed
    _run(st, Op.LOOKUP, {"query": "11010519491231002X"})
    assert st.view.message == "lookup_not_found", st.view


def test_refund_above_the_limit_takes_the_supervisor_card(cw: CounterWorld, st: Station) -> None:
    card = _citizen(cw, 1)
    cw.insert_citizen(card.asn)
    number = _id_number(cw, card.asn)
    _run(st, Op.TOP_UP, {"amount": "300"}, card.pin)
    balance = cw.world.card_balance(card.asn)
    assert balance > cw.central.refund_supervisor_above_fen
    _run(st, Op.REFUND, {"number": number})
    assert st.view.page is Page.CITIZEN_PIN and st.view.pin_for == "supervisor", st.view
    cw.insert_supervisor()
    _pins(st, SUPERVISOR_PIN)
    assert st.view.page is Page.RESULT, st.view
    out = st.view.outcome
    assert out is not None and out.receipt_printed
    rows = dict(out.rows)
    assert rows["Balance paid out"] == format_fen(balance)
    assert rows["Supervisor"] == "值班长 刘洋"
    receipt = cw.world.printer_sim.jobs[-1].text
    assert "退还余额" in receipt and format_fen(balance) in receipt, receipt
    assert st.view.message == ""


def test_replace_a_lost_card_shows_the_quarantine(cw: CounterWorld, st: Station) -> None:
    from backend_sync.central.models import hotlist_events
    from simulators.idcard import demo_document

    lost = _citizen(cw, 2)
    doc = demo_document(lost.name)
    _run(st, Op.REPORT_LOSS, {"card_number": lost.asn, "number": doc.number})
    assert st.view.page is Page.RESULT, st.view
    cw.citizen_reader.remove()  # no card: the lost path, the holder off the ID document
    cw.place_id(doc.number)
    fields = {"card_number": lost.asn, "number": doc.number}
    _run(st, Op.REPLACE, fields, "246810")
    assert st.view.page is Page.FORM and st.view.message == "in_quarantine", st.view
    with cw.central.engine.begin() as conn:  # the quarantine over (the loss a week ago)
        back = (cw.central.card_quarantine_s + 86_400) * 1000
        conn.execute(hotlist_events.update().where(hotlist_events.c.asn == lost.asn.upper())
                     .values(at_ms=hotlist_events.c.at_ms - back))  # fmt: skip
    ledger = cw.world.ledger_balances()[f"card:{lost.asn.upper()}"]
    assert ledger > 0  # the demo person's opening balance
    _run(st, Op.REPLACE, fields, "246810")
    assert st.view.message == "insert_new_card", st.view
    assert dict(st.view.outcome.rows)["Carried to the new card"] == format_fen(ledger)  # type: ignore[union-attr]
    cw.insert_blank()
    _run(st, Op.REPLACE, fields, "246810")
    out = st.view.outcome
    assert st.view.message == "" and out is not None and out.receipt_printed, st.view
    rows = dict(out.rows)
    assert rows["Holder"] == lost.name and rows["Balance"] == format_fen(ledger)


def test_block_unblock_reset_the_pin_and_look_up(cw: CounterWorld, st: Station) -> None:
    card = _citizen(cw, 3)
    cw.insert_citizen(card.asn)
    number = _id_number(cw, card.asn)
    _run(st, Op.UNBLOCK, {"number": number[:-1] + ("0" if number[-1] != "0" else "1")})
    assert st.view.message == "identity_mismatch", st.view  # another person's number
    _run(st, Op.BLOCK, {"card_number": card.asn})
    assert dict(st.view.outcome.rows)["Card status"] == "blocked", st.view  # type: ignore[union-attr]
    _run(st, Op.LOOKUP, {"query": card.asn})
    assert dict(st.view.outcome.rows)["Card status"] == "blocked", st.view  # type: ignore[union-attr]
    _run(st, Op.UNBLOCK, {"number": number})
    assert dict(st.view.outcome.rows)["Card status"] == "active", st.view  # type: ignore[union-attr]
    # No PUK: the central authorizes RELOAD PIN for the PIN the citizen typed.
    _run(st, Op.RESET_PIN, {"number": number}, "975310")
    assert dict(st.view.outcome.rows)["PIN"] == "reloaded by the central", st.view  # type: ignore[union-attr]
    _run(st, Op.TOP_UP, {"amount": "1"}, "975310")  # the new PIN works
    assert st.view.page is Page.RESULT and st.view.outcome is not None, st.view
    _run(st, Op.TOP_UP, {"amount": "1"}, card.pin)
    assert st.view.message == "wrong_pin", st.view  # the old one no longer


def test_a_replacement_is_resumed_on_screen_after_a_restart(cw: CounterWorld, st: Station) -> None:
    """Step 1 of a replacement, then the station thrown away: a new station core, ports
    and view-model over the same journal and central show the unfinished transfer after
    sign-in; resumed with a blank card and the citizen's PIN, the new card is issued with
    the carry exactly once; it is then neither offered nor done again. The new card is
    found by its holder's name (the holder index)."""
    from cardlib.apdu import ApduSession
    from cardlib.purse import Purse
    from kiosk.counter import CounterStation
    from kiosk.counter.ports_adapter import CounterPortsAdapter
    from kiosk.counter.station_ports import CounterRefused

    old = _citizen(cw, 4)
    cw.insert_citizen(old.asn)
    holder = Purse(ApduSession(cw.citizen_reader)).holder()
    number = _id_number(cw, old.asn)
    _run(st, Op.TOP_UP, {"amount": "8.88"}, old.pin)
    balance = cw.world.card_balance(old.asn)
    _run(st, Op.REPLACE, {"card_number": old.asn, "number": number}, "246810")
    assert st.view.message == "insert_new_card", st.view
    # The station process dies here; a new one starts on the same journal and central.
    core = cw.station
    fresh = CounterStation(core.devices, central=core.central, outbox=core.outbox,
                           trusted=core.trusted, drawer=core.drawer,
                           receipt_key=core.receipt_key, journal=core.journal.path,
                           upload=core.upload)  # fmt: skip
    ports = CounterPortsAdapter(fresh, id_reader=cw.id_reader, printer=cw.printer)
    again = Station(ports)
    cw.insert_clerk()
    _pins(again, CLERK_PIN)
    assert again.view.page is Page.RESUME, again.view
    # (with whatever the module's earlier tests left: the lost card in its quarantine)
    [item] = [u for u in again.view.unfinished if u.card == old.asn]
    assert (item.kind, item.card, item.amount_fen, item.needs) == (
        "replace",
        old.asn,
        balance,
        "new_pin",
    )
    assert item.at > 0 and not item.reversible
    cw.insert_blank()
    again.resume(item.op_id)
    assert again.view.page is Page.CITIZEN_PIN and again.view.pin_for == "new_pin"
    _pins(again, "135790")
    assert again.view.page is Page.RESULT, again.view
    out = again.view.outcome
    assert out is not None and out.op is Op.REPLACE and out.receipt_printed
    rows = dict(out.rows)
    assert rows["Replaces card"] == old.asn and rows["Carried to the new card"] == format_fen(
        balance
    )
    new_asn = rows["Card number"]
    assert Purse(ApduSession(cw.citizen_reader)).balance() == balance  # credited once

    def left() -> set[str]:
        return {u.op_id for u in again.view.unfinished}

    assert item.op_id not in left() | {e.op_id for e in fresh.unfinished_ops()}
    again.home()
    assert again.view.page is Page.HOME and item.op_id not in left()
    with pytest.raises(CounterRefused) as twice:
        ports.resume(item.op_id, "135790")
    assert twice.value.code == "nothing_to_resume"
    assert Purse(ApduSession(cw.citizen_reader)).balance() == balance
    # The holder found by name, as the name keyboard types it: both cards, newest first
    # (the new one active, the old one, from the demo wallet's issuing desk, terminated).
    _run(again, Op.LOOKUP, {"query": f" {holder.name} "})
    listed = [v for k, v in again.view.outcome.rows if k == "Card number"]  # type: ignore[union-attr]
    assert len(listed) == 2, listed
    assert listed[0].startswith(new_asn) and listed[0].endswith("active"), listed
    assert listed[1].startswith(old.asn) and listed[1].endswith("terminated"), listed
