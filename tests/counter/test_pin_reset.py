"""Reset a blocked PIN at the counter: with the citizen's PUK at the card, or with the
holder identified by the clerk and RELOAD PIN authorized by the central."""

from __future__ import annotations

import pytest

from cardlib.apdu import ApduSession
from cardlib.errors import InvalidPinError, PinBlockedError
from cardlib.identity import Identity
from cardlib.purse import Purse
from kiosk.counter import CounterError
from tests.counter.conftest import Counter
from tests.counter.test_issue import _issuer


def _block_pin(k: Counter) -> Identity:
    ident = Identity.of(Purse(ApduSession(k.citizen_reader)))
    for _ in range(3):
        with pytest.raises((InvalidPinError, PinBlockedError)):
            ident.verify_pin("000000")
    return ident


def test_reset_a_blocked_pin_with_the_puk_then_with_reload_pin(counter: Counter) -> None:
    k = counter
    _issuer(k)  # the central's issuer holds the PIN-reload keys
    session = k.login()
    citizen = k.insert_citizen()
    assert _block_pin(k).pin_tries() == 0
    with pytest.raises(CounterError) as wrong:
        session.reset_pin("112233", puk="00000000")
    assert wrong.value.reason == "wrong_puk"
    session.reset_pin("112233", puk=citizen.puk)
    Identity.of(Purse(ApduSession(k.citizen_reader))).verify_pin("112233")
    _block_pin(k)
    receipt = session.reset_pin("445566")  # identity verified by the clerk
    assert receipt.kind == "counter_pin_reload"
    Identity.of(Purse(ApduSession(k.citizen_reader))).verify_pin("445566")
    assert [(a, o) for _n, a, o in _audit(k) if a.startswith("pin_")] == [
        ("pin_puk", "ok"), ("pin_reload", "ok")]  # fmt: skip


def _audit(k: Counter) -> list[tuple[str, str, str]]:
    import sqlalchemy as sa

    from backend_sync.central.counter_models import counter_audit

    with k.central.engine.connect() as conn:
        rows = conn.execute(sa.select(counter_audit.c.operator_number, counter_audit.c.action,
                                      counter_audit.c.outcome)).all()  # fmt: skip
    return [(str(a), str(b), str(c)) for a, b, c in rows]
