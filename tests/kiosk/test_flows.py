"""Each citizen flow end to end: simulated card and PSAM, the real central on uvicorn
over loopback, the printer simulator over TCP. The card, the outbox, the ledger and
the receipt must agree."""

from __future__ import annotations

import json
from collections.abc import Callable

from cryptography import x509

from backend_sync.central import documents, registry
from cardlib.apdu import ApduSession
from cardlib.identity import Identity
from cardlib.purse import Purse
from kiosk.demo.world import DEMO_CATALOG
from kiosk.journeys.citizen_states import State
from kiosk.receipts.signing import verify_reference
from simulators.printer.interpreter import PaperState
from simulators.transport import SimReader
from tests.kiosk.conftest import Kiosk


def _receipt_refs(k: Kiosk) -> list[str]:
    sim = k.world.printer_sim
    assert sim is not None
    return [p.decode() for job in sim.jobs for p in job.qr_payloads]


def _terminal_cert(k: Kiosk) -> x509.Certificate:
    """The certificate the central enrolled for this terminal."""
    import sqlalchemy as sa

    from backend_sync.central.models import terminals

    with k.world.central.engine.connect() as conn:
        q = sa.select(terminals.c.cert_pem).where(
            terminals.c.terminal_id == k.world.ops.terminal_id
        )
        pem = conn.execute(q).scalar_one()
    return x509.load_pem_x509_certificate(pem.encode())


def _outbox_bodies(k: Kiosk) -> list[dict[str, object]]:
    import sqlalchemy as sa

    from backend_sync.terminal.tables import outbox_records

    with k.world.outbox.engine.connect() as conn:
        rows = conn.execute(sa.select(outbox_records.c.body).order_by(outbox_records.c.seq))
        return [json.loads(b) for (b,) in rows if b]


def test_pay_a_bill_card_outbox_ledger_receipt_agree(kiosk: Kiosk) -> None:
    k = kiosk
    c = k.world.citizen(1)
    before = k.world.card_balance(c.asn)
    (bill,) = k.world.unpaid_bills("water", "1000001")  # the department's own
    k.login(1)
    k.to_confirm_bill("1000001")
    conf = k.m.screen().confirm
    assert conf is not None and conf.kind == "debit" and conf.payee == "water"
    amount = conf.amount_fen
    assert amount == bill["amount"] and conf.balance_fen == before
    assert dict(conf.details)["period"] == bill["period"]
    k.m.confirm()
    k.settle()
    assert k.state is State.DONE
    res = k.m.screen().result
    assert res is not None and res.ok and res.code == "paid" and res.receipt == "printed"
    assert res.balance_after_fen == before - amount
    # the outbox: one purchase record citing the held order
    bodies = _outbox_bodies(k)
    assert [b["kind"] for b in bodies] == ["purchase"]
    rec = bodies[0]
    assert rec["amount"] == amount and rec["asn"] == c.asn and rec["payee"] == "water"
    assert rec["balance_after"] == before - amount and rec["order_id"]
    assert k.world.order_status(bill["reference"]) == "held"
    # the receipt: QR signed by the terminal, same transaction, amount and balance
    (payload,) = _receipt_refs(k)
    ref = verify_reference(payload, _terminal_cert(k))
    assert (ref.transaction_id, ref.amount_fen) == (res.transaction_id, amount)
    assert ref.balance_after_fen == before - amount and ref.kind == "bill_payment"
    # the ledger after sync: the card paid the payee, the order is paid
    report = k.world.agent.run_once()
    assert report.ok and report.acked_seq == 1
    ledger = k.world.ledger_balances()
    # the card's account holds its opening balance (loaded through the central) less
    # the payment: the ledger says what the card says
    assert ledger[f"card:{c.asn}"] == before - amount and ledger["payee:water"] == amount
    assert k.world.order_status(bill["reference"]) == "paid"
    k.m.finish()
    k.settle()
    assert k.state is State.TAKE_CARD
    k.remove()
    assert k.state is State.ATTRACT
    assert k.world.card_balance(c.asn) == before - amount


