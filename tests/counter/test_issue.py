"""Issuing a card at the counter: the central personalizes a blank chip through the
counter's relay (no issuer key byte reaches the counter), posts deposit and fee from
the drawer, loads the opening balance paid in cash; a tear during personalization
and during the opening load is recovered once."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from backend_sync.central.counter import drawer_account
from backend_sync.central.counter_models import puk_mailers
from backend_sync.central.issuance import CentralIssuer
from cardlib.apdu import ApduSession
from cardlib.certs import Role
from cardlib.identity import Identity
from cardlib.keys import KeyRole
from cardlib.layout import Ins
from cardlib.purse import Purse
from kiosk.counter import Application, CounterError
from kiosk.demo.issuer import Issuer
from simulators.card import CitizenCard, make_blank_card
from tests.counter.conftest import DRAWER, Counter

APP = Application("陈小明", "320582********1111", dt.date(1990, 1, 1))
PIN = "135790"


def _issuer(k: Counter) -> Issuer:
    issuer = Issuer.load(k.wallet.root)
    k.central.issuer = CentralIssuer(issuer.keys, issuer.ca_key, issuer.ca_cert, fee_fen=500)
    return issuer


def _blank(k: Counter, issuer: Issuer, serial: int = 1) -> None:
    chip = serial.to_bytes(8, "big")
    k.citizen_reader.insert(make_blank_card(issuer.keys, chip, path=k.tmp / f"blank{serial}.json"))


def _reinsert(k: Counter, serial: int) -> None:
    """The same chip back in the reader, as its file left it."""
    k.citizen_reader.insert(CitizenCard.load(k.tmp / f"blank{serial}.json"))


def test_issue_a_card_and_no_issuer_key_reaches_the_counter(
    counter: Counter, caplog: pytest.LogCaptureFixture
) -> None:
    k = counter
    issuer = _issuer(k)
    seen: list[bytes] = []
    k.terminal.client.http.event_hooks["response"].append(lambda r: seen.append(r.read()))
    session = k.login()
    session.open_shift(10_000)
    _blank(k, issuer)
    with caplog.at_level(1):  # the APDU trace too, below DEBUG
        receipt = session.issue_card(APP, 5_000, PIN)
    asn = receipt.card_asn
    purse = Purse(ApduSession(k.citizen_reader))
    assert purse.balance() == 5_000 and purse.holder().name == APP.name
    ident = Identity.of(purse)
    assert (
        ident.authenticate(trusted=[issuer.ca_cert], now=dt.datetime.now(dt.UTC)).role
        is Role.CITIZEN
    )
    ident.verify_pin(PIN)  # the PIN the citizen typed, never shown
    assert dict(receipt.lines) == {"card_number": asn, "deposit_fen": "2000", "fee_fen": "500",
                                   "opening_fen": "5000"}  # fmt: skip
    k.assert_reconciled()
    assert k.ledger(f"card:{asn}") == 5_000
    assert k.ledger(f"deposit:card:{asn}") == 2_000 and k.ledger("fee:issuance") == 500
    assert k.ledger(drawer_account(DRAWER)) == -7_500
    assert session.close_shift(17_500).mismatch_fen == 0
    with k.central.engine.connect() as conn:
        puk = conn.execute(sa.select(puk_mailers.c.puk).where(puk_mailers.c.asn == asn)).scalar()
    assert puk is not None and len(puk) == 8  # for the sealed mailer, at the central
    # What reached the counter process: every answer of the central, its log (with the
    # APDU trace), its configuration and files. No key byte, no PUK.
    secrets_hex = [m.hex().upper() for v in issuer.keys.masters.values() for m in v.values()]
    card_keys = issuer.keys.card_keys(bytes.fromhex(asn), 1)
    secrets_hex += [key.hex().upper() for key in card_keys.keys.values()]
    counter_files = b"".join(p.read_bytes() for p in k.tmp.glob("*") if p.is_file()
                             and p.suffix in (".json", ".db", ".db-wal")
                             and not p.name.startswith(("c.db", "blank")))  # fmt: skip
    seen_text = (
        (b"".join(seen) + counter_files).hex().upper()
        + b"".join(seen).decode(errors="replace").upper()
        + caplog.text.upper()
        + repr(vars(k.station)).upper()
    )
    for secret in [*secrets_hex, puk]:
        assert secret not in seen_text
    assert KeyRole.PERSONALIZATION in issuer.keys.masters[1]  # (the list was not empty)


@pytest.mark.parametrize("after", [False, True], ids=["before-write", "after-write"])
def test_a_tear_during_personalization_is_recovered_once(counter: Counter, after: bool) -> None:
    k = counter
    issuer = _issuer(k)
    session = k.login()
    session.open_shift(0)
    _blank(k, issuer)
    k.citizen_reader.arm_pull(Ins.GENERATE_KEY_PAIR, after=after)
    with pytest.raises(CounterError) as torn:
        session.issue_card(APP, 1_000, PIN)
    assert torn.value.reason == "citizen_card_gone"
    [entry] = k.station.unfinished_ops()
    # The card went away half written: another blank card is fine as well.
    _blank(k, issuer, serial=2)
    receipt = session.resume(entry, PIN, APP)
    assert receipt is not None and entry.asn and receipt.card_asn == entry.asn
    assert k.chip_balance_in_reader() == 1_000
    k.assert_reconciled()
    assert k.ledger(f"deposit:card:{receipt.card_asn}") == 2_000  # posted once
    assert k.ledger(drawer_account(DRAWER)) == -3_500
    assert k.station.unfinished_ops() == []


def test_a_tear_at_activate_and_during_the_opening_load(counter: Counter) -> None:
    k = counter
    issuer = _issuer(k)
    session = k.login()
    session.open_shift(0)
    _blank(k, issuer)
    k.citizen_reader.arm_pull(Ins.ACTIVATE, after=False)
    with pytest.raises(CounterError):
        session.issue_card(APP, 800, PIN)
    [entry] = k.station.unfinished_ops()
    _blank(k, issuer, serial=2)  # not the chip the certificate went to
    with pytest.raises(CounterError) as other:
        session.resume(entry, PIN, APP)
    assert other.value.reason == "card_issued"  # one card per application
    _reinsert(k, 1)  # the chip the certificate went to: personalized again, then loaded
    k.citizen_reader.arm_pull(Ins.CREDIT_FOR_LOAD, after=True)
    with pytest.raises(CounterError):
        session.resume(entry, PIN, APP)
    _reinsert(k, 1)  # ACTIVE, credited, the answer lost: nothing is written or loaded again
    receipt = session.resume(entry, PIN, APP)
    assert receipt is not None and k.chip_balance_in_reader() == 800
    k.assert_reconciled()
    assert k.ledger(f"card:{receipt.card_asn}") == 800
    assert k.ledger(drawer_account(DRAWER)) == -3_300


def test_the_central_takes_its_card_issuer_from_its_settings(counter: Counter) -> None:
    from backend_sync.central.issuance import load_issuer
    from cardlib.keys import TestKeyRefused

    issuer = load_issuer(k_root := counter.wallet.root, fee_fen=300)
    assert (issuer.fee_fen, issuer.deposit_fen) == (300, 2_000)
    assert KeyRole.PERSONALIZATION in issuer.keys.masters[1]
    with pytest.raises(TestKeyRefused):
        load_issuer(k_root, production=True)  # TEST ONLY keys are refused in production
