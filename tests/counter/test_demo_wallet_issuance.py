"""The TEST ONLY demo wallet's cards are issued through the central's issuance path
(kiosk.demo.issuing_desk): one application per card, recorded at the central that
issued them, each card's role in its certificate; the desk's relay carries no key."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend_sync.central.counter_models import counter_audit, counter_ops, issued_cards
from backend_sync.central.db import make_engine
from backend_sync.central.models import cards
from cardlib.apdu import ApduSession
from cardlib.identity import Identity
from cardlib.purse import Purse
from kiosk.demo.issuer import Issuer, issuing_central
from kiosk.demo.issuing_desk import DESK_OPERATOR_NUMBER, DeskApplication, IssuingDesk
from simulators.card import make_blank_card
from simulators.transport import SimReader
from simulators.wallet import Wallet
from tests.counter.conftest import issuer_ca


def test_the_wallets_cards_are_recorded_as_issued_from_applications(counter_wallet: Path) -> None:
    wallet = Wallet(counter_wallet)
    engine = make_engine(f"sqlite:///{counter_wallet / 'central.db'}")
    with engine.connect() as conn:
        issued = conn.execute(sa.select(issued_cards)).all()
        ops = conn.execute(sa.select(counter_ops).where(counter_ops.c.kind == "issue")).all()
        registered = dict(conn.execute(sa.select(cards.c.asn, cards.c.status)).all())
        a = counter_audit.c
        audit = conn.execute(sa.select(a.operator_number, a.action, a.outcome, a.op_id)).all()
    engine.dispose()
    listed = {c.asn: c for c in wallet.cards()}
    # One application (operation) per card, one card per application, all finished.
    assert sorted(r.asn for r in issued) == sorted(listed) and len(listed) == 8
    assert len({r.op_id for r in issued}) == len(issued) == len(ops)
    assert {o.op_id: (o.asn, o.state) for o in ops} == {r.op_id: (r.asn, "done") for r in issued}
    assert all(r.step == "certified" and r.asn.startswith("32158") for r in issued)
    assert registered == dict.fromkeys(listed, "active")
    for r in issued:  # the application's holder is the card's
        holder = json.loads(r.holder)
        assert holder["name"] == listed[r.asn].name
        assert holder.get("role", "citizen") == listed[r.asn].role
    # Each step of each application audited, with the desk's bootstrap operator.
    steps = ("issue_open", "issue_write", "issue_certify", "op_done")
    assert sorted((n, a, o) for n, a, o, _ in audit) == sorted(
        (DESK_OPERATOR_NUMBER, step, "ok") for step in steps for _ in issued
    )
    assert {op for *_, op in audit} == {r.op_id for r in issued}
    # The certificate the central made carries the application's role.
    ca = issuer_ca(wallet)
    for c in wallet.cards():
        reader = SimReader("check")
        reader.insert(wallet.open_card(c.asn))
        purse = Purse(ApduSession(reader))
        cert = Identity.of(purse).authenticate(trusted=[ca], now=dt.datetime.now(dt.UTC),
                                               role=None)  # fmt: skip
        assert (purse.asn.hex().upper(), cert.role.value) == (c.asn, c.role)


class _Recording:
    """A reader that keeps every command and answer the desk relayed."""

    def __init__(self, inner: SimReader) -> None:
        self.inner = inner
        self.traffic: list[bytes] = []

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self.inner.send_and_receive(apdu)
        self.traffic += [apdu, data]
        return data, sw


def test_the_desks_relay_carries_no_key_and_one_application_gives_one_card(
    counter_wallet: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    from backend_sync.central.service import Refused

    shutil.copytree(counter_wallet, tmp_path / "w")
    issuer = Issuer.load(tmp_path / "w")
    central = issuing_central(tmp_path / "w", issuer)
    reader = SimReader("desk")
    reader.insert(make_blank_card(issuer.keys, bytes(8), path=tmp_path / "blank.json"))
    rec = _Recording(reader)
    app = DeskApplication("钱多多", "320582********1111", dt.date(1990, 1, 1), "135790")
    with caplog.at_level(1), IssuingDesk(central, "320500009999") as desk:
        card = desk.issue(ApduSession(rec), app)
        assert card.asn == "32158000000000000009"  # the next of the desk's series
        # The same application again (its operation id) on another chip: refused.
        from backend_sync.central import issuance
        from backend_sync.counter_wire import IssueOpen

        again = IssueOpen(terminal_id="320500009999", ts=central.now_ms(), op_id=card.op_id,
                          drawer=desk.drawer, name=app.name, id_masked=app.id_masked,
                          birth="19900101", opening_fen=0, chip_serial="00" * 7 + "01",
                          challenge="00" * 8)  # fmt: skip
        with pytest.raises(Refused) as refused:
            issuance.issue_open(central, desk.operator, again)
        assert refused.value.reason == "card_issued"
    central.engine.dispose()
    keys = [m.hex().upper() for v in issuer.keys.masters.values() for m in v.values()]
    keys += [k.hex().upper() for k in issuer.keys.card_keys(bytes.fromhex(card.asn), 1)
             .keys.values()]  # fmt: skip
    relayed = b"".join(rec.traffic).hex().upper() + caplog.text.upper()
    assert len(rec.traffic) > 10 and keys
    for secret in [*keys, card.puk]:
        assert secret not in relayed
