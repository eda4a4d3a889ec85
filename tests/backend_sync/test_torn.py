"""Torn purchases and loads on the real purse, PSAM and card simulators: the card
pulled before or after it executed the command, settled on its return, synced."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync.central import ledger, registry
from backend_sync.terminal.settle import settle_unfinished
from cardlib.apdu import ApduSession
from cardlib.identity import Identity
from cardlib.layout import Ins
from cardlib.psam import PsamClient
from cardlib.purse import DebitOutcomeUnknown, Purse
from kiosk.demo.issuer import create_demo_wallet
from simulators.transport import SimReader
from simulators.wallet import Wallet
from tests.backend_sync.kiosk_flow import load, purchase
from tests.backend_sync.support import ThreadServer, make_central, open_balances, terminal

TID = "320500000001"


@pytest.mark.parametrize("card_executed", [True, False])
def test_card_pulled_during_debit_then_settled(
    tmp_path: Path, central_signing_key: ec.EllipticCurvePrivateKey, card_executed: bool
) -> None:
    create_demo_wallet(tmp_path / "wallet", seed=7, terminal_ids=(TID,))
    wallet = Wallet(tmp_path / "wallet")
    central = make_central(f"sqlite:///{tmp_path / 'c.db'}", wallet.keys(), central_signing_key)
    citizens = [c for c in wallet.cards() if c.role == "citizen"]
    for c in citizens:
        registry.register_card(central, asn=c.asn, algorithm=0, key_version=1)
    open_balances(central, tmp_path, wallet.root)  # the issuing counter, through the central
    who = citizens[0]
    psam_reader, reader = SimReader("psam"), SimReader("card")
    psam_reader.insert(wallet.open_psam())
    psam = PsamClient(ApduSession(psam_reader))
    card = wallet.open_card(who.asn)

    def insert() -> Purse:
        reader.insert(card)
        s = ApduSession(reader)
        p = Purse(s)
        Identity(s, p.asn).verify_pin(who.pin)
        return p

    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, TID)
        before = card.balance
        purse = insert()
        purchase(purse, psam, t.outbox, 120)
        reader.arm_pull(Ins.DEBIT_FOR_PURCHASE, after=card_executed)
        with pytest.raises(DebitOutcomeUnknown):
            purchase(purse, psam, t.outbox, 300)
        assert len(t.outbox.unfinished()) == 1
        outcome = settle_unfinished(t.outbox, [insert()])
        assert outcome == [(2, "completed" if card_executed else "aborted")]
        # A load through the central afterwards: MAC2 from the central, TAC back.
        load(insert(), psam.terminal_id, t.outbox, t.client, 1000)
        assert t.agent.run_once().acked_seq == 3
    spent = 120 + (300 if card_executed else 0)
    assert card.balance == before - spent + 1000
    with central.engine.connect() as conn:
        assert ledger.balance(conn, ledger.card_account(who.asn)) == before - spent + 1000
        assert ledger.balance(conn, ledger.SUSPENSE) == 0
    central.engine.dispose()