def test_a_paid_bill_cannot_be_paid_twice(kiosk: Kiosk) -> None:
    k = kiosk
    k.login(1)
    k.to_confirm_bill()
    k.m.confirm()
    k.settle()
    # Not uploaded yet: the department still lists the bill, the central (which holds
    # the order) never offers it again.
    assert k.world.unpaid_bills("water", "1000001")
    k.m.back()
    k.settle()
    k.m.choose_service("water_bill")
    k.settle()
    k.m.set_field("account", "1000001")
    k.m.submit_form()
    k.settle()
    assert k.state is State.FORM and k.m.screen().form.error == "bill_not_found"
    assert k.world.outbox.status().head_seq == 1  # no second intent: no debit attempted


def test_bill_not_found_goes_back_to_the_form(kiosk: Kiosk) -> None:
    kiosk.login(1)
    kiosk.m.choose_service("water_bill")
    kiosk.m.set_field("account", "999")
    kiosk.m.submit_form()
    kiosk.settle()
    scr = kiosk.m.screen()
    assert kiosk.state is State.FORM and scr.form is not None
    assert scr.form.error == "bill_not_found"
    assert {f.name: f.error for f in scr.form.fields}["account"] == "bill_not_found"


def test_top_up_from_the_bank(kiosk: Kiosk) -> None:
    k = kiosk
    c = k.world.citizen(2)
    before = k.world.card_balance(c.asn)
    bank_before = k.world.bank.accounts[c.asn]
    k.login(2)
    k.m.choose_service("top_up")
    k.m.set_field("amount", "50.00")
    k.m.submit_form()
    k.settle()
    conf = k.m.screen().confirm
    assert conf is not None and conf.kind == "load" and conf.amount_fen == 5_000
    assert conf.balance_after_fen == before + 5_000
    # the linked account that pays, named by the central, masked
    last4 = "".join(ch for ch in c.asn if ch.isdigit())[-4:]
    assert conf.details == (("funding_account", f"中国工商银行 **** {last4}"),)
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.code == "loaded", res
    assert res.balance_after_fen == before + 5_000 and res.receipt == "printed"
    assert k.world.bank.accounts[c.asn] == bank_before - 5_000
    (payload,) = _receipt_refs(k)
    ref = verify_reference(payload, _terminal_cert(k))
    assert ref.kind == "top_up" and ref.amount_fen == 5_000
    assert ref.balance_after_fen == before + 5_000
    assert k.world.agent.run_once().ok
    ledger = k.world.ledger_balances()
    assert ledger[f"card:{c.asn}"] == before + 5_000 and ledger.get("suspense", 0) == 0
    assert ledger["funding:bank:linked"] == -5_000
    k.remove()
    assert k.world.card_balance(c.asn) == before + 5_000


def test_top_up_without_a_linked_account_says_so_before_confirming(kiosk: Kiosk) -> None:
    k = kiosk
    c = k.world.citizen(2)
    del k.world.bank.accounts[c.asn]
    k.login(2)
    k.m.choose_service("top_up")
    k.m.set_field("amount", "20")
    k.m.submit_form()
    k.settle()
    scr = k.m.screen()
    assert scr.confirm is None and "no_linked_account" in scr.notices, (scr.state, scr.notices)


def test_top_up_refused_by_the_bank_leaves_the_card_alone(kiosk: Kiosk) -> None:
    k = kiosk
    c = k.world.citizen(2)
    k.world.bank.accounts[c.asn] = 100
    before = k.world.card_balance(c.asn)
    k.login(2)
    k.m.choose_service("top_up")
    k.m.set_field("amount", "20")
    k.m.submit_form()
    k.settle()
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and not res.ok and res.code == "bank_insufficient_funds"
    k.remove()
    assert k.world.card_balance(c.asn) == before
    assert k.world.outbox.status().open_intents == 0


