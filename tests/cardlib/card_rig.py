"""A card and a PSAM on recorded in-process readers, with fixed keys and scripted randoms.

The key material and randoms are those of the first known-answer vectors in
tests/vectors/ (made outside cardlib), so the MACs and TACs in these transcripts
can be checked against values cardlib never computed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime

from cardlib.apdu import ApduSession
from cardlib.bcd import CARD_TZ
from cardlib.crypto import Algorithm
from cardlib.identity import Identity
from cardlib.keys import IssuerKeys, KeyRole
from cardlib.layout import Holder
from cardlib.psam import PsamClient
from cardlib.purse import Purse
from simulators.card import CitizenCard, make_card
from simulators.sam import Psam, make_psam
from simulators.transport import SimReader
from tests.cardlib.transcript import RecordingConnection, ScriptedRng

H = bytes.fromhex

ASN = "32058200000000000001"
ASN8 = ASN[4:]
TERMINAL = "320582000001"  # the PSAM's (SFI 16)
PURCHASE_NOW = datetime(2026, 11, 21, 9, 15, 7, tzinfo=CARD_TZ)  # vectors *-purchase-01
LOAD_DATE, LOAD_TIME = "20270111", "111019"  # vectors *-load-01
PIN = "123456"  # TEST ONLY; make_card's default
VERIFY_PIN = "0020000003123456"  # VERIFY (PBOC): P2 00, the PIN in packed BCD


@dataclass(frozen=True)
class Profile:
    """One algorithm's TEST ONLY master keys and the vector values this card reproduces."""

    alg: Algorithm
    masters: dict[KeyRole, str]
    purchase_random: str  # *-purchase-01: amount 1, offline ATC 0, TTC 1, terminal 320582000001
    purchase_mac1: str
    purchase_mac2: str
    purchase_tac: str
    load_random: str  # *-load-01: amount 5000 onto balance 0, online ATC 0
    load_terminal: str
    load_mac1: str
    load_mac2: str
    load_tac: str
    challenge: str  # *-sm-mac-01: APPLICATION BLOCK header 841E000004
    block_mac: str

    @property
    def alg_id(self) -> str:
        return f"{int(self.alg):02X}"

    def keys(self) -> IssuerKeys:
        masters = {1: {role: H(k) for role, k in self.masters.items()}}
        return IssuerKeys(self.alg, masters, test_only=True)


PROFILES = {
    Algorithm.TDES: Profile(
        alg=Algorithm.TDES,
        masters={
            KeyRole.PURCHASE: "2B3BD31B1ED6359C442D063D0C65D543",
            KeyRole.LOAD: "1610336230836A1308337B10796DF3D1",
            KeyRole.TAC: "7BFCDFE5374FF44ECE8A157D902C302F",
            KeyRole.MAINTENANCE: "DB45B5E749BFD55B6452E7A883FCD32E",
            KeyRole.PIN_UNBLOCK: "0123456789ABCDEF0123456789ABCDEF",
            KeyRole.PIN_RELOAD: "FEDCBA9876543210FEDCBA9876543210",
        },
        purchase_random="4A9D091C",
        purchase_mac1="063A1B0C",
        purchase_mac2="AA921F71",
        purchase_tac="70AABEC2",
        load_random="D0A5D101",
        load_terminal="320582BE59D9",
        load_mac1="5E2F50A3",
        load_mac2="0BBFA697",
        load_tac="FACD320B",
        challenge="434E83CA",
        block_mac="88920655",
    ),
    Algorithm.SM4: Profile(
        alg=Algorithm.SM4,
        masters={
            KeyRole.PURCHASE: "89F1647F061FDAB9BFD8030A13E033FE",
            KeyRole.LOAD: "847D57E09FB8F101F0497F573E289F00",
            KeyRole.TAC: "D3E3D8C1244D96B7B5FA7AFE31B7B87F",
            KeyRole.MAINTENANCE: "8BA59EA4C36E4D7ED3C4984AC13AB620",
            KeyRole.PIN_UNBLOCK: "0123456789ABCDEF0123456789ABCDEF",
            KeyRole.PIN_RELOAD: "FEDCBA9876543210FEDCBA9876543210",
        },
        purchase_random="D7480752",
        purchase_mac1="1843C29E",
        purchase_mac2="353B004E",
        purchase_tac="D639AA3B",
        load_random="708F1CFD",
        load_terminal="32058284C714",
        load_mac1="B6FE4A41",
        load_mac2="1F69213B",
        load_tac="05802C24",
        challenge="157C6A2D",
        block_mac="CBBAA92C",
    ),
}

HOLDER = Holder(
    name="张伟",
    card_number=ASN,
    id_masked="320582********1234",
    birth=date(1985, 3, 14),
    services=0xFFFF,
)


@dataclass
class CardRig:
    """Card and PSAM inserted in recorded readers. The card's RNG follows the script
    ``randoms`` exactly, or, when ``seed`` is given, a seeded generator."""

    profile: Profile
    randoms: tuple[str, ...] = ()
    balance: int = 0
    overdraft_limit: int = 0
    max_balance: int = 100_000
    offline_atc: int = 0
    online_atc: int = 0
    ttc: int = 1
    asn: str = ASN
    seed: int | None = None
    purchase_needs_pin: bool = False
    card: CitizenCard = field(init=False)
    psam_chip: Psam = field(init=False)
    card_reader: SimReader = field(init=False)
    psam_reader: SimReader = field(init=False)
    card_rec: RecordingConnection = field(init=False)
    psam_rec: RecordingConnection = field(init=False)

    def __post_init__(self) -> None:
        keys = self.profile.keys()
        eeprom = make_card(
            keys,
            H(self.asn),
            HOLDER,
            balance=self.balance,
            overdraft_limit=self.overdraft_limit,
            max_balance=self.max_balance,
            offline_atc=self.offline_atc,
            online_atc=self.online_atc,
            purchase_needs_pin=self.purchase_needs_pin,
        )
        rng = (
            ScriptedRng(*self.randoms) if self.seed is None else random.Random(self.seed).randbytes
        )
        self.card = CitizenCard(eeprom, rng=rng)
        self.psam_chip = Psam(make_psam(keys, H(TERMINAL), ttc=self.ttc))
        self.card_reader, self.psam_reader = SimReader("card"), SimReader("psam")
        self.card_reader.insert(self.card)
        self.psam_reader.insert(self.psam_chip)
        self.card_rec = RecordingConnection(self.card_reader)
        self.psam_rec = RecordingConnection(self.psam_reader)

    @property
    def card_session(self) -> ApduSession:
        return ApduSession(self.card_rec)

    def purse(self) -> Purse:
        return Purse(self.card_session)

    def paying_purse(self) -> Purse:
        """A purse whose PIN was verified: loads need it (and purchases, on a card with
        the passbook rule)."""
        purse = self.purse()
        Identity.of(purse).verify_pin(PIN)
        return purse

    def psam(self) -> PsamClient:
        return PsamClient(ApduSession(self.psam_rec))

    def send(self, hex_apdu: str) -> tuple[str, str]:
        """One raw APDU to the card, below the processor stack: (data hex, SW hex)."""
        data, sw = self.card_rec.send_and_receive(H(hex_apdu.replace(" ", "")))
        return data.hex().upper(), f"{sw:04X}"

    def send_psam(self, hex_apdu: str) -> tuple[str, str]:
        """One raw APDU to the PSAM: (data hex, SW hex)."""
        data, sw = self.psam_rec.send_and_receive(H(hex_apdu.replace(" ", "")))
        return data.hex().upper(), f"{sw:04X}"
