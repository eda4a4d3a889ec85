"""A kiosk's card slots in-process: one simulated card, one PSAM, fixed TEST keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from cardlib import crypto
from cardlib.apdu import ApduSession
from cardlib.bcd import CARD_TZ, card_now
from cardlib.crypto import Algorithm, TransactionType
from cardlib.identity import Identity
from cardlib.keys import IssuerKeys, KeyRole
from cardlib.layout import Holder
from cardlib.psam import PsamClient
from cardlib.purse import LoadAuthorization, LoadRequest, PurchaseIntent, Purse
from simulators.card import CitizenCard, make_card
from simulators.sam import Psam, make_psam
from simulators.transport import SimReader

NOW = datetime(2026, 11, 28, 9, 30, 15, tzinfo=CARD_TZ)
ASN = bytes.fromhex("32150000000000000042")
TERMINAL = bytes.fromhex("320500000007")
PIN = "123456"


def fixed_keys(alg: Algorithm) -> IssuerKeys:
    """TEST ONLY master keys, fixed so failures reproduce."""
    masters = {
        1: {role: bytes([0x10 * (i + 1) + j for j in range(16)]) for i, role in enumerate(KeyRole)}
    }
    return IssuerKeys(alg, masters)


def central_authorize(keys: IssuerKeys, now: datetime = NOW):  # type: ignore[no-untyped-def]
    """Stand-in for the central's load authorization, with the same crypto: checks the
    card's MAC1 and answers MAC2 with the load master key (which no kiosk holds)."""

    def authorize(req: LoadRequest) -> LoadAuthorization:
        dlk = crypto.diversify(keys.master(KeyRole.LOAD, req.key_version), req.asn, req.algorithm)
        sk = crypto.load_session_key(dlk, req.card_random, req.online_atc, req.algorithm)
        mac1 = crypto.load_mac1(
            sk, req.balance_before, req.amount, TransactionType.LOAD, req.terminal_id, req.algorithm
        )
        if mac1 != req.mac1:
            raise ValueError("load MAC1 does not verify")
        d, t = card_now(now)
        mac2 = crypto.load_mac2(
            sk, req.amount, TransactionType.LOAD, req.terminal_id, d, t, req.algorithm
        )
        return LoadAuthorization(d, t, mac2)

    return authorize


def purchase_tac_ok(keys: IssuerKeys, intent: PurchaseIntent, tac: bytes) -> bool:
    """The central's check: the TAC recomputed with the TAC master key."""
    dtk = crypto.diversify(
        keys.master(KeyRole.TAC, intent.key_version), intent.asn, intent.algorithm
    )
    expected = crypto.purchase_tac(
        crypto.tac_key(dtk, intent.algorithm),
        intent.amount,
        TransactionType.PURCHASE,
        intent.terminal_id,
        intent.ttc,
        intent.date,
        intent.time,
        intent.algorithm,
    )
    return expected == tac


@dataclass
class Rig:
    alg: Algorithm = Algorithm.TDES
    balance: int = 10_000
    overdraft: int = 0
    max_balance: int = 100_000
    keys: IssuerKeys = field(init=False)
    card: CitizenCard = field(init=False)
    psam_chip: Psam = field(init=False)
    card_reader: SimReader = field(init=False)
    psam_reader: SimReader = field(init=False)
    purse: Purse = field(init=False)
    psam: PsamClient = field(init=False)

    def __post_init__(self) -> None:
        self.keys = fixed_keys(self.alg)
        holder = Holder("测试", ASN.hex(), "320582********0000", date(1990, 1, 1))
        self.card = CitizenCard(
            make_card(
                self.keys,
                ASN,
                holder,
                balance=self.balance,
                overdraft_limit=self.overdraft,
                max_balance=self.max_balance,
                pin=PIN,
            )
        )
        self.psam_chip = Psam(make_psam(self.keys, TERMINAL))
        self.card_reader = SimReader("card")
        self.psam_reader = SimReader("psam")
        self.psam_reader.insert(self.psam_chip)
        self.psam = PsamClient(ApduSession(self.psam_reader))
        self.insert()

    def insert(self, *, pin: str | None = PIN) -> Purse:
        """(Re)insert the card (power-up settles a torn EEPROM journal) and, unless
        ``pin`` is None, verify the PIN as the kiosk does before any purchase."""
        self.card_reader.insert(self.card)
        self.purse = Purse(ApduSession(self.card_reader))
        if pin is not None and not self.purse.blocked:
            Identity.of(self.purse).verify_pin(pin)
        return self.purse

    def reinsert_psam(self) -> PsamClient:
        self.psam_reader.insert(self.psam_chip)
        self.psam = PsamClient(ApduSession(self.psam_reader))
        return self.psam