def test_top_up_amount_is_validated_in_the_form(kiosk: Kiosk) -> None:
    kiosk.login(1)
    kiosk.m.choose_service("top_up")
    for value, error in (("abc", "not_an_amount"), ("5", "out_of_range"), ("", "required"),
                         ("1.234", "not_an_amount"), ("600", "out_of_range")):  # fmt: skip
        kiosk.m.set_field("amount", value)
        kiosk.m.submit_form()
        kiosk.settle()
        scr = kiosk.m.screen()
        assert kiosk.state is State.FORM and scr.form is not None
        assert scr.form.fields[0].error == error, value


def test_balance_and_history_read_the_card(kiosk: Kiosk) -> None:
    k = kiosk
    c = k.world.citizen(1)
    paid = k.world.unpaid_bills()[0]["amount"]
    k.login(1)
    k.to_confirm_bill()
    k.m.confirm()
    k.settle()
    k.m.back()
    k.m.choose_service("balance")
    k.settle()
    info = k.m.screen().info
    assert k.state is State.INFO and info is not None
    assert info.balance_fen == 12_850 - paid
    k.m.back()
    k.m.choose_service("history")
    k.settle()
    info = k.m.screen().info
    assert info is not None
    kinds = [(h.kind, h.amount_fen) for h in info.history]
    assert kinds == [("purchase", paid), ("load", 12_850)]  # newest first; issuer's load
    assert info.history[0].terminal_id == k.world.ops.terminal_id
    del c


def test_change_pin(kiosk: Kiosk) -> None:
    k = kiosk
    c = k.world.citizen(1)
    k.login(1)
    k.m.choose_service("change_pin")
    k.settle()
    scr = k.m.screen()
    assert scr.form is not None and [f.kind for f in scr.form.fields] == ["pin"] * 3
    for name, digits in (("old_pin", c.pin), ("new_pin", "654321"), ("new_pin_again", "654320")):
        k.m.focus_field(name)
        for d in digits:
            k.m.pin_digit(int(d))
    k.m.submit_form()
    k.settle()
    scr = k.m.screen()
    assert scr.form is not None
    errors = {f.name: f.error for f in scr.form.fields}
    assert errors["new_pin_again"] == "pins_differ"
    assert all("6" not in f.value for f in scr.form.fields)  # only stars leave the core
    k.m.focus_field("new_pin_again")
    for d in "654321":
        k.m.pin_digit(int(d))
    k.m.submit_form()
    k.settle()
    assert k.state is State.CONFIRM
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.code == "pin_changed" and res.receipt == "none"
    k.remove()
    reader = SimReader()
    reader.insert(k.world.wallet.open_card(c.asn))
    ident = Identity.of(Purse(ApduSession(reader)))
    ident.verify_pin("654321")
    assert k.world.audit.entries()  # and no PIN in it:
    text = json.dumps([e.fields for e in k.world.audit.entries()])
    assert c.pin not in text and "654321" not in text


def test_a_service_added_at_the_central_appears_after_sync(kiosk: Kiosk) -> None:
    k = kiosk
    central = k.world.central
    k.login(1)
    ids = {i.service_id for g in k.m.screen().menu for i in g.items}
    assert "gas_other" not in ids
    catalog = json.loads(json.dumps(documents.signed_document(central, "catalog").payload["body"]))
    names = {"zh-Hans": "代缴燃气费", "zh-Hant": "代繳燃氣費", "en": "Gas bill, any account"}
    catalog["services"].append({
        "id": "gas_other", "flow": "bill", "groups": ["payments"], "names": names,
        "needs": {"network": True},
        "fields": [{"name": "account", "kind": "digits",
                    "labels": {"zh-Hans": "户号", "zh-Hant": "戶號", "en": "Account"}}],
        "payment": {"payee": "gas", "utility": "gas"},
    })  # fmt: skip
    documents.publish(central, "catalog", catalog)
    (bill,) = k.world.unpaid_bills("gas", "1000002")  # another household's, as at a counter
    assert "gas_other" not in {i.service_id for g in k.world.ops.menu(k.m.screen().language)
                               for i in g.items}  # fmt: skip
    assert k.world.agent.run_once().documents["catalog"] == 2
    k.m.set_language("en")
    k.settle()
    items = {i.service_id: i for g in k.m.screen().menu for i in g.items}
    assert items["gas_other"].title == "Gas bill, any account" and items["gas_other"].available
    k.m.choose_service("gas_other")
    k.m.set_field("account", "1000002")
    k.m.submit_form()
    k.settle()
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.amount_fen == bill["amount"]
    k.world.agent.run_once()
    assert k.world.ledger_balances()["payee:gas"] == bill["amount"]


