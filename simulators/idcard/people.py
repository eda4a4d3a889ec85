"""The identity documents the demo's reader simulator holds. TEST ONLY, invented people.

The first seven are the demo wallet's card holders (same names and birth dates as
``kiosk.demo.issuer.DEMO_CITIZENS``); the others have no citizen card yet, for the
counter's "issue a new card": a school pupil, Hong Kong, Taiwan and Macau residence
permit holders, and two foreigners with permanent residence (the 18-digit number and
the older 15-character one). Every number is well formed for its document (check
character, birth date, sex digit), as ``kiosk.counter.holder`` checks.
"""

# ruff: noqa: S106 - pass_number is a travel permit's number, not a password
from __future__ import annotations

import hashlib

from cardlib.idcard import DocumentType, IdentityDocument

__all__ = ["DEMO_DOCUMENTS", "demo_document"]

_R = DocumentType.RESIDENT
_ZJG = "江苏省苏州市张家港市公安局"
_CS = "江苏省苏州市常熟市公安局"


def _photo(number: str) -> bytes:
    # A real card's photo is 1024 bytes of WLT (a proprietary wavelet format the SAM's
    # vendor library decodes); the simulator sends the same size of stable filler.
    seed = hashlib.sha256(number.encode()).digest()
    return (seed * 32)[:1024]


def _doc(**kw: str) -> IdentityDocument:
    doc = IdentityDocument(**kw)  # type: ignore[arg-type]
    return IdentityDocument(**{**kw, "photo": _photo(doc.number)})  # type: ignore[arg-type]


DEMO_DOCUMENTS: tuple[IdentityDocument, ...] = (
    _doc(document_type=_R, name="张伟", sex="1", ethnicity="01", birth="19850314",
         address="江苏省张家港市杨舍镇人民中路88号", number="320582198503142717",
         authority=_ZJG, valid_from="20150610", valid_to="20350610"),
    _doc(document_type=_R, name="李娜", sex="2", ethnicity="01", birth="19920702",
         address="江苏省常熟市虞山街道海虞北路12号", number="320581199207020465",
         authority=_CS, valid_from="20180301", valid_to="20380301"),
    _doc(document_type=_R, name="王秀英", sex="2", ethnicity="01", birth="19481123",
         address="江苏省张家港市金港镇长江中路3号", number="320582194811230286",
         authority=_ZJG, valid_from="20100520", valid_to="长期"),
    _doc(document_type=_R, name="赵䶮", sex="1", ethnicity="01", birth="20010130",
         address="江苏省常熟市琴川街道书院街7号", number="32058120010130115X",
         authority=_CS, valid_from="20190815", valid_to="20290815"),
    _doc(document_type=_R, name="阿依古丽·买买提", sex="2", ethnicity="05", birth="19790509",
         address="新疆喀什市解放北路201号", number="653101197905090627",
         authority="新疆喀什市公安局", valid_from="20120704", valid_to="20320704"),
    _doc(document_type=_R, name="陈静", sex="2", ethnicity="01", birth="19880201",
         address="江苏省张家港市杨舍镇暨阳西路5号", number="320582198802010108",
         authority=_ZJG, valid_from="20160111", valid_to="20360111"),
    _doc(document_type=_R, name="周强", sex="1", ethnicity="01", birth="19900606",
         address="江苏省张家港市塘桥镇南京路19号", number="320582199006060213",
         authority=_ZJG, valid_from="20200909", valid_to="20400909"),
    # No citizen card yet.
    _doc(document_type=_R, name="孙浩然", sex="1", ethnicity="01", birth="20080915",
         address="江苏省张家港市杨舍镇沙洲西路66号", number="320582200809150330",
         authority=_ZJG, valid_from="20240902", valid_to="20290902"),
    _doc(document_type=DocumentType.HMT, name="陈美玲", sex="2", birth="19900420",
         address="江苏省张家港市杨舍镇港城大道100号", number="810000199004200248",
         authority=_ZJG, valid_from="20230105", valid_to="20280105",
         pass_number="H12345678", issue_count="01"),
    _doc(document_type=DocumentType.HMT, name="林志明", sex="1", birth="19751201",
         address="江苏省张家港市经济开发区国泰北路8号", number="830000197512010138",
         authority=_ZJG, valid_from="20220614", valid_to="20270614",
         pass_number="01234567", issue_count="02"),
    _doc(document_type=DocumentType.HMT, name="何嘉欣", sex="2", birth="19960808",
         address="江苏省常熟市常福街道珠江路22号", number="820000199608080066",
         authority=_CS, valid_from="20240318", valid_to="20290318",
         pass_number="M87654321", issue_count="01"),
    _doc(document_type=DocumentType.FOREIGNER_2023, name="施密特·艾玛", sex="2",
         english_name="SCHMIDT, EMMA", nationality="DEU", birth="19870621",
         number="932276198706210021", valid_from="20240401", valid_to="20340401",
         version="01"),
    _doc(document_type=DocumentType.FOREIGNER, name="史密斯·约翰", sex="1",
         english_name="SMITH, JOHN", nationality="USA", birth="19780615",
         number="USA327806150137", valid_from="20150720", valid_to="20250720",
         version="01", authority="1500"),
)  # fmt: skip


def demo_document(number_or_name: str) -> IdentityDocument:
    """The demo document with this number, name or 1-based index."""
    for n, doc in enumerate(DEMO_DOCUMENTS, start=1):
        if number_or_name in (doc.number, doc.name, str(n)):
            return doc
    raise KeyError(number_or_name)
