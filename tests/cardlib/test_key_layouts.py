"""Key layouts chosen at personalization: one maintenance key (DAMK) or separate block /
unblock / file-maintenance keys; one-level or two-level (issuer, then card) key trees,
with the PSAM's INIT SAM FOR PURCHASE in its Lc 1C and Lc 24 forms and its MAC commands
INIT FOR DESCRYPT (80 1A) and CIPHER DATA (80 FA)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from backend_sync.central.cardcrypto import CardCrypto
from cardlib import crypto
from cardlib.apdu import ApduSession
from cardlib.crypto import Algorithm
from cardlib.errors import ConditionsNotSatisfiedError, SecureMessagingError
from cardlib.identity import Identity
from cardlib.keys import IssuerKeys, KeyRole, MaintenanceLayout
from cardlib.layout import Holder, PublicInfo
from cardlib.personalization import PersoData, Personalizer
from cardlib.psam import PsamClient
from cardlib.purse import Purse
from simulators.card import CitizenCard, make_blank_card, make_card
from simulators.sam import Psam, make_psam
from simulators.transport import SimReader
from tests.cardlib.card_rig import ASN as RIG_ASN
from tests.cardlib.card_rig import PROFILES, PURCHASE_NOW
from tests.cardlib.card_rig import TERMINAL as RIG_TERMINAL
from tests.cardlib.rig import NOW
from tests.cardlib.transcript import RecordingConnection, ScriptedRng

VECTORS = Path(__file__).resolve().parents[1] / "vectors"

H = bytes.fromhex
ALGS = pytest.mark.parametrize("alg", list(Algorithm), ids=lambda a: a.name)
ISSUER = H("3205820000000001")  # the city issuer's identifier: the first level
ASN = H("32058200000000000077")
TID = H("320582000009")
HOLDER = Holder("测试", ASN.hex(), "320582********0000", date(1990, 1, 1))


def _keys(alg: Algorithm, *, two_level: bool = False, separate: bool = False) -> IssuerKeys:
    layout = MaintenanceLayout.SEPARATE if separate else MaintenanceLayout.ONE_KEY
    return IssuerKeys.generate(alg, issuer_id=ISSUER if two_level else None, maintenance=layout)


def _reader(device: CitizenCard | Psam) -> SimReader:
    r = SimReader("r")
    r.insert(device)
    return r


def _paying(card: CitizenCard) -> Purse:
    purse = Purse(ApduSession(_reader(card)))
    Identity.of(purse).verify_pin("123456")  # as the kiosk does (make_card's TEST PIN)
    return purse


def test_two_level_card_keys_are_the_issuer_key_diversified_again() -> None:
    for alg in Algorithm:
        keys = _keys(alg, two_level=True)
        mpk = keys.master(KeyRole.PURCHASE, 1)
        issuer_key = crypto.diversify(mpk, ISSUER, alg)
        assert keys.card_key(KeyRole.PURCHASE, 1, ASN) == crypto.diversify(issuer_key, ASN, alg)
        assert keys.card_key(KeyRole.PURCHASE, 1, ASN) != crypto.diversify(mpk, ASN, alg)
        assert (keys.levels, _keys(alg).levels) == (2, 1)
        again = IssuerKeys.from_json(keys.to_json())
        assert again.issuer_id == ISSUER and again.card_keys(ASN, 1) == keys.card_keys(ASN, 1)
    with pytest.raises(ValueError, match="malformed"):
        IssuerKeys.from_json({**_keys(Algorithm.TDES).to_json(), "issuer_id": "3205"})


@ALGS
def test_two_level_purchase_uses_init_sam_lc_24(alg: Algorithm) -> None:
    keys = _keys(alg, two_level=True)
    card = CitizenCard(make_card(keys, ASN, HOLDER, balance=1_000))
    chip = Psam(make_psam(keys, TID, ttc=7))
    rec = RecordingConnection(_reader(chip))
    psam = PsamClient(ApduSession(rec), two_level=True)
    purse = _paying(card)
    assert purse.public_info().issuer_id == ISSUER
    rec.take()
    result = purse.purchase(psam, 150, on_intent=lambda _i: None, now=NOW)
    sent = [x.command for x in rec.take()]
    assert sent[0][:10] == "8070000024"  # INIT SAM FOR PURCHASE, Lc 24
    body = H(sent[0][10:-2])
    assert len(body) == 0x24 and body[20:28] == ASN[2:] and body[28:36] == ISSUER
    assert result.mac2_verified and card.balance == 850
    # The central verifies the TAC along the same tree, with the TAC master only.
    central = CardCrypto.of(keys.subset(KeyRole.LOAD, KeyRole.TAC))
    i = result.intent
    tac = central.purchase_tac(
        asn=ASN.hex().upper(), algorithm=int(alg), key_version=1, amount=150,
        terminal_id=TID.hex(), ttc=i.ttc, date=i.date.hex(), time=i.time.hex(),
    )  # fmt: skip
    assert tac == result.tac.hex().upper()
    # The one-level form cannot address a two-level key, and costs no TTC.
    one = PsamClient(ApduSession(_reader(chip)))
    ttc = chip.ttc
    with pytest.raises(ConditionsNotSatisfiedError):
        _paying(card).purchase(one, 150, on_intent=lambda _i: None)
    assert chip.ttc == ttc


def test_a_one_level_psam_answers_lc_1c_and_lc_24_alike() -> None:
    keys = _keys(Algorithm.TDES)
    body = H("4A9D091C00000000000106202611210915070100") + ASN[2:]
    answers = []
    for extra in (b"", ISSUER):
        chip = Psam(make_psam(keys, TID, ttc=1))
        conn = _reader(chip)
        conn.send_and_receive(H("00A404000AF0434956494341524450"))
        data = body + extra
        answers.append(conn.send_and_receive(H("80700000") + bytes([len(data)]) + data + b"\x08"))
    assert answers[0] == answers[1] and answers[0][1] == 0x9000
    chip = Psam(make_psam(keys, TID))
    conn = _reader(chip)
    conn.send_and_receive(H("00A404000AF0434956494341524450"))
    assert conn.send_and_receive(H("807000001B") + body[:-1] + b"\x08")[1] == 0x6700


LAYOUTS = [(False, False), (False, True), (True, False), (True, True)]


@ALGS
@pytest.mark.parametrize(("two_level", "separate"), LAYOUTS, ids=["1L-one", "1L-sep", "2L-one",
                                                                   "2L-sep"])  # fmt: skip
def test_block_unblock_and_file_update_under_each_layout(
    alg: Algorithm, two_level: bool, separate: bool
) -> None:
    keys = _keys(alg, two_level=two_level, separate=separate)
    # Issued through the card's own personalization commands (STORE DATA group 04).
    card = make_blank_card(keys, H("0102030405060708"))
    reader = _reader(card)
    public = PublicInfo(ISSUER, ASN, date(2025, 1, 1), date(2035, 12, 31), fci=bytes([1, alg]))
    data = PersoData(public, HOLDER, keys.card_keys(ASN, 1), "123456", "12345678")
    Personalizer(ApduSession(reader), keys.master(KeyRole.PERSONALIZATION, 1), alg).personalize(
        data, lambda _point: b"\x30\x00"
    )
    roles = set(card.eeprom["keys"]["1"]) - {"version", "alg"}
    assert ("app_block" in roles, "maintenance" in roles) == (separate, not separate)
    psam = PsamClient(ApduSession(_reader(Psam(make_psam(keys, TID)))), two_level=two_level)
    purse = Purse(ApduSession(reader))
    purse.block(psam)
    assert Purse(ApduSession(reader)).blocked
    purse = Purse(ApduSession(reader))
    purse.unblock(psam)
    assert not Purse(ApduSession(reader)).blocked
    # UPDATE BINARY of the holder file under SM: the file-maintenance key (or DAMK).
    purse = Purse(ApduSession(reader))
    kv, asn = purse.key_version, purse.asn
    payload = HOLDER.to_bytes()[:16]

    def update(role: KeyRole) -> None:
        challenge = purse.get_challenge()
        header = bytes([0x04, 0xD6, 0x96, 0x00, len(payload) + 4])
        mac = psam.maintenance_mac(key_version=kv, algorithm=alg, asn=asn, challenge=challenge,
                                   data=header + payload, role=role, issuer_id=ISSUER)  # fmt: skip
        purse.session.send_apdu(0x04, 0xD6, 0x96, 0x00, payload + mac)

    update(KeyRole.FILE_MAINTENANCE)
    if separate:
        # Each key serves its own command only: the block key cannot update a file.
        with pytest.raises(SecureMessagingError):
            update(KeyRole.APP_BLOCK)
    else:
        update(KeyRole.APP_BLOCK)  # one key: the PSAM answers every use with MAMK


def test_psam_mac_commands_refuse_what_they_cannot_do() -> None:
    sep = Psam(make_psam(_keys(Algorithm.TDES, separate=True), TID))
    conn = _reader(sep)
    conn.send_and_receive(H("00A404000AF0434956494341524450"))
    asn8 = ASN[2:].hex()
    cases = {
        "80FA050008" + "00" * 8: 0x6985,  # no 80 1A before
        f"801A010108{asn8}": 0x9403,  # a separate-layout PSAM has no merged key
        f"801A050108{asn8}": 0x6A86,  # unknown use
        f"801A020908{asn8}": 0x9403,  # unknown key version
        f"801A020107{asn8[:-2]}": 0x6700,
    }
    for apdu, sw in cases.items():
        assert conn.send_and_receive(H(apdu))[1] == sw, apdu
    assert conn.send_and_receive(H(f"801A020108{asn8}"))[1] == 0x9000
    assert conn.send_and_receive(H("80FA000008" + "00" * 8))[1] == 0x6A86  # only MAC (05)
    assert conn.send_and_receive(H("80FA050004" + "00" * 4))[1] == 0x6985  # key dropped
    assert conn.send_and_receive(H(f"801A020108{asn8}"))[1] == 0x9000
    first = conn.send_and_receive(H("80FA05000D" + "00" * 8 + "841E000004" + "04"))
    again = conn.send_and_receive(H("80FA05000D" + "00" * 8 + "841E000004" + "04"))
    assert first == again and first[1] == 0x9000 and len(first[0]) == 4  # the key stays
    two = Psam(make_psam(_keys(Algorithm.TDES, two_level=True), TID))
    c2 = _reader(two)
    c2.send_and_receive(H("00A404000AF0434956494341524450"))
    assert c2.send_and_receive(H(f"801A020108{asn8}"))[1] == 0x6985  # needs the issuer id


@pytest.mark.parametrize("alg", list(Algorithm), ids=lambda a: a.name)
def test_two_level_purchase_transcript_against_the_independent_vector(alg: Algorithm) -> None:
    """*-purchase-2level-01 (made without cardlib): purchase-01's inputs under the city
    issuer's key; INIT SAM FOR PURCHASE in its Lc 24 form, every byte."""
    name = "tdes" if alg is Algorithm.TDES else "sm4"
    v = json.loads((VECTORS / f"{name}-purchase-2level-01.json").read_text())
    p = PROFILES[alg]
    inp, out = v["inputs"], v["outputs"]
    assert (inp["purchase_master_key"], inp["tac_master_key"], inp["asn"]) == (
        p.masters[KeyRole.PURCHASE], p.masters[KeyRole.TAC], RIG_ASN,
    )  # fmt: skip
    assert (inp["card_random"], inp["terminal_id"], inp["amount"]) == (p.purchase_random,
                                                                       RIG_TERMINAL, 1)  # fmt: skip
    keys = IssuerKeys(alg, {1: {r: H(k) for r, k in p.masters.items()}},
                      issuer_id=H(inp["issuer_id"]))  # fmt: skip
    assert keys.card_key(KeyRole.PURCHASE, 1, H(RIG_ASN)) == H(out["purchase_card_key"])
    card = CitizenCard(make_card(keys, H(RIG_ASN), HOLDER, balance=5000),
                       rng=ScriptedRng(p.purchase_random))  # fmt: skip
    chip = Psam(make_psam(keys, H(RIG_TERMINAL), ttc=1))
    card_rec, sam_rec = RecordingConnection(_reader(card)), RecordingConnection(_reader(chip))
    psam = PsamClient(ApduSession(sam_rec), two_level=True)
    purse = Purse(ApduSession(card_rec))
    Identity.of(purse).verify_pin("123456")
    purse.public_info()
    card_rec.take()
    sam_rec.take()
    result = purse.purchase(psam, 1, on_intent=lambda _i: None, now=PURCHASE_NOW)
    a = f"{int(alg):02X}"
    assert [x.command for x in sam_rec.take()] == [
        f"8070000024{p.purchase_random}000000000001062026112109150701{a}{RIG_ASN[4:]}"
        f"{inp['issuer_id']}08",
        f"8072000004{out['mac2']}",
    ]
    debit = card_rec.take()[-1]  # DEBIT: TTC 1, the date and time, the PSAM's MAC1
    assert debit.command == f"805401000F0000000120261121091507{out['mac1']}08"
    assert (result.tac.hex().upper(), result.mac2.hex().upper()) == (out["tac"], out["mac2"])