def test_no_paper_asks_to_go_on_without_a_receipt(kiosk: Kiosk) -> None:
    k = kiosk
    sim = k.world.printer_sim
    assert sim is not None
    sim.set_faults(paper=PaperState.OUT)
    k.login(1)
    k.to_confirm_bill()
    k.m.confirm()
    k.settle()
    scr = k.m.screen()
    assert k.state is State.NO_PAPER and scr.extra["printer_problem"] == "paper_out"
    k.m.back()  # the citizen stops: nothing was debited
    k.settle()
    assert k.state is State.MENU and _outbox_bodies(k) == []
    k.to_confirm_bill()
    k.m.confirm()
    k.settle()
    k.m.continue_without_receipt()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.receipt == "skipped"
    assert sim.jobs == []


def test_hotlisted_card_is_blocked_on_the_card(kiosk: Kiosk) -> None:
    k = kiosk
    c = k.world.citizen(3)
    registry.set_card_status(k.world.central, asn=c.asn, status="blocked")
    assert k.world.agent.run_once().hotlist_version >= 1
    k.insert(3)
    assert k.state is State.CARD_REFUSED and k.m.screen().refusal == "hotlisted"
    k.m.finish()
    k.settle()
    k.remove()
    reader = SimReader()
    reader.insert(k.world.wallet.open_card(c.asn))
    assert Purse(ApduSession(reader)).blocked  # APPLICATION BLOCK reached the card
    reader.remove()
    k.insert(3)
    assert k.m.screen().refusal == "card_blocked"


def test_a_clerk_card_is_refused_as_belonging_at_a_counter(kiosk: Kiosk) -> None:
    clerk = next(c for c in kiosk.world.wallet.cards() if c.role == "clerk")
    kiosk.world.insert(clerk.asn)
    kiosk.settle()
    scr = kiosk.m.screen()
    assert (scr.state, scr.refusal) == (State.CARD_REFUSED, "counter_card")
    kiosk.m.finish()
    kiosk.settle()
    assert kiosk.state is State.TAKE_CARD
    kiosk.remove()
    assert kiosk.state is State.ATTRACT


def test_a_technician_card_opens_the_maintenance_journey_and_exits_cleanly(
    kiosk: Kiosk,
) -> None:
    from kiosk.journeys.maintenance import Maintenance

    tech = next(c for c in kiosk.world.wallet.cards() if c.role == "technician")
    kiosk.world.insert(tech.asn)
    kiosk.settle()
    scr = kiosk.m.screen()
    assert (scr.journey, scr.state, scr.role) == ("maintenance", Maintenance.PIN_ENTRY,
                                                  "technician")  # fmt: skip
    kiosk.type_pin(tech.pin)  # VERIFY on the technician's card itself
    scr = kiosk.m.screen()
    assert (scr.state, scr.role) == (Maintenance.HOME, "technician")
    assert scr.card is not None and "周" not in scr.card.holder_masked[1:]  # masked
    kiosk.m.finish()
    kiosk.settle()
    assert (kiosk.m.screen().journey, kiosk.state) == ("maintenance", Maintenance.TAKE_CARD)
    kiosk.remove()
    assert kiosk.state is State.ATTRACT
    # the next citizen's session is a citizen's again
    kiosk.login(1)
    events = [e.event for e in kiosk.world.audit.entries()]
    assert "maintenance_open" in events and "maintenance_closed" in events
    # a technician pulling the card mid-way is back at the attract screen
    kiosk.remove()
    kiosk.world.insert(tech.asn)
    kiosk.settle()
    kiosk.remove()
    assert (kiosk.m.screen().journey, kiosk.state) == ("citizen", State.ATTRACT)
    assert kiosk.m.screen().notices == ("card_pulled",)


