"""Reader roles by name pattern or ATR; production refuses virtual readers."""

from __future__ import annotations

import pytest

from drivers.pcsc_select import (
    ReaderConfig,
    ReaderRule,
    ReaderSelectionError,
    choose_readers,
    is_virtual,
)

CARD_ATR = bytes.fromhex("3B8880014349564943415244")
PSAM_ATR = bytes.fromhex("3B8880014349564950534D31")
KIOSK = {
    "ACS ACR1281 1S Dual Reader [ACR1281 1S Dual Reader PICC] 00 00": CARD_ATR,
    "ACS ACR1281 1S Dual Reader [ACR1281 1S Dual Reader SAM] 00 01": PSAM_ATR,
}
VPCD = {"Virtual PCD 00 00": CARD_ATR, "Virtual PCD 00 01": PSAM_ATR}


def test_roles_by_name_pattern() -> None:
    config = ReaderConfig(card=ReaderRule(name="*picc*"), psam=ReaderRule(name="*sam]*"))
    chosen = choose_readers(KIOSK, config)
    assert chosen.card.endswith("PICC] 00 00")
    assert chosen.psam.endswith("SAM] 00 01")


def test_psam_by_atr_leaves_the_other_reader_to_the_card() -> None:
    config = ReaderConfig(psam=ReaderRule(atr="3B 88 80 01 43 49 56 49 50 ?? ?? ??"))
    chosen = choose_readers({**KIOSK}, config)
    assert chosen.psam.endswith("SAM] 00 01")
    assert chosen.card.endswith("PICC] 00 00")


def test_atr_prefix_pattern_and_empty_reader() -> None:
    rule = ReaderRule(atr="3B8880*")
    assert rule.matches("r", CARD_ATR)
    assert not rule.matches("r", None)
    assert not ReaderRule(atr="3B00*").matches("r", CARD_ATR)
    with pytest.raises(ValueError, match="ATR pattern"):
        ReaderRule(atr="3B8")


def test_ambiguity_is_an_error_not_a_guess() -> None:
    with pytest.raises(ReaderSelectionError, match="2 readers match the card rule"):
        choose_readers(KIOSK, ReaderConfig())


def test_missing_reader_is_named() -> None:
    config = ReaderConfig(card=ReaderRule(name="*picc*"), psam=ReaderRule(name="*omnikey*"))
    with pytest.raises(ReaderSelectionError, match="no PSAM reader matches name '\\*omnikey\\*'"):
        choose_readers(KIOSK, config)


def test_production_refuses_virtual_readers_and_says_so() -> None:
    config = ReaderConfig(card=ReaderRule(name="*00 00"), psam=ReaderRule(name="*00 01"))
    assert is_virtual("Virtual PCD 00 00")
    assert not is_virtual(next(iter(KIOSK)))
    with pytest.raises(ReaderSelectionError, match="virtual readers refused"):
        choose_readers(VPCD, config)
    allowed = ReaderConfig(card=config.card, psam=config.psam, allow_virtual=True)
    assert choose_readers(VPCD, allowed).card == "Virtual PCD 00 00"


def test_config_from_mapping() -> None:
    config = ReaderConfig.from_mapping({"psam_atr": "3B88*", "allow_virtual_readers": True})
    assert config.psam == ReaderRule(atr="3B88*")
    assert config.allow_virtual
    assert not ReaderConfig.from_mapping({}).allow_virtual  # production by default
    with pytest.raises(ValueError, match="unknown reader settings: card_raeder"):
        ReaderConfig.from_mapping({"card_raeder": "x"})
