"""A purchase through pyscard -> pcscd -> vpcd -> the simulated card, PSAM in slot 2.

The card and PSAM persist in files, as in a wallet: a card pulled and put back is
reloaded from its file, so only what the chip committed survives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from cardlib.apdu import APDU_TRACE, ApduSession
from cardlib.crypto import Algorithm, TransactionType
from cardlib.errors import InvalidPinError
from cardlib.identity import Identity
from cardlib.layout import Holder, Ins
from cardlib.psam import PsamClient
from cardlib.purse import (
    DebitOutcomeUnknown,
    PurchaseIntent,
    Purse,
    Settlement,
    SettlementKind,
)
from drivers.pcsc import PcscConnection, transaction
from drivers.pcsc_events import CardInserted, CardRemoved, PcscMonitor
from simulators.card import CitizenCard, make_card
from simulators.private_pcscd import PrivatePcscd
from simulators.sam import Psam, make_psam
from simulators.vpcd import TearPoint, VpcdBridge
from tests.cardlib.rig import ASN, NOW, TERMINAL, fixed_keys, purchase_tac_ok
from tests.pcsc.conftest import Events

pytestmark = pytest.mark.pcsc

KEYS = fixed_keys(Algorithm.TDES)
PIN = "123456"  # make_card's default


def _is_debit(apdu: bytes) -> bool:
    return apdu[0] == 0x80 and apdu[1] == Ins.DEBIT_FOR_PURCHASE


@dataclass
class Kiosk:
    """Just enough terminal for these tests: PC/SC slots, a journal of open intents."""

    pcscd: PrivatePcscd
    open_intents: list[PurchaseIntent] = field(default_factory=list)
    settled: list[Settlement] = field(default_factory=list)

    def connect(self) -> tuple[PcscConnection, PcscConnection]:
        card_slot, psam_slot = self.pcscd.slot_names()
        return (
            PcscConnection.wait_for_card(card_slot, timeout=5.0),
            PcscConnection.wait_for_card(psam_slot, timeout=5.0),
        )

    def on_card(self, purse: Purse) -> None:
        """What the kiosk does first with any card: settle its torn purchases, once."""
        for intent in [i for i in self.open_intents if i.asn == purse.asn]:
            self.settled.append(purse.settle(intent))
            self.open_intents.remove(intent)  # the journal closes the intent with the result


@pytest.fixture
def chips(tmp_path: Path) -> tuple[Path, Path]:
    holder = Holder("测试", ASN.hex(), "320582********0000", date(1990, 1, 1))
    card_file, psam_file = tmp_path / "card.json", tmp_path / "psam.json"
    make_card(KEYS, ASN, holder, balance=1_000, path=card_file)
    make_psam(KEYS, TERMINAL, path=psam_file)
    return card_file, psam_file


def test_pin_change_through_pcscd_with_the_trace_redacted(
    pcscd: PrivatePcscd,
    bridge: VpcdBridge,
    chips: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    card_file, _ = chips
    bridge.card.insert(CitizenCard.load(card_file))
    card_slot, _ = pcscd.slot_names()
    with PcscConnection.wait_for_card(card_slot, timeout=5.0) as card:
        identity = Identity.of(Purse(ApduSession(card)))
        with caplog.at_level(APDU_TRACE, logger="cardlib.apdu"):
            identity.verify_pin(PIN)
            identity.change_pin(PIN, "908172")
        assert "123456" not in caplog.text and "908172" not in caplog.text
        assert "redacted" in caplog.text
    # A new session (new process, same card file): only the new PIN opens it.
    bridge.card.swap(CitizenCard.load(card_file))
    with PcscConnection.wait_for_card(card_slot, timeout=5.0) as card:
        identity = Identity.of(Purse(ApduSession(card)))
        with pytest.raises(InvalidPinError) as wrong:
            identity.verify_pin(PIN)
        assert wrong.value.tries_left == 2
        identity.verify_pin("908172")
        assert identity.pin_tries() == 3


def test_full_purchase_and_log_read_through_pcscd(
    pcscd: PrivatePcscd, bridge: VpcdBridge, chips: tuple[Path, Path]
) -> None:
    card_file, psam_file = chips
    bridge.card.insert(CitizenCard.load(card_file))
    bridge.psam.insert(Psam.load(psam_file))
    kiosk = Kiosk(pcscd)
    card, sam = kiosk.connect()
    with card, sam:
        assert card.atr == bytes.fromhex("3B8880014349564943415244")
        psam = PsamClient(ApduSession(sam))
        assert psam.terminal_id == TERMINAL
        intents: list[PurchaseIntent] = []
        with transaction(card, sam):
            purse = Purse(ApduSession(card))
            Identity.of(purse).verify_pin(PIN)
            assert purse.balance() == 1_000
            result = purse.purchase(psam, 250, on_intent=intents.append, now=NOW)
        assert result.mac2_verified
        assert purchase_tac_ok(KEYS, intents[0], result.tac)
        assert purse.balance() == 750
        log = purse.log()
        assert [(r.ttype, r.amount, r.terminal_id, r.atc) for r in log] == [
            (TransactionType.PURCHASE, 250, TERMINAL, intents[0].offline_atc)
        ]
    # Committed on the card itself: the file a new process would load says so too.
    assert CitizenCard.load(card_file).balance == 750


@pytest.mark.parametrize(
    ("point", "kind", "balance"),
    [
        (TearPoint.BEFORE_PROCESSING, SettlementKind.NOT_DEBITED, 1_000),
        (TearPoint.AFTER_COMMIT, SettlementKind.DEBITED, 750),
    ],
    ids=["before-debit", "after-debit-committed"],
)
def test_card_pulled_around_debit_is_settled_once_on_next_insertion(
    pcscd: PrivatePcscd,
    bridge: VpcdBridge,
    chips: tuple[Path, Path],
    events: Events,
    point: TearPoint,
    kind: SettlementKind,
    balance: int,
) -> None:
    card_file, psam_file = chips
    card_slot, _ = pcscd.slot_names()
    kiosk = Kiosk(pcscd)
    bridge.psam.insert(Psam.load(psam_file))
    bridge.card.insert(CitizenCard.load(card_file))
    with PcscMonitor(events.put, reader_filter=lambda name: name == card_slot):
        events.until(lambda e: isinstance(e, CardInserted))
        card, sam = kiosk.connect()
        psam = PsamClient(ApduSession(sam))
        purse = Purse(ApduSession(card))
        Identity.of(purse).verify_pin(PIN)
        bridge.card.arm_tear(point, _is_debit)
        with pytest.raises(DebitOutcomeUnknown) as info, transaction(card, sam):
            purse.purchase(psam, 250, on_intent=kiosk.open_intents.append, now=NOW)
        assert bridge.card.torn.is_set()
        assert info.value.intent == kiosk.open_intents[0]
        card.close()
        assert events.next() == CardRemoved(card_slot)

        for _ in range(2):  # the citizen puts the card back, twice
            bridge.card.insert(CitizenCard.load(card_file))
            assert isinstance(events.next(), CardInserted)
            with PcscConnection(card_slot) as again:
                purse = Purse(ApduSession(again))
                kiosk.on_card(purse)
                assert purse.balance() == balance
            bridge.card.remove()
            assert events.next() == CardRemoved(card_slot)
        sam.close()

    assert [s.kind for s in kiosk.settled] == [kind]  # exactly once
    assert kiosk.open_intents == []
    settlement = kiosk.settled[0]
    if kind is SettlementKind.DEBITED:
        assert settlement.tac is not None
        assert purchase_tac_ok(KEYS, settlement.intent, settlement.tac)