def test_card_from_another_issuer_is_not_genuine(kiosk: Kiosk) -> None:
    from cardlib.certs import make_test_ca

    _key, other_ca = make_test_ca(kiosk.clock.now())
    kiosk.world.ops.trusted = [other_ca]
    kiosk.insert(1)
    assert kiosk.m.screen().refusal == "not_genuine"


def test_expired_card(make_kiosk: Callable[..., Kiosk]) -> None:
    import datetime as dt

    from kiosk.core.clock import LOCAL_TZ, ManualClock

    k = make_kiosk(clock=ManualClock(dt.datetime.now(LOCAL_TZ) + dt.timedelta(days=3660 + 30)))
    k.start()
    k.insert(1)
    assert k.m.screen().refusal == "expired"


def test_wrong_pin_then_blocked(kiosk: Kiosk) -> None:
    k = kiosk
    k.insert(4)
    k.type_pin("000000")
    scr = k.m.screen()
    assert k.state is State.PIN_ENTRY and scr.pin is not None
    assert scr.pin.wrong and scr.pin.tries_left == 2
    k.type_pin("000000")
    k.type_pin("000000")
    assert k.state is State.CARD_REFUSED and k.m.screen().refusal == "pin_blocked"
    k.m.finish()
    k.settle()
    k.remove()
    k.insert(4)  # a blocked PIN is refused at once, before any try
    assert k.state is State.CARD_REFUSED and k.m.screen().refusal == "pin_blocked"


def test_offline_fixed_price_within_limits_and_network_services_say_so(kiosk: Kiosk) -> None:
    k = kiosk
    k.world.server.should_exit = True  # the central goes away
    k.world.server_thread.join(5)
    k.world.ops.limits = type(k.world.ops.limits)(max_hotlist_age_s=3600, max_card_offline_fen=1500)
    k.login(1)
    k.m.choose_service("water_bill")
    k.m.set_field("account", "1000001")
    k.m.submit_form()
    k.settle()  # the bill lookup finds no central: the kiosk knows it is offline now
    assert k.state is State.MENU and k.m.screen().notices == ("needs_network",)
    assert not k.world.ops.network.online
    items = {i.service_id: i for g in k.m.screen().menu for i in g.items}
    assert not items["water_bill"].available and items["water_bill"].why_not == "needs_network"
    assert not items["top_up"].available
    assert items["balance"].available and items["bike_enable"].available
    k.m.choose_service("bike_enable")
    k.settle()
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.amount_fen == 1_000
    k.m.back()
    k.settle()
    items = {i.service_id: i for g in k.m.screen().menu for i in g.items}
    # 10 yuan unsent + 10 more would pass the 15 yuan offline limit of this card
    assert not items["bike_enable"].available and items["bike_enable"].why_not == "offline_limit"
    k.clock.advance(3700)  # and a stale hotlist stops offline sales for everyone
    assert k.world.ops.env().offline_refusal(1) == "offline_limit"


def test_fixed_price_receipt_carries_the_psam_counter(kiosk: Kiosk) -> None:
    k = kiosk
    k.login(1)
    k.m.choose_service("bike_enable")
    k.settle()
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.receipt == "printed"
    (rec,) = _outbox_bodies(k)
    sim = k.world.printer_sim
    assert sim is not None
    text = sim.jobs[-1].text
    assert f"{rec['ttc']:08d}" in text and "公共自行车日票" in text
    (payload,) = _receipt_refs(k)
    ref = verify_reference(payload, _terminal_cert(k))
    assert ref.kind == "purchase" and ref.amount_fen == rec["amount"] == 1_000


