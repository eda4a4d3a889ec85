"""Holder data a clerk takes for a new card: identity numbers, names, documents. Pure.

Documents accepted at the counter (docs/counter.md):

- **Resident identity card** (居民身份证, GB 11643): 18 characters, a 6-digit region
  code, the birth date ``YYYYMMDD``, a 3-digit sequence whose last digit is odd for
  men and even for women, and a check character, ISO 7064 MOD 11-2 (0-9 or X).
- **Residence permit for Hong Kong, Macau and Taiwan residents** (港澳台居民居住证):
  the same 18-character form with the region code 810000 (Hong Kong), 820000 (Macau)
  or 830000 (Taiwan).
- **Foreigner's permanent residence ID card** (外国人永久居留身份证), two forms: the
  18-digit number (``9``, the province code, the 3-digit ISO 3166 numeric nationality,
  the birth date, a sequence, the MOD 11-2 check character), and the older 15
  characters (3-letter nationality, 2-digit place code, birth date ``YYMMDD``, 3-digit
  sequence, a check digit whose algorithm is not published: only the form and the
  birth date are checked).

Every refusal is a :class:`HolderError` with a :class:`HolderCode`, so the UI chooses
the words; nothing here prints or logs a whole number (``mask`` is what is kept).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from cardlib.idcard import DocumentType, IdentityDocument

__all__ = [
    "ETHNICITIES",
    "HMT_REGIONS",
    "HolderCode",
    "HolderData",
    "HolderError",
    "NumberFacts",
    "check_character",
    "check_holder",
    "check_name",
    "check_number",
    "holder_from_document",
    "mask",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2^(17-i) mod 11
_CHECK = "10X98765432"
HMT_REGIONS = {"810000": "HK", "820000": "MO", "830000": "TW"}
# GB/T 2260 province-level codes (71 Taiwan, 81 Hong Kong, 82 Macau are listed there too,
# but residents of those places hold the residence permit, not a resident card).
_PROVINCES = frozenset(
    ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
     "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
     "63", "64", "65"]
)  # fmt: skip
# ISO 3166-1 numeric → alpha-3 for the nationalities the 18-digit foreigner's number
# is checked against; a nationality not listed is taken on the document's word.
_NATIONALITY = {"036": "AUS", "076": "BRA", "124": "CAN", "250": "FRA", "276": "DEU",
                "356": "IND", "380": "ITA", "392": "JPN", "410": "KOR", "458": "MYS",
                "643": "RUS", "702": "SGP", "704": "VNM", "764": "THA", "826": "GBR",
                "840": "USA"}  # fmt: skip
# GB/T 3304 codes of China's 56 ethnic groups, in code order from 01.
_ETHNIC_NAMES = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 "
    "高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 "
    "普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 "
    "珞巴 基诺"
)
ETHNICITIES = dict(enumerate(_ETHNIC_NAMES.split(), start=1))
NAME_MAX = 15  # characters: the identity card's own name field
_NAME_CHARS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·]+")
_LATIN_NAME = re.compile(r"[A-Z][A-Z ,.'-]*")


class HolderCode(StrEnum):
    """Why holder data was refused (the UI words each one)."""

    NUMBER_LENGTH = "number_length"
    NUMBER_FORMAT = "number_format"
    NUMBER_CHECK = "number_check"  # the check character does not match
    NUMBER_REGION = "number_region"  # region code not one this document has
    NUMBER_BIRTH = "number_birth"  # the date inside the number is not a date
    BIRTH_MISMATCH = "birth_mismatch"  # the number's date is not the birth date given
    BIRTH_FUTURE = "birth_future"
    SEX_MISMATCH = "sex_mismatch"
    NATIONALITY_MISMATCH = "nationality_mismatch"
    NAME_MISSING = "name_missing"
    NAME_TOO_LONG = "name_too_long"
    NAME_CHARACTERS = "name_characters"
    DOCUMENT_EXPIRED = "document_expired"
    DOCUMENT_DATES = "document_dates"  # validity dates that are not dates


class HolderError(ValueError):
    """Holder data refused; ``code`` says why."""

    def __init__(self, code: HolderCode, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code


@dataclass(frozen=True)
class NumberFacts:
    """What a well-formed number says about its holder."""

    birth: dt.date
    sex: str | None  # "1" male, "2" female; None where the number does not say
    region: str  # region / province code, or HK / MO / TW, or the nationality


@dataclass(frozen=True)
class HolderData:
    """The holder of a new card, as the clerk confirms it."""

    document_type: DocumentType
    number: str
    name: str
    birth: dt.date
    sex: str = ""
    english_name: str = ""
    address: str = ""
    valid_to: str = ""  # YYYYMMDD, 长期, or "" when typed without the document's dates

    @property
    def masked(self) -> str:
        return mask(self.number)


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of 17 digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise HolderError(HolderCode.NUMBER_FORMAT, "17 digits expected")
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def mask(number: str) -> str:
    """The number as cards, receipts and logs keep it: six, stars, four."""
    if len(number) < 11:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def _date(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise HolderError(
            HolderCode.NUMBER_BIRTH, "the number's birth date is not a date"
        ) from None


def _eighteen(number: str) -> None:
    if len(number) != 18:
        raise HolderError(HolderCode.NUMBER_LENGTH, f"{len(number)} characters, 18 expected")
    if not (
        number.isascii() and number[:17].isdigit() and (number[17].isdigit() or number[17] == "X")
    ):
        raise HolderError(HolderCode.NUMBER_FORMAT, "17 digits and a digit or X expected")
    if check_character(number[:17]) != number[17]:
        raise HolderError(HolderCode.NUMBER_CHECK)


def check_number(
    document_type: DocumentType,
    number: str,
    *,
    birth: dt.date | None = None,
    sex: str | None = None,
    nationality: str | None = None,
    today: dt.date | None = None,
) -> NumberFacts:
    """Check ``number`` for ``document_type`` and against what else is known of its
    holder; returns what the number says. Raises :class:`HolderError`."""
    number = number.strip().upper()  # a typed x is the check character X
    if document_type is DocumentType.FOREIGNER:
        facts = _old_foreigner(number, birth)
    else:
        _eighteen(number)
        facts = NumberFacts(
            _date(number[6:14]), "1" if int(number[16]) % 2 else "2", _region(document_type, number)
        )
    if document_type is DocumentType.FOREIGNER_2023 and nationality:
        known = _NATIONALITY.get(number[3:6])
        if known is not None and known != nationality:
            raise HolderError(HolderCode.NATIONALITY_MISMATCH, f"{number[3:6]} is {known}")
    if birth is not None and facts.birth != birth:
        raise HolderError(HolderCode.BIRTH_MISMATCH)
    if today is not None and facts.birth > today:
        raise HolderError(HolderCode.BIRTH_FUTURE)
    if sex and facts.sex is not None and sex != facts.sex:
        raise HolderError(HolderCode.SEX_MISMATCH)
    return facts


def _region(document_type: DocumentType, number: str) -> str:
    if document_type is DocumentType.HMT:
        if number[:6] not in HMT_REGIONS:
            raise HolderError(HolderCode.NUMBER_REGION, "810000, 820000 or 830000 expected")
        return HMT_REGIONS[number[:6]]
    if document_type is DocumentType.FOREIGNER_2023:
        if number[0] != "9" or number[1:3] not in _PROVINCES:
            raise HolderError(HolderCode.NUMBER_REGION, "9 and a province code expected")
        return number[3:6]
    if number[:2] not in _PROVINCES:
        raise HolderError(HolderCode.NUMBER_REGION, f"province {number[:2]} unknown")
    return number[:6]


def _old_foreigner(number: str, birth: dt.date | None) -> NumberFacts:
    if len(number) != 15:
        raise HolderError(HolderCode.NUMBER_LENGTH, f"{len(number)} characters, 15 expected")
    if not re.fullmatch(r"[A-Z]{3}[0-9]{12}", number):
        raise HolderError(HolderCode.NUMBER_FORMAT, "3 letters and 12 digits expected")
    yymmdd = number[5:11]
    if birth is not None:
        if birth.strftime("%y%m%d") != yymmdd:
            raise HolderError(HolderCode.BIRTH_MISMATCH)
        return NumberFacts(birth, None, number[:3])
    # Without a birth date the century is a guess: the latest one not in the future.
    year = 2000 + int(yymmdd[:2])
    if year > dt.date.today().year:
        year -= 100
    return NumberFacts(_date(f"{year}{yymmdd[2:]}"), None, number[:3])


def check_name(name: str, *, latin: bool = False) -> str:
    """The name trimmed, or :class:`HolderError`: Chinese characters (CJK, Extension A,
    the middle dot of transcribed names), or capital Latin letters when ``latin``."""
    name = name.strip()
    if not name:
        raise HolderError(HolderCode.NAME_MISSING)
    if latin:
        if len(name) > 60 or not _LATIN_NAME.fullmatch(name):
            raise HolderError(HolderCode.NAME_CHARACTERS, "capital Latin letters expected")
        return name
    if len(name) > NAME_MAX:
        raise HolderError(HolderCode.NAME_TOO_LONG, f"{len(name)} characters, {NAME_MAX} at most")
    if not _NAME_CHARS.fullmatch(name) or name.startswith("·") or name.endswith("·"):
        raise HolderError(HolderCode.NAME_CHARACTERS)
    return name


def check_holder(data: HolderData, *, today: dt.date) -> HolderData:
    """The whole record checked (number, name, dates); returns it normalized."""
    foreign = data.document_type in (DocumentType.FOREIGNER, DocumentType.FOREIGNER_2023)
    number = data.number.strip().upper()
    check_number(data.document_type, number, birth=data.birth, sex=data.sex or None, today=today)
    if foreign and not data.name.strip():
        name = ""  # a foreigner's card may carry no Chinese name: the English one serves
        check_name(data.english_name, latin=True)
    else:
        name = check_name(data.name)
    if data.valid_to and data.valid_to != "长期":
        try:
            end = dt.datetime.strptime(data.valid_to, "%Y%m%d").date()
        except ValueError:
            raise HolderError(HolderCode.DOCUMENT_DATES) from None
        if end < today:
            raise HolderError(HolderCode.DOCUMENT_EXPIRED, f"valid to {end.isoformat()}")
    return HolderData(data.document_type, number, name, data.birth, data.sex,
                      data.english_name.strip(), data.address.strip(), data.valid_to)  # fmt: skip


def holder_from_document(doc: IdentityDocument, *, today: dt.date) -> HolderData:
    """The holder read off a document by the reader, checked like typed data."""
    birth = doc.birth_date()
    if birth is None:
        raise HolderError(HolderCode.NUMBER_BIRTH, "the document's birth date is not a date")
    if doc.document_type is DocumentType.FOREIGNER_2023 and doc.nationality:
        check_number(doc.document_type, doc.number, nationality=doc.nationality)
    data = HolderData(doc.document_type, doc.number, doc.name, birth, doc.sex,
                      doc.english_name, doc.address, doc.valid_to)  # fmt: skip
    return check_holder(data, today=today)
