"""Opening balances go through the central's load path: authorized into suspense
from the demo's named funding account, confirmed by the card's load TAC; a card
left ACTIVE with no balance while the money was taken is recovered by running the
counter's opening loads again (the card's word decides, never a double credit)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync.central import ledger, reconcile, registry
from backend_sync.central.service import Central
from cardlib.apdu import ApduSession
from cardlib.errors import DeviceError
from cardlib.layout import Ins
from cardlib.purse import Purse
from kiosk.demo.issuer import ISSUER_TERMINAL, create_demo_wallet
from kiosk.opening_loads import load_opening_balances, pending_opening_loads
from simulators.transport import SimReader
from simulators.wallet import Wallet
from tests.backend_sync.support import ThreadServer, make_central, terminal

DEMO = "funding:demo:civicard-demo"


def _world(tmp: Path, key: ec.EllipticCurvePrivateKey) -> tuple[Wallet, Central]:
    create_demo_wallet(tmp / "wallet", seed=7)
    wallet = Wallet(tmp / "wallet")
    central = make_central(f"sqlite:///{tmp / 'c.db'}", wallet.keys(), key)
    for c in wallet.cards():
        registry.register_card(central, asn=c.asn, algorithm=0, key_version=1)
    return wallet, central


def _card_balance(wallet: Wallet, asn: str) -> int:
    r = SimReader("check")
    r.insert(wallet.open_card(asn))
    return Purse(ApduSession(r)).balance()


@pytest.mark.parametrize("credited", [True, False], ids=["credit-done", "credit-not-done"])
def test_torn_opening_load_is_recovered_by_running_it_again(
    tmp_path: Path, central_signing_key: ec.EllipticCurvePrivateKey, credited: bool
) -> None:
    wallet, central = _world(tmp_path, central_signing_key)
    due = {e.asn: e.amount for e in pending_opening_loads(wallet.root)}
    assert len(due) == 5 and all(_card_balance(wallet, a) == 0 for a in due)  # ACTIVE, empty
    first = next(iter(due))
    reader = SimReader("issuing counter")

    def open_session(asn: str) -> ApduSession:
        reader.insert(wallet.open_card(asn))
        if asn == first and not torn:
            torn.append(asn)  # the card leaves at its CREDIT FOR LOAD
            reader.arm_pull(Ins.CREDIT_FOR_LOAD, after=credited)
        return ApduSession(reader)

    torn: list[str] = []
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, ISSUER_TERMINAL.hex().upper())
        with pytest.raises(DeviceError):
            load_opening_balances(wallet.root, open_session, t.outbox, t.client, _pins(wallet))
        # Money taken, card ACTIVE: the authorization sits in suspense.
        with central.engine.connect() as conn:
            assert ledger.balance(conn, ledger.SUSPENSE) == due[first]
        assert _card_balance(wallet, first) == (due[first] if credited else 0)
        assert [e.asn for e in pending_opening_loads(wallet.root)] == list(due)
        # The stated recovery: run the counter's opening loads again.
        n = load_opening_balances(wallet.root, open_session, t.outbox, t.client, _pins(wallet))
        assert n == (4 if credited else 5) and pending_opening_loads(wallet.root) == []
        assert (
            load_opening_balances(wallet.root, open_session, t.outbox, t.client, _pins(wallet)) == 0
        )
        assert t.agent.run_once().ok
    with central.engine.connect() as conn:
        bal = ledger.balances(conn)
    assert {a: _card_balance(wallet, a) for a in due} == due  # credited exactly once
    assert {a: bal[f"card:{a}"] for a in due} == due
    assert bal[DEMO] == -sum(due.values()) and bal.get(ledger.SUSPENSE, 0) == 0
    rec = reconcile.reconcile(central)
    assert rec.mismatches == [] and rec.chain_breaks == [] and rec.ledger_ok
    central.engine.dispose()


def test_a_refused_opening_load_stays_due_and_the_others_go_on(
    tmp_path: Path, central_signing_key: ec.EllipticCurvePrivateKey
) -> None:
    from kiosk.opening_loads import record_opening_load

    wallet, central = _world(tmp_path, central_signing_key)
    due = {e.asn: e.amount for e in pending_opening_loads(wallet.root)}
    big = next(iter(due))
    record_opening_load(wallet.root, big, central.max_purse_balance + 1, "demo")
    reader = SimReader("issuing counter")

    def open_session(asn: str) -> ApduSession:
        reader.insert(wallet.open_card(asn))
        return ApduSession(reader)

    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, ISSUER_TERMINAL.hex().upper())
        assert (
            load_opening_balances(wallet.root, open_session, t.outbox, t.client, _pins(wallet)) == 4
        )
        assert t.agent.run_once().ok
    assert [e.asn for e in pending_opening_loads(wallet.root)] == [big]
    assert _card_balance(wallet, big) == 0  # nothing moved for it
    with central.engine.connect() as conn:
        assert ledger.balance(conn, ledger.SUSPENSE) == 0
    assert reconcile.reconcile(central).mismatches == []
    central.engine.dispose()


def _pins(wallet: Wallet) -> Callable[[str], str | None]:
    """The demo wallet's TEST ONLY PINs: a card wants its PIN verified before a load."""
    return {c.asn: c.pin for c in wallet.cards()}.get