def test_the_menu_lists_each_service_once_and_hides_empty_groups(kiosk: Kiosk) -> None:
    k = kiosk
    k.login(1)
    menu = k.m.screen().menu
    listed = [i.service_id for g in menu for i in g.items]
    assert sorted(listed) == sorted({s["id"] for s in DEMO_CATALOG["services"]})  # once each
    assert all(g.items for g in menu)
    groups = {g.group_id: [i.service_id for i in g.items] for g in menu}
    assert groups == {
        "payments": ["water_bill", "electricity_bill", "gas_bill"],
        "card": ["balance", "history", "change_pin", "top_up"],
        "transport": [
            "bike_enable",
            "bus_ticket",
            "traffic_fines",
            "bus_refund",
            "bike_deposit",
            "bike_return",
            "bike_rental",
        ],
        "participation": ["poll_night_bus", "feedback", "feedback_lookup", "feedback_rate"],
        "government": ["appointment", "appointment_cancel", "application_progress"],
        "work": ["housing_fund"],
        "elderly_health": ["social_security"],
    }  # "children_education" holds no demo service, so it is not shown


def test_the_card_history_is_printed_on_a_signed_slip(kiosk: Kiosk) -> None:
    k = kiosk
    k.login(1)
    k.m.choose_service("bike_enable")  # one purchase in the card's log
    k.settle()
    k.m.confirm()
    k.settle()
    k.m.back()
    k.m.choose_service("history")
    k.settle()
    info = k.m.screen().info
    assert k.state is State.INFO and info is not None and info.printable
    k.m.print_answer()
    k.settle()
    info = k.m.screen().info
    assert k.state is State.INFO and info is not None and info.receipt == "printed"
    assert k.world.printer_sim is not None
    slip = k.world.printer_sim.jobs[-1]
    assert "交易记录" in slip.text and "-¥10.00" in slip.text.replace(" ", "")
    ref = verify_reference(slip.qr_payloads[0].decode(), k.world.terminal_cert)
    assert (ref.kind, ref.amount_fen) == ("answer", 0)


def test_card_pulled_before_the_intent_releases_the_held_bill(kiosk: Kiosk) -> None:
    """The card leaves after the bill is held but before INITIALIZE FOR PURCHASE: no
    intent, no debit, so the kiosk releases the hold and the bill is payable at once."""
    from cardlib.layout import Ins

    k = kiosk
    k.login(1)
    k.to_confirm_bill("1000001")
    k.world.card_reader.arm_pull(Ins.INITIALIZE, after=False)
    k.m.confirm()
    k.settle()
    assert k.state is State.ATTRACT
    assert k.world.outbox.status().head_seq == 0  # no intent was written
    assert k.world.order_status(k.world.unpaid_bills()[0]["reference"]) == "released"
    k.login(1)  # the same citizen, back at once: the bill is free to pay
    k.to_confirm_bill("1000001")
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert res is not None and res.ok and res.code == "paid"


def test_a_fixed_price_sale_names_its_catalog_item_and_the_central_pays_its_payee(
    kiosk: Kiosk,
) -> None:
    """The record names the catalog version the kiosk sold from and the service; the
    central pays that item's payee at its price. A catalog published later (a new
    price) does not change what a sale on the old version owes."""
    k = kiosk
    k.login(1)
    k.m.choose_service("bike_enable")
    k.settle()
    k.m.confirm()
    k.settle()
    (rec,) = _outbox_bodies(k)
    sold_from = k.world.store.document("catalog").version
    assert (rec["catalog_version"], rec["service_id"]) == (sold_from, "bike_enable")
    from kiosk.demo.world import DEMO_CATALOG

    newer = json.loads(json.dumps(DEMO_CATALOG))
    bike = next(s for s in newer["services"] if s["id"] == "bike_enable")
    bike["payment"]["amount_fen"] = 1_500
    assert documents.publish(k.world.central, "catalog", newer) > sold_from
    assert k.world.agent.run_once().ok
    ledger = k.world.ledger_balances()
    assert ledger["payee:bike"] == 1_000 and ledger.get("disputed", 0) == 0
