"""Holder data checks: numbers of every document, names, dates; each refusal its code."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardlib.idcard import DocumentType
from kiosk.counter.holder import (
    ETHNICITIES,
    HolderCode,
    HolderData,
    HolderError,
    check_character,
    check_holder,
    check_name,
    check_number,
    holder_from_document,
    mask,
)
from kiosk.demo.issuer import DEMO_CITIZENS
from simulators.idcard import DEMO_DOCUMENTS

TODAY = dt.date(2026, 12, 2)
R, HMT = DocumentType.RESIDENT, DocumentType.HMT
F15, F18 = DocumentType.FOREIGNER, DocumentType.FOREIGNER_2023


def _code(call: object, *a: object, **kw: object) -> HolderCode:
    with pytest.raises(HolderError) as info:
        call(*a, **kw)  # type: ignore[operator]
    return info.value.code


def test_check_character_on_the_standards_example() -> None:
    # GB 11643-1999's worked example: 11010519491231002 → X.
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"


def test_every_demo_document_passes_and_matches_the_demo_wallet() -> None:
    births = {p.name.split(" ")[-1]: p.birth for p in DEMO_CITIZENS}
    for doc in DEMO_DOCUMENTS:
        holder = holder_from_document(doc, today=dt.date(2024, 12, 1))
        if doc.name in births:
            assert holder.birth == births[doc.name]
    assert ETHNICITIES[1] == "汉" and ETHNICITIES[5] == "维吾尔" and len(ETHNICITIES) == 56


def test_resident_numbers() -> None:
    facts = check_number(R, "320582198503142717", birth=dt.date(1985, 3, 14), sex="1")
    assert facts.region == "320582" and facts.sex == "1"
    assert check_number(R, "32058120010130115x").birth == dt.date(2001, 1, 30)  # typed x
    assert _code(check_number, R, "32058219850314271") == HolderCode.NUMBER_LENGTH
    assert _code(check_number, R, "3205821985031427A7") == HolderCode.NUMBER_FORMAT
    assert _code(check_number, R, "320582198503142718") == HolderCode.NUMBER_CHECK
    bad_date = "32058219850230271"
    assert _code(check_number, R, bad_date + check_character(bad_date)) == HolderCode.NUMBER_BIRTH
    assert (
        _code(check_number, R, "320582198503142717", birth=dt.date(1985, 3, 15))
        == HolderCode.BIRTH_MISMATCH
    )
    assert _code(check_number, R, "320582198503142717", sex="2") == HolderCode.SEX_MISMATCH
    future = "32058220301212001"
    assert (
        _code(check_number, R, future + check_character(future), today=TODAY)
        == HolderCode.BIRTH_FUTURE
    )
    # A Hong Kong permit's number is not a resident card's.
    assert _code(check_number, R, "810000199004200248") == HolderCode.NUMBER_REGION


def test_hmt_permits() -> None:
    assert check_number(HMT, "810000199004200248").region == "HK"
    assert check_number(HMT, "820000199608080066").region == "MO"
    assert check_number(HMT, "830000197512010138").region == "TW"
    assert _code(check_number, HMT, "320582198503142717") == HolderCode.NUMBER_REGION
    first = "84000019900420024"
    assert _code(check_number, HMT, first + check_character(first)) == HolderCode.NUMBER_REGION


def test_foreigners_permanent_residence_numbers() -> None:
    facts = check_number(F18, "932276198706210021", nationality="DEU")
    assert facts.region == "276" and facts.birth == dt.date(1987, 6, 21)
    assert (
        _code(check_number, F18, "932276198706210021", nationality="USA")
        == HolderCode.NATIONALITY_MISMATCH
    )
    assert _code(check_number, F18, "832276198706210021") == HolderCode.NUMBER_CHECK
    first = "81227619870621002"
    assert _code(check_number, F18, first + check_character(first)) == HolderCode.NUMBER_REGION
    # The older 15 characters: form and birth date (its check digit's rule is not public).
    assert check_number(F15, "USA327806150137").birth == dt.date(1978, 6, 15)
    assert check_number(F15, "USA327806150137", birth=dt.date(1978, 6, 15)).region == "USA"
    assert (
        _code(check_number, F15, "USA327806150137", birth=dt.date(1978, 6, 16))
        == HolderCode.BIRTH_MISMATCH
    )
    assert _code(check_number, F15, "US3327806150137") == HolderCode.NUMBER_FORMAT
    assert _code(check_number, F15, "USA32780615013") == HolderCode.NUMBER_LENGTH
    assert _code(check_number, F15, "USA327813350137") == HolderCode.NUMBER_BIRTH


def test_names() -> None:
    assert check_name(" 阿依古丽·买买提 ") == "阿依古丽·买买提"
    assert check_name("赵䶮") == "赵䶮"
    assert _code(check_name, "  ") == HolderCode.NAME_MISSING
    assert _code(check_name, "张" * 16) == HolderCode.NAME_TOO_LONG
    assert _code(check_name, "Zhang Wei") == HolderCode.NAME_CHARACTERS
    assert _code(check_name, "·张伟") == HolderCode.NAME_CHARACTERS
    assert _code(check_name, "张伟1") == HolderCode.NAME_CHARACTERS
    assert check_name("SMITH, JOHN", latin=True) == "SMITH, JOHN"
    assert _code(check_name, "smith", latin=True) == HolderCode.NAME_CHARACTERS


def test_whole_records_and_validity() -> None:
    base = HolderData(R, "320582198503142717", "张伟", dt.date(1985, 3, 14), "1",
                      valid_to="20350610")  # fmt: skip
    assert check_holder(base, today=TODAY).masked == "320582********2717"
    expired = dataclasses.replace(base, valid_to="20261201")
    assert _code(check_holder, expired, today=TODAY) == HolderCode.DOCUMENT_EXPIRED
    assert (
        _code(check_holder, dataclasses.replace(base, valid_to="2035x610"), today=TODAY)
        == HolderCode.DOCUMENT_DATES
    )
    assert check_holder(dataclasses.replace(base, valid_to="长期"), today=TODAY).name == "张伟"
    # A foreigner without a Chinese name is known by the English one.
    foreign = HolderData(F18, "932276198706210021", "", dt.date(1987, 6, 21), "2",
                         english_name="SCHMIDT, EMMA")  # fmt: skip
    assert check_holder(foreign, today=TODAY).english_name == "SCHMIDT, EMMA"
    assert mask("USA327806150137") == "USA327*****0137" and mask("123") == "***"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(DocumentType)), st.text(max_size=24))
def test_any_text_is_refused_with_a_code_or_accepted(kind: DocumentType, text: str) -> None:
    try:
        check_number(kind, text, today=TODAY)
    except HolderError as exc:
        assert isinstance(exc.code, HolderCode)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_one_changed_digit_is_always_caught(first: str) -> None:
    number = first + check_character(first)
    for i in range(17):
        changed = number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1 :]
        assert check_character(changed[:17]) != changed[17]
