"""Online loads: MAC1 checked, MAC2 returned, suspense until the card's TAC; the
void rule (the card's next MAC1, or the window)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend_sync.central import ledger, loads
from backend_sync.central.service import Central
from backend_sync.terminal.client import CentralRefused
from cardlib import crypto
from cardlib.crypto import TransactionType
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import CardModel, Terminal, ThreadServer, cards, terminal

DATE, TIME = "20261128", "093000"


@dataclass
class InitForLoad:
    """What INITIALIZE FOR LOAD returns (and the session key the card keeps)."""

    random: bytes
    session_key: bytes
    mac1: bytes


def _init_for_load(card: CardModel, tid: str, amount: int) -> InitForLoad:
    rnd = secrets.token_bytes(4)
    sk = crypto.load_session_key(card.dlk, rnd, card.online_atc, card.alg)
    tid_b = bytes.fromhex(tid)
    mac1 = crypto.load_mac1(sk, card.balance, amount, TransactionType.LOAD, tid_b, card.alg)
    return InitForLoad(rnd, sk, mac1)


def _authorize(t: Terminal, card: CardModel, amount: int, init: InitForLoad) -> tuple[str, str]:
    auth = t.client.authorize_load(
        asn=card.asn, amount=amount, balance_before=card.balance, atc=card.online_atc,
        card_random=init.random.hex(), key_version=1, algorithm=int(card.alg),
        mac1=init.mac1.hex(), date=DATE, time=TIME,
    )  # fmt: skip
    return auth.load_id, auth.mac2


def _credit(t: Terminal, card: CardModel, amount: int, load_id: str) -> int:
    """The kiosk writes the intent, the card credits and answers its TAC."""
    iid = t.outbox.begin_load(
        asn=card.asn, amount=amount, atc=card.online_atc, date=DATE, time=TIME, key_version=1,
        algorithm=int(card.alg), balance_before=card.balance, load_id=load_id,
    )  # fmt: skip
    card.balance += amount
    tac = crypto.load_tac(
        card.tac_key, card.balance, card.online_atc, amount, TransactionType.LOAD,
        bytes.fromhex(t.terminal_id), bytes.fromhex(DATE), bytes.fromhex(TIME), card.alg,
    )  # fmt: skip
    card.online_atc += 1
    return t.outbox.complete(iid, tac=tac.hex(), balance_after=card.balance)


def _bal(central: Central, code: str) -> int:
    with central.engine.connect() as conn:
        return ledger.balance(conn, code)


def test_load_held_in_suspense_until_the_card_confirms(
    central: Central, issuer_keys: IssuerKeys, tmp_path: Path
) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        (card,) = cards(central, issuer_keys, 1)
        card.balance = 1000
        init = _init_for_load(card, t.terminal_id, 5000)
        load_id, mac2 = _authorize(t, card, 5000, init)
        # The MAC2 is the one the card will accept.
        want = crypto.load_mac2(
            init.session_key, 5000, TransactionType.LOAD, bytes.fromhex(t.terminal_id),
            bytes.fromhex(DATE), bytes.fromhex(TIME), card.alg,
        )  # fmt: skip
        assert mac2 == want.hex().upper()
        assert _bal(central, ledger.SUSPENSE) == 5000
        assert _bal(central, f"funding:cash:{t.terminal_id}") == -5000  # this kiosk's drawer
        _credit(t, card, 5000, load_id)
        assert t.agent.run_once().acked_seq == 1
        # A forged MAC1 (a kiosk trying to mint money) is refused and counted.
        with pytest.raises(CentralRefused) as exc:
            t.client.authorize_load(
                asn=card.asn, amount=9999, balance_before=card.balance, atc=card.online_atc,
                card_random="01020304", key_version=1, algorithm=0, mac1="00000000",
                date=DATE, time=TIME,
            )  # fmt: skip
        assert exc.value.reason == "bad_mac1"
    assert _bal(central, ledger.SUSPENSE) == 0
    assert _bal(central, ledger.card_account(card.asn)) == 5000
    assert central.rejection_counts()["bad_mac1"] == 1


def test_void_rule(central: Central, issuer_keys: IssuerKeys, tmp_path: Path) -> None:
    with ThreadServer(central) as srv:
        t = terminal(central, srv.url, tmp_path, "320500000001")
        c1, c2, c3 = cards(central, issuer_keys, 3)
        # 1. The card never credited: its next MAC1 shows the same online ATC.
        first, _ = _authorize(t, c1, 300, _init_for_load(c1, t.terminal_id, 300))
        second, _ = _authorize(t, c1, 300, _init_for_load(c1, t.terminal_id, 300))
        assert first != second  # the first is voided, funding -> suspense reversed
        assert _bal(central, ledger.SUSPENSE) == 300
        # 2. The card credited but the TAC never reached us: its next MAC1 shows
        #    the online ATC moved on.
        _authorize(t, c2, 700, _init_for_load(c2, t.terminal_id, 700))
        c2.balance += 700
        c2.online_atc += 1
        _authorize(t, c2, 100, _init_for_load(c2, t.terminal_id, 100))
        # 3. No word from the card at all: voided when the window has passed.
        _authorize(t, c3, 50, _init_for_load(c3, t.terminal_id, 50))
    now = central.clock()
    central.clock = lambda: now + central.load_void_after_s + 1
    assert loads.void_expired(central) == 3  # second (c1), the 100 (c2), the 50 (c3)
    assert _bal(central, ledger.SUSPENSE) == 0
    assert _bal(central, ledger.card_account(c1.asn)) == 0
    assert _bal(central, ledger.card_account(c2.asn)) == 700
    assert _bal(central, "funding:cash:320500000001") == -700
