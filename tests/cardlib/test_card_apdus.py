"""Byte-exact APDUs of every purse and PSAM command: what cardlib sends, what the card answers.

Each client call runs against the card and PSAM simulators through a recording
connection. Keys, randoms, counters and dates are those of the known-answer vectors
*-purchase-01, *-load-01 and *-sm-mac-01 (made without cardlib), so the MAC1, MAC2,
TAC and maintenance MAC bytes below are values cardlib never computed; the one MAC
no vector has (APPLICATION UNBLOCK, permanent BLOCK) is recomputed here with
cardlib.crypto, where it is an input to the card.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardlib import crypto
from cardlib.crypto import Algorithm
from cardlib.errors import (
    ApplicationBlockedError,
    ApplicationLockedError,
    MacError,
    NoTransactionToProveError,
    RecordNotFoundError,
)
from cardlib.keys import KeyRole
from cardlib.layout import LogRecord
from cardlib.purse import LoadAuthorization, LoadRequest, PurchaseIntent
from tests.cardlib.card_rig import (
    ASN,
    ASN8,
    LOAD_DATE,
    LOAD_TIME,
    PROFILES,
    PURCHASE_NOW,
    TERMINAL,
    CardRig,
    H,
    Profile,
)
from tests.cardlib.transcript import Exchange

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
ALGS = pytest.mark.parametrize("alg", list(Algorithm), ids=lambda a: a.name)

AID = "F0434956494341524401"
PSAM_AID = "F0434956494341524450"
# SFI 15 with the FCI bytes "key version 01, algorithm": 3DES 00, SM4 04.
PUBLIC = "32150000000000010101" + ASN + "202501012035123101"
HOLDER_FILE = (
    "BF1041"
    "5F2006E5BCA0E4BC9F"  # 张伟 in UTF-8
    "DF01143332303538323030303030303030303030303031"  # card number, ASCII
    "DF02123332303538322A2A2A2A2A2A2A2A31323334"  # 320582********1234
    "DF030419850314"  # birth date, BCD
    "DF0502FFFF"  # services
) + "00" * 60  # padding to 128 bytes


def X(
    command: str, response: str, sw: str = "9000"
) -> Exchange:  # a table row: command, response, SW
    return Exchange(command.replace(" ", ""), response.replace(" ", ""), sw)


def test_profiles_are_the_independent_vectors() -> None:
    """The literal values below come from tests/vectors, not from cardlib."""
    for alg, prefix in ((Algorithm.TDES, "tdes"), (Algorithm.SM4, "sm4")):
        p = PROFILES[alg]
        pv = json.loads((VECTORS / f"{prefix}-purchase-01.json").read_text())
        lv = json.loads((VECTORS / f"{prefix}-load-01.json").read_text())
        sv = json.loads((VECTORS / f"{prefix}-sm-mac-01.json").read_text())
        assert p.masters[KeyRole.PURCHASE] == pv["inputs"]["purchase_master_key"]
        assert p.masters[KeyRole.TAC] == pv["inputs"]["tac_master_key"]
        assert p.masters[KeyRole.TAC] == lv["inputs"]["tac_master_key"]
        assert p.masters[KeyRole.LOAD] == lv["inputs"]["load_master_key"]
        assert p.masters[KeyRole.MAINTENANCE] == sv["inputs"]["maintenance_master_key"]
        assert pv["inputs"]["asn"] == lv["inputs"]["asn"] == sv["inputs"]["asn"] == ASN
        assert pv["inputs"]["card_random"] == p.purchase_random
        assert (pv["inputs"]["offline_atc"], pv["inputs"]["ttc"], pv["inputs"]["amount"]) == (
            0,
            1,
            1,
        )
        assert pv["inputs"]["terminal_id"] == TERMINAL
        assert (pv["inputs"]["date"], pv["inputs"]["time"]) == ("20261121", "091507")
        assert (p.purchase_mac1, p.purchase_mac2, p.purchase_tac) == (
            pv["outputs"]["mac1"],
            pv["outputs"]["mac2"],
            pv["outputs"]["tac"],
        )
        li = lv["inputs"]
        assert (li["card_random"], li["terminal_id"]) == (p.load_random, p.load_terminal)
        assert (li["online_atc"], li["amount"], li["old_balance"]) == (0, 5000, 0)
        assert (li["date"], li["time"]) == (LOAD_DATE, LOAD_TIME)
        assert (p.load_mac1, p.load_mac2, p.load_tac) == (
            lv["outputs"]["mac1"],
            lv["outputs"]["mac2"],
            lv["outputs"]["tac"],
        )
        assert (sv["inputs"]["challenge"], sv["inputs"]["data"]) == (p.challenge, "841E000004")
        assert sv["outputs"]["mac"] == p.block_mac


# -- one full purchase, every byte pinned --------------------------------------------

FULL_PURCHASE = {
    Algorithm.TDES: (
        [  # card
            X(f"00A40400 0A {AID} 00", f"6F2F 840A{AID} A521 9F0C1E {PUBLIC}00"),
            X("00B09500 1E", f"{PUBLIC}00"),
            X(
                "80500102 0B 01 00000001 320582000001 0F",
                "00001388 0000 000000 01 00 4A9D091C",
            ),
            X("80540100 0F 00000001 20261121 091507 063A1B0C 08", "70AABEC2 AA921F71"),
            X("805C0002 04", "00001387"),
        ],
        [  # PSAM
            X(f"00A40400 0A {PSAM_AID}", ""),
            X("00B09600 06", "320582000001"),
            X(
                "80700000 1C 4A9D091C 0000 00000001 06 20261121 091507 01 00 8200000000000001 08",
                "00000001 063A1B0C",
            ),
            X("80720000 04 AA921F71", ""),
        ],
    ),
    Algorithm.SM4: (
        [  # card
            X(f"00A40400 0A {AID} 00", f"6F2F 840A{AID} A521 9F0C1E {PUBLIC}04"),
            X("00B09500 1E", f"{PUBLIC}04"),
            X(
                "80500102 0B 01 00000001 320582000001 0F",
                "00001388 0000 000000 01 04 D7480752",
            ),
            X("80540100 0F 00000001 20261121 091507 1843C29E 08", "D639AA3B 353B004E"),
            X("805C0002 04", "00001387"),
        ],
        [  # PSAM
            X(f"00A40400 0A {PSAM_AID}", ""),
            X("00B09600 06", "320582000001"),
            X(
                "80700000 1C D7480752 0000 00000001 06 20261121 091507 01 04 8200000000000001 08",
                "00000001 1843C29E",
            ),
            X("80720000 04 353B004E", ""),
        ],
    ),
}


@ALGS
def test_full_purchase_transcript(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, randoms=(p.purchase_random,), balance=5000)
    psam = rig.psam()
    purse = rig.purse()  # PBOC: no VERIFY before a purse purchase
    intents: list[PurchaseIntent] = []
    result = purse.purchase(psam, 1, on_intent=intents.append, now=PURCHASE_NOW)
    assert purse.balance() == 4999
    card, sam = FULL_PURCHASE[alg]
    assert rig.card_rec.take() == card
    assert rig.psam_rec.take() == sam
    assert intents == [result.intent]
    assert (result.tac, result.mac2, result.mac2_verified) == (
        H(p.purchase_tac),
        H(p.purchase_mac2),
        True,
    )
    assert rig.psam_chip.ttc == 2


# -- each command --------------------------------------------------------------------


@ALGS
def test_select(alg: Algorithm) -> None:
    rig = CardRig(PROFILES[alg])
    purse = rig.purse()
    public = PUBLIC + PROFILES[alg].alg_id
    assert rig.card_rec.take() == [X(f"00A404000A{AID}00", f"6F2F840A{AID}A5219F0C1E{public}")]
    assert purse.fci == H(f"6F2F840A{AID}A5219F0C1E{public}") and not purse.blocked


@ALGS
def test_read_binary_public_info_and_holder(alg: Algorithm) -> None:
    rig = CardRig(PROFILES[alg])
    purse = rig.purse()
    rig.card_rec.take()
    info = purse.public_info()
    holder = purse.holder()
    public = PUBLIC + PROFILES[alg].alg_id
    assert rig.card_rec.take() == [X("00B095001E", public), X("00B0960000", HOLDER_FILE)]
    assert (info.asn, info.fci, info.card_number) == (H(ASN), H("01" + PROFILES[alg].alg_id), ASN)
    assert (holder.name, holder.id_masked, holder.services) == (
        "张伟",
        "320582********1234",
        0xFFFF,
    )


@ALGS
def test_get_balance(alg: Algorithm) -> None:
    # 50 fen into a 100 fen overdraft: PBOC cards report the balance unsigned, with
    # the unused overdraft in it (-50 + 100), never as FFFFFFCE (~42.9 million yuan).
    rig = CardRig(PROFILES[alg], balance=-50, overdraft_limit=100)
    purse = rig.purse()
    rig.card_rec.take()
    assert purse.balance() == 50
    assert rig.card_rec.take() == [X("805C000204", "00000032")]


@ALGS
def test_load_commands(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, randoms=(p.load_random,))
    purse = rig.paying_purse()  # a load wants the PIN verified
    purse.public_info()
    rig.card_rec.take()
    requests: list[LoadRequest] = []

    def host(req: LoadRequest) -> LoadAuthorization:
        requests.append(req)
        return LoadAuthorization(H(LOAD_DATE), H(LOAD_TIME), H(p.load_mac2))

    result = purse.load(H(p.load_terminal), 5000, authorize=host)
    assert rig.card_rec.take() == [
        X(
            f"805000020B 01 00001388 {p.load_terminal} 10",
            f"00000000 0000 01 {p.alg_id} {p.load_random} {p.load_mac1}",
        ),
        X(f"805200000B {LOAD_DATE} {LOAD_TIME} {p.load_mac2} 04", p.load_tac),
    ]
    (req,) = requests
    assert (req.mac1, req.card_random, req.online_atc, req.balance_before) == (
        H(p.load_mac1),
        H(p.load_random),
        0,
        0,
    )
    assert result.tac == H(p.load_tac)
    assert purse.balance() == 5000


@ALGS
def test_read_record_of_the_log(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, randoms=(p.load_random, p.purchase_random))
    psam = rig.psam()
    purse = rig.paying_purse()
    purse.public_info()
    assert purse.log() == []
    assert rig.card_rec.take()[-1] == X("00B201C417", "", "6A83")
    with pytest.raises(RecordNotFoundError):
        rig.card_session.send_apdu(0x00, 0xB2, 0x01, 0xC4, le=0x17)
    auth = LoadAuthorization(H(LOAD_DATE), H(LOAD_TIME), H(p.load_mac2))
    purse.load(H(p.load_terminal), 5000, authorize=lambda _r: auth)
    purse.purchase(psam, 1, on_intent=lambda _i: None, now=PURCHASE_NOW)
    rig.card_rec.take()
    records = purse.log()
    assert rig.card_rec.take() == [
        # ATC, overdraft limit, amount, type, terminal, date, time; newest first
        X("00B201C417", f"0000 000000 00000001 06 {TERMINAL} 20261121 091507"),
        X("00B202C417", f"0000 000000 00001388 02 {p.load_terminal} {LOAD_DATE} {LOAD_TIME}"),
        X("00B203C417", "", "6A83"),
    ]
    assert records[0] == LogRecord(0, 0, 1, 0x06, H(TERMINAL), H("20261121"), H("091507"))
    assert records[0].when == PURCHASE_NOW


@ALGS
def test_get_transaction_prove(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, randoms=(p.load_random, p.purchase_random))
    psam = rig.psam()
    purse = rig.paying_purse()
    purse.public_info()
    # Nothing to prove on a fresh card.
    with pytest.raises(NoTransactionToProveError):
        purse.transaction_prove(0x02, 0)
    auth = LoadAuthorization(H(LOAD_DATE), H(LOAD_TIME), H(p.load_mac2))
    purse.load(H(p.load_terminal), 5000, authorize=lambda _r: auth)
    rig.card_rec.take()
    # A load's MAC2 is the host's, as the card accepted it.
    assert purse.transaction_prove(0x02, 0) == (H(p.load_mac2), H(p.load_tac))
    with pytest.raises(NoTransactionToProveError):
        purse.transaction_prove(0x02, 1)  # another ATC
    with pytest.raises(NoTransactionToProveError):
        purse.transaction_prove(0x06, 0)  # another type
    assert rig.card_rec.take() == [
        X("805A0002020000 08", f"{p.load_mac2}{p.load_tac}"),
        X("805A0002020001 08", "", "9406"),
        X("805A0006020000 08", "", "9406"),
    ]
    # Only the last transaction is provable.
    purse.purchase(psam, 1, on_intent=lambda _i: None, now=PURCHASE_NOW)
    rig.card_rec.take()
    assert purse.transaction_prove(0x06, 0) == (H(p.purchase_mac2), H(p.purchase_tac))
    with pytest.raises(NoTransactionToProveError):
        purse.transaction_prove(0x02, 0)
    assert rig.card_rec.take() == [
        X("805A0006020000 08", f"{p.purchase_mac2}{p.purchase_tac}"),
        X("805A0002020000 08", "", "9406"),
    ]


@ALGS
def test_get_challenge(alg: Algorithm) -> None:
    rig = CardRig(PROFILES[alg], randoms=("434E83CA", "5EAC22BECE97A769"))
    purse = rig.purse()
    rig.card_rec.take()
    assert purse.get_challenge() == H("434E83CA")
    assert purse.get_challenge(8) == H("5EAC22BECE97A769")
    assert rig.card_rec.take() == [
        X("0084000004", "434E83CA"),
        X("0084000008", "5EAC22BECE97A769"),
    ]


def _iv(p: Profile, challenge: str) -> str:
    """80 FA's IV: the 4-byte challenge padded with 00 to the cipher's block."""
    return challenge + "00" * (p.alg.block - 4)


def _lc(p: Profile) -> str:
    return f"{p.alg.block + 5:02X}"  # IV and a 5-byte header


def _damk_mac(p: Profile, header: str, challenge: str) -> str:
    damk = crypto.diversify(H(p.masters[KeyRole.MAINTENANCE]), H(ASN), p.alg)
    return crypto.sm_mac(damk, H(header), H(challenge), p.alg).hex().upper()


@ALGS
def test_application_block_and_unblock(alg: Algorithm) -> None:
    p = PROFILES[alg]
    second = "A1B2C3D4"
    rig = CardRig(p, randoms=(p.challenge, second), balance=5000)
    psam = rig.psam()
    purse = rig.purse()
    purse.public_info()
    rig.card_rec.take()
    rig.psam_rec.take()

    purse.block(psam)
    assert rig.card_rec.take() == [
        X("0084000004", p.challenge),
        X(f"841E000004{p.block_mac}", ""),
    ]
    # INIT FOR DESCRYPT (use 02: the block key, which a one-key PSAM answers with
    # MAMK), then CIPHER DATA 05: the challenge as IV, then the data.
    assert rig.psam_rec.take() == [
        X(f"801A0201 08 {ASN8}", ""),
        X(f"80FA0500 {_lc(p)} {_iv(p, p.challenge)} 841E000004 04", p.block_mac),
    ]

    blocked = rig.purse()
    assert blocked.blocked
    with pytest.raises(ApplicationBlockedError):
        blocked.balance()
    assert rig.card_rec.take() == [
        X(f"00A404000A{AID}00", "", "6A81"),
        X("805C000204", "", "6A81"),
    ]

    blocked.unblock(psam)
    unblock_mac = _damk_mac(p, "8418000004", second)
    assert rig.card_rec.take() == [
        X("00B095001E", PUBLIC + p.alg_id),  # the new Purse reads what the MAC needs first
        X("0084000004", second),
        X(f"8418000004{unblock_mac}", ""),
    ]
    assert rig.psam_rec.take() == [
        X(f"801A0301 08 {ASN8}", ""),
        X(f"80FA0500 {_lc(p)} {_iv(p, second)} 8418000004 04", unblock_mac),
    ]
    assert rig.purse().balance() == 5000


@ALGS
def test_permanent_block(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p, randoms=(p.challenge,))
    psam = rig.psam()
    purse = rig.purse()
    purse.public_info()
    rig.card_rec.take()
    purse.block(psam, permanent=True)
    mac = _damk_mac(p, "841E000104", p.challenge)
    assert rig.card_rec.take() == [X("0084000004", p.challenge), X(f"841E000104{mac}", "")]
    with pytest.raises(ApplicationLockedError):
        rig.purse()
    assert rig.card_rec.take() == [X(f"00A404000A{AID}00", "", "9303")]


@ALGS
def test_psam_select_terminal_id_and_maintenance_mac(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p)
    psam = rig.psam()
    assert psam.terminal_id == H(TERMINAL)
    mac = psam.maintenance_mac(
        key_version=1, algorithm=alg, asn=H(ASN), challenge=H(p.challenge), data=H("841E000004")
    )
    assert mac == H(p.block_mac)
    assert rig.psam_rec.take() == [
        X(f"00A404000A{PSAM_AID}", ""),
        X("00B0960006", TERMINAL),
        X(f"801A0101 08 {ASN8}", ""),
        X(f"80FA0500 {_lc(p)} {_iv(p, p.challenge)} 841E000004 04", p.block_mac),
    ]


@ALGS
def test_psam_80_72_refuses_a_wrong_mac2(alg: Algorithm) -> None:
    p = PROFILES[alg]
    rig = CardRig(p)
    psam = rig.psam()
    rig.psam_rec.take()
    ttc, mac1 = psam.init_for_purchase(
        card_random=H(p.purchase_random),
        offline_atc=0,
        amount=1,
        ttype=0x06,
        date=H("20261121"),
        time=H("091507"),
        key_version=1,
        algorithm=alg,
        asn=H(ASN),
    )
    assert (ttc, mac1) == (1, H(p.purchase_mac1))
    wrong = bytes(b ^ 0x01 for b in H(p.purchase_mac2))
    with pytest.raises(MacError):
        psam.check_mac2(wrong)
    assert rig.psam_rec.take()[-1] == X(f"8072000004{wrong.hex().upper()}", "", "9302")


def test_t0_style_delivery_through_the_processor_stack() -> None:
    """The card answers 61xx without Le and 6Cxx to a short Le; the stack recovers both."""
    rig = CardRig(PROFILES[Algorithm.TDES], balance=0x1388)
    session = rig.card_session
    rig.purse()
    rig.card_rec.take()
    assert session.send_apdu(0x80, 0x5C, 0x00, 0x02) == H("00001388")
    assert session.send_apdu(0x80, 0x5C, 0x00, 0x02, le=2) == H("00001388")
    # READ BINARY with a short Le reads fewer bytes (ISO 7816-4), it is not an error.
    assert session.send_apdu(0x00, 0xB0, 0x95, 0x00, le=0x10) == H(PUBLIC)[:16]
    assert rig.card_rec.take() == [
        X("805C0002", "", "6104"),
        X("00C0000004", "00001388"),
        X("805C000202", "", "6C04"),
        X("805C000204", "00001388"),
        X("00B0950010", PUBLIC[:32]),
    ]
