"""Identity on the card: PIN and PUK, card authentication, personalization, lifecycle."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from cardlib.apdu import ApduSession
from cardlib.bcd import CARD_TZ
from cardlib.certs import Role, make_test_ca
from cardlib.crypto import Algorithm
from cardlib.errors import (
    AccessDeniedError,
    ApplicationLockedError,
    AsnMismatchError,
    CardNotGenuineError,
    CardRemovedError,
    CertificateExpiredError,
    ConditionsNotSatisfiedError,
    InvalidPinError,
    PinBlockedError,
    RoleError,
    SecureChannelError,
    UntrustedCertificateError,
)
from cardlib.identity import Identity
from cardlib.layout import Holder
from cardlib.personalization import Personalizer
from cardlib.purse import Purse
from kiosk.demo.issuer import Issuer
from simulators.card import CitizenCard, make_blank_card
from simulators.eeprom import Eeprom
from simulators.transport import SimReader
from tests.cardlib.rig import NOW, Rig

ASN = bytes.fromhex("32150000000000000777")
PIN, PUK = "135790", "24680135"
TERMINAL_ID = bytes.fromhex("320500009999")


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    return Issuer.create_test(tmp_path_factory.mktemp("issuer"), Algorithm.TDES, NOW)


def _issue(issuer: Issuer, *, role: Role = Role.CITIZEN, asn: bytes = ASN,
           serial: bytes = b"\x01" * 8, purchase_needs_pin: bool = False,
           ) -> tuple[CitizenCard, SimReader]:  # fmt: skip
    card = make_blank_card(issuer.keys, serial)
    reader = SimReader()
    reader.insert(card)
    issuer.personalize(
        ApduSession(reader), asn=asn, pin=PIN, puk=PUK, role=role,
        holder=Holder("周芷若", asn.hex(), "320582********4321", dt.date(1995, 5, 5)),
        start=dt.date(2026, 1, 1), expiry=dt.date(2036, 1, 1),
        purchase_needs_pin=purchase_needs_pin,
    )  # fmt: skip
    reader.insert(card)
    return card, reader


def _identity(reader: SimReader) -> Identity:
    return Identity.of(Purse(ApduSession(reader)))


# -- PIN and PUK -------------------------------------------------------------------------


def test_pin_blocked_after_three_wrong_tries_and_puk_restores_it(issuer: Issuer) -> None:
    _card, reader = _issue(issuer)
    ident = _identity(reader)
    assert (ident.pin_tries(), ident.puk_tries()) == (3, 10)
    for left in (2, 1, 0):
        with pytest.raises(InvalidPinError) as info:
            ident.verify_pin("000000")
        assert info.value.tries_left == left
        assert ident.pin_tries() == left or left == 0  # reading does not spend a try
    with pytest.raises(PinBlockedError):
        ident.verify_pin(PIN)  # even the right PIN now
    assert ident.pin_tries() == 0
    with pytest.raises(InvalidPinError) as puk_info:
        ident.unblock_pin("00000000", "112233")
    assert puk_info.value.tries_left == 9
    ident.unblock_pin(PUK, "112233")
    assert (ident.pin_tries(), ident.puk_tries()) == (3, 10)
    ident.verify_pin("112233")


def test_puk_blocked_after_ten_wrong_tries(issuer: Issuer) -> None:
    _card, reader = _issue(issuer)
    ident = _identity(reader)
    for left in range(9, -1, -1):
        with pytest.raises(InvalidPinError) as info:
            ident.unblock_pin("99999999", "112233")
        assert info.value.tries_left == left == ident.puk_tries()
    with pytest.raises(PinBlockedError):
        ident.unblock_pin(PUK, "112233")
    assert ident.puk_tries() == 0


def _verified(purse: Purse) -> bool:
    """VERIFY without data: 9000 when the PIN is verified in this session, else 63Cx."""
    try:
        purse.session.send_apdu(0x00, 0x20, 0x00, 0x00)
    except InvalidPinError:
        return False
    return True


def test_pin_change_and_security_state_cleared_on_reset_and_reselect(issuer: Issuer) -> None:
    card, reader = _issue(issuer)
    purse = Purse(ApduSession(reader))
    ident = Identity.of(purse)
    with pytest.raises(InvalidPinError):
        ident.change_pin("000000", "654321")
    assert not _verified(purse)
    ident.change_pin(PIN, "654321")
    assert ident.pin_tries() == 3 and _verified(purse)  # CHANGE PIN leaves it verified
    # Reselecting the application clears the verified PIN ...
    purse = Purse(ApduSession(reader))
    assert not _verified(purse)
    with pytest.raises(AccessDeniedError):
        purse.load(TERMINAL_ID, 100, authorize=issuer.authorize_load)  # a load wants the PIN
    Identity.of(purse).verify_pin("654321")
    assert _verified(purse)
    # ... and so does a reset (power off and on).
    reader.insert(card)
    purse = Purse(ApduSession(reader))
    assert not _verified(purse)


def _psam_for(issuer: Issuer):  # type: ignore[no-untyped-def]
    from cardlib.psam import PsamClient
    from simulators.sam import Psam, make_psam

    r = SimReader()
    r.insert(Psam(make_psam(issuer.keys, bytes.fromhex("320500000001"))))
    return PsamClient(ApduSession(r))


def test_purse_purchase_needs_no_pin_and_a_load_needs_it(issuer: Issuer) -> None:
    card, reader = _issue(issuer)
    psam = _psam_for(issuer)
    with pytest.raises(AccessDeniedError):
        Purse(ApduSession(reader)).load(TERMINAL_ID, 1_000, authorize=issuer.authorize_load)
    issuer.initial_load(ApduSession(reader), 1_000, pin=PIN)  # verifies, then loads
    reader.insert(card)
    purse = Purse(ApduSession(reader))
    purse.purchase(psam, 100, on_intent=lambda _i: None, now=NOW)  # PBOC EP: no PIN
    assert purse.balance() == 900


def test_the_passbook_rule_is_a_personalization_choice(issuer: Issuer) -> None:
    card, reader = _issue(issuer, purchase_needs_pin=True)
    assert card.eeprom["purchase_needs_pin"] is True
    psam = _psam_for(issuer)
    issuer.initial_load(ApduSession(reader), 1_000, pin=PIN)
    reader.insert(card)
    purse = Purse(ApduSession(reader))
    with pytest.raises(AccessDeniedError):
        purse.purchase(psam, 100, on_intent=lambda _i: None, now=NOW)
    Identity.of(purse).verify_pin(PIN)
    purse.purchase(psam, 100, on_intent=lambda _i: None, now=NOW)
    assert purse.balance() == 900
    plain, _ = _issue(issuer)
    assert plain.eeprom["purchase_needs_pin"] is False


def test_tries_left_reported_without_spending_one() -> None:
    rig = Rig()
    ident = Identity.of(rig.insert(pin=None))
    for _ in range(5):
        assert ident.pin_tries() == 3


# -- card authentication -----------------------------------------------------------------


def test_a_genuine_card_passes(issuer: Issuer) -> None:
    _card, reader = _issue(issuer)
    cert = _identity(reader).authenticate(trusted=[issuer.ca_cert], now=NOW)
    assert cert.role is Role.CITIZEN and cert.asn == ASN


def test_wrong_ca_fails(issuer: Issuer) -> None:
    _card, reader = _issue(issuer)
    _key, other_ca = make_test_ca(NOW, name="civicard TEST ONLY issuer CA")  # same name, other key
    with pytest.raises(UntrustedCertificateError):
        _identity(reader).authenticate(trusted=[other_ca], now=NOW)
    _key2, stranger = make_test_ca(NOW, name="some other CA")
    with pytest.raises(UntrustedCertificateError):
        _identity(reader).authenticate(trusted=[stranger], now=NOW)


def test_expired_certificate_fails(issuer: Issuer) -> None:
    _card, reader = _issue(issuer)
    later = dt.datetime(2036, 6, 1, tzinfo=CARD_TZ)
    with pytest.raises(CertificateExpiredError):
        _identity(reader).authenticate(trusted=[issuer.ca_cert], now=later)


def test_asn_mismatch_fails(issuer: Issuer) -> None:
    # A certificate of one card planted on another: files copied, ASN differs.
    card_a, _ = _issue(issuer, asn=bytes.fromhex("32150000000000000001"))
    card_b, reader_b = _issue(issuer, asn=bytes.fromhex("32150000000000000002"), serial=b"\x02" * 8)
    _plant(card_b, certificate=card_a.eeprom["certificate"])
    reader_b.insert(card_b)
    with pytest.raises(AsnMismatchError):
        _identity(reader_b).authenticate(trusted=[issuer.ca_cert], now=NOW)


def test_cloned_card_fails(issuer: Issuer) -> None:
    """All files copied onto another chip, which has its own key pair."""
    original, _ = _issue(issuer)
    clone, reader = _issue(issuer, serial=b"\x03" * 8)
    image = original.eeprom.snapshot()
    image["ec_private"] = clone.eeprom["ec_private"]  # the private key cannot be read out
    clone.eeprom = Eeprom(image)
    reader.insert(clone)
    with pytest.raises(CardNotGenuineError):
        _identity(reader).authenticate(trusted=[issuer.ca_cert], now=NOW)


def test_citizen_card_presented_as_operator_card_fails(issuer: Issuer) -> None:
    _card, reader = _issue(issuer)
    with pytest.raises(RoleError):
        _identity(reader).authenticate(trusted=[issuer.ca_cert], now=NOW, role=Role.CLERK)
    _card2, reader2 = _issue(issuer, role=Role.TECHNICIAN, serial=b"\x04" * 8)
    cert = _identity(reader2).authenticate(trusted=[issuer.ca_cert], now=NOW, role=Role.TECHNICIAN)
    assert cert.role is Role.TECHNICIAN


def _plant(card: CitizenCard, **fields: object) -> None:
    image = card.eeprom.snapshot()
    image.update(fields)
    card.eeprom = Eeprom(image)


# -- personalization and lifecycle -------------------------------------------------------


def test_personalization_end_to_end(issuer: Issuer, tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    card = make_blank_card(issuer.keys, b"\x05" * 8, path=path)
    reader = SimReader()
    reader.insert(card)
    with pytest.raises(ConditionsNotSatisfiedError):  # a blank card has no purse yet
        Purse(ApduSession(reader)).balance()
    issuer.personalize(
        ApduSession(reader), asn=ASN, pin=PIN, puk=PUK,
        holder=Holder("周芷若", ASN.hex(), "320582********4321", dt.date(1995, 5, 5)),
        start=dt.date(2026, 1, 1), expiry=dt.date(2036, 1, 1),
    )  # fmt: skip
    # Another process picks the card up from its file, as another kiosk would.
    again = CitizenCard.load(path)
    reader.insert(again)
    purse = Purse(ApduSession(reader))
    assert purse.holder().name == "周芷若"
    assert purse.balance() == 0
    ident = Identity.of(purse)
    ident.verify_pin(PIN)
    assert ident.authenticate(trusted=[issuer.ca_cert], now=NOW).asn == ASN
    # The personalization key is gone and the card's private key never left it.
    assert again.eeprom["perso_key"] is None
    assert again.eeprom["ec_private"] not in ident.read_certificate().hex().upper()


def test_second_personalization_of_an_active_card_is_refused(issuer: Issuer) -> None:
    _card, reader = _issue(issuer)
    with pytest.raises(ConditionsNotSatisfiedError):
        Personalizer(
            ApduSession(reader), issuer.keys.master(_perso_role(), 1), Algorithm.TDES
        ).open_channel()


def _perso_role():  # type: ignore[no-untyped-def]
    from cardlib.keys import KeyRole

    return KeyRole.PERSONALIZATION


def test_wrong_personalization_key_is_refused(issuer: Issuer) -> None:
    card = make_blank_card(issuer.keys, b"\x06" * 8)
    reader = SimReader()
    reader.insert(card)
    with pytest.raises(SecureChannelError):
        Personalizer(ApduSession(reader), bytes(16), Algorithm.TDES).open_channel()
    assert card.eeprom["status"] == "blank"


def _perso_points(issuer: Issuer) -> list[str]:
    card = make_blank_card(issuer.keys, b"\x07" * 8)
    card.eeprom.points_seen.clear()
    reader = SimReader()
    reader.insert(card)
    issuer.personalize(
        ApduSession(reader), asn=ASN, pin=PIN, puk=PUK,
        holder=Holder("甲", ASN.hex(), "x", dt.date(2000, 1, 1)),
        start=dt.date(2026, 1, 1), expiry=dt.date(2036, 1, 1),
    )  # fmt: skip
    return list(card.eeprom.points_seen)


def test_personalization_torn_at_every_step(issuer: Issuer) -> None:
    points = _perso_points(issuer)
    assert len(points) > 30 and "activate:commit" in points
    commit = points.index("activate:commit")
    for index in range(len(points)):
        card = make_blank_card(issuer.keys, b"\x08" * 8)
        reader = SimReader()
        reader.insert(card)
        card.eeprom.arm_tear_at(index)
        with pytest.raises(CardRemovedError):
            _personalize(issuer, reader)
        reader.insert(card)  # power-up settles the journal
        status = card.eeprom["status"]
        if index > commit:
            assert status == "active", points[index]
            assert Purse(ApduSession(reader)).holder().name == "甲"
            continue
        assert status in ("blank", "personalized"), points[index]
        # Not usable, and retryable from the start.
        with pytest.raises(ConditionsNotSatisfiedError):
            Purse(ApduSession(reader)).balance()
        _personalize(issuer, reader)
        reader.insert(card)
        assert card.eeprom["status"] == "active"
        assert _identity(reader).authenticate(trusted=[issuer.ca_cert], now=NOW).asn == ASN


def _personalize(issuer: Issuer, reader: SimReader) -> None:
    issuer.personalize(
        ApduSession(reader), asn=ASN, pin=PIN, puk=PUK,
        holder=Holder("甲", ASN.hex(), "x", dt.date(2000, 1, 1)),
        start=dt.date(2026, 1, 1), expiry=dt.date(2036, 1, 1),
    )  # fmt: skip


def test_lifecycle_blocked_and_terminated(issuer: Issuer) -> None:
    card, reader = _issue(issuer)
    psam = _psam_for(issuer)
    purse = Purse(ApduSession(reader))
    purse.block(psam)
    reader.insert(card)
    purse = Purse(ApduSession(reader))
    assert purse.blocked
    assert Identity.of(purse).pin_tries() == 3  # a clerk can still identify it
    purse.unblock(psam)
    reader.insert(card)
    purse = Purse(ApduSession(reader))
    purse.block(psam, permanent=True)
    reader.insert(card)
    with pytest.raises(ApplicationLockedError):
        Purse(ApduSession(reader))
    assert card.eeprom["status"] == "terminated"


def test_ca_key_file_is_marked_test_only(issuer: Issuer, tmp_path: Path) -> None:
    Issuer.create_test(tmp_path, Algorithm.SM4, NOW)
    pem = (tmp_path / "issuer-ca.key").read_bytes()
    assert pem.startswith(b"# TEST ONLY")
    loaded = Issuer.load(tmp_path)
    assert loaded.keys.test_only
    assert loaded.ca_cert.public_bytes(serialization.Encoding.DER)
