"""Making simulated cards: the chip's EEPROM image as the issuer leaves it.

Until personalization through the card's own commands exists (identity issue),
demo and test cards are written here directly into simulator state, with keys
diversified from the issuer's TEST ONLY master keys exactly as a card would hold them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from cardlib.crypto import diversify
from cardlib.identity import PIN_TRIES, PUK_TRIES, pin_block
from cardlib.keys import IssuerKeys, KeyRole
from cardlib.layout import Holder, PublicInfo
from simulators.card.os import DEFAULT_ATR, CardStatus, CitizenCard
from simulators.eeprom import Eeprom

__all__ = ["DEMO_ISSUER_ID", "make_blank_card", "make_card"]

DEMO_ISSUER_ID = bytes.fromhex("3215000000000001")  # a Suzhou-area issuer code, TEST ONLY


def make_card(
    keys: IssuerKeys,
    asn: bytes,
    holder: Holder,
    *,
    balance: int = 0,
    overdraft_limit: int = 0,
    max_balance: int = 100_000,
    key_version: int = 1,
    start: date = date(2025, 1, 1),
    expiry: date = date(2035, 12, 31),
    offline_atc: int = 0,
    online_atc: int = 0,
    pin: str = "123456",
    puk: str = "12345678",
    purchase_needs_pin: bool = False,
    path: Path | None = None,
) -> Eeprom:
    """An ACTIVE card's EEPROM image written directly (for tests of the purse alone; it
    has a card key pair but no certificate). Real issuance goes through the card's own
    personalization commands (kiosk.demo.issuer)."""
    if len(asn) != 10:
        raise ValueError("ASN is 10 bytes")
    if not -overdraft_limit <= balance <= max_balance:
        raise ValueError("balance outside [-overdraft, maximum]")
    card_keys = keys.card_keys(asn, key_version)
    # FCI discretionary bytes: key version || algorithm id (docs/card-spec.md).
    fci = bytes([key_version, int(keys.algorithm)])
    issuer_id = keys.issuer_id or DEMO_ISSUER_ID  # a two-level tree names its issuer
    public = PublicInfo(issuer_id=issuer_id, asn=asn, start=start, expiry=expiry, fci=fci)
    card_key = ec.generate_private_key(ec.SECP256R1())
    fields = {
        "atr": DEFAULT_ATR.hex().upper(),
        "public_info": public.to_bytes().hex().upper(),
        "holder": holder.to_bytes().hex().upper(),
        "keys": {
            "1": {
                "version": key_version,
                "alg": int(keys.algorithm),
                **{role.value: key.hex().upper() for role, key in card_keys.keys.items()},
            }
        },
        "balance": balance,
        "overdraft_limit": overdraft_limit,
        "max_balance": max_balance,
        "offline_atc": offline_atc,
        "online_atc": online_atc,
        "log": [],
        "last": None,
        "status": CardStatus.ACTIVE,
        "pin": pin_block(pin).hex().upper(),
        "puk": pin_block(puk, 8).hex().upper(),
        "pin_tries": PIN_TRIES,
        "puk_tries": PUK_TRIES,
        "purchase_needs_pin": purchase_needs_pin,  # the passbook (ED) rule; PBOC EP: no
        "ec_private": f"{card_key.private_numbers().private_value:064X}",
        "certificate": "",
    }
    eeprom = Eeprom(fields, path)
    eeprom.save()
    return eeprom


def make_blank_card(
    keys: IssuerKeys, chip_serial: bytes, *, path: Path | None = None
) -> CitizenCard:
    """A blank chip as the card factory delivers it: a serial number and the
    personalization key diversified from the issuer's personalization master."""
    if len(chip_serial) != 8:
        raise ValueError("chip serial is 8 bytes")
    perso_key = diversify(keys.master(KeyRole.PERSONALIZATION, 1), chip_serial, keys.algorithm)
    fields = {
        "atr": DEFAULT_ATR.hex().upper(),
        "chip_serial": chip_serial.hex().upper(),
        "perso_key": perso_key.hex().upper(),
        "perso_alg": int(keys.algorithm),
        "staging": {},
        "status": CardStatus.BLANK,
    }
    eeprom = Eeprom(fields, path)
    eeprom.save()
    return CitizenCard(eeprom)
