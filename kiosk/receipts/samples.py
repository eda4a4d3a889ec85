"""Seeded sample receipts: the same seed gives the same documents, byte for byte.

Used by the tests, the benchmark and ``scripts/receipt_samples.py`` (the PNGs in
docs/). Names include rare characters and the data full-width punctuation, on purpose.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from drivers.printer.document import Document
from kiosk.receipts.formatting import LOCAL_TZ
from kiosk.receipts.layouts import (
    BillPayment,
    CardHolder,
    FinePayment,
    Purchase,
    Receipt,
    ReceiptKind,
    Signer,
    Terminal,
    TestPage,
    TopUp,
    Utility,
    build_receipt,
    build_test_page,
)

_NAMES = ("刘龑", "张喆", "王堃", "陈赟", "李淼", "周頫", "Ada Lovelace")
_MERCHANTS = ("张家港市公共自行车", "常熟图书馆（文印）", "市民中心·便民超市")
_ITEMS = ("年卡开通", "复印 A4×10", "矿泉水、面包")
_LOCATIONS = ("张家港市民中心一楼 3号机", "常熟市政务服务中心「东厅」")
_BILLERS = {
    Utility.WATER: "张家港水务集团",
    Utility.ELECTRICITY: "国网张家港供电公司",
    Utility.GAS: "港华燃气（张家港）",
}
_VIOLATIONS = ("机动车违反禁止标线指示的", "驾驶中使用手机等妨碍安全驾驶的")


@dataclass(frozen=True)
class SampleSet:
    """One sample context: who, where, and the card."""

    terminal: Terminal
    card: CardHolder


def sample_context(seed: int) -> SampleSet:
    """The terminal and card for ``seed``."""
    rng = random.Random(seed)
    number = "3205" + "".join(str(rng.randrange(10)) for _ in range(12))
    return SampleSet(
        terminal=Terminal(f"KSK-{rng.randrange(1, 9999):04d}", rng.choice(_LOCATIONS)),
        card=CardHolder(number, rng.choice(_NAMES)),
    )


def sample_documents(
    seed: int, signer: Signer, *, language: str, profile_name: str = "gb18030-80mm"
) -> dict[ReceiptKind, Document]:
    """Every receipt kind for ``seed`` in ``language``, signed with ``signer``."""
    rng = random.Random(seed * 7919 + 1)
    ctx = sample_context(seed)
    base = dt.datetime(2026, 11, 28, 13, 30, tzinfo=LOCAL_TZ)

    def at(minutes: int) -> dt.datetime:
        return base + dt.timedelta(minutes=minutes, seconds=rng.randrange(60))

    def txn(n: int) -> str:
        return f"T{base:%Y%m%d}-{ctx.terminal.terminal_id[-4:]}-{n:06d}"

    balance = rng.randrange(60_000, 90_000)
    top_up = rng.choice((5_000, 10_000, 20_000))
    purchase = rng.randrange(100, 3_000)
    bill = rng.randrange(1_000, 30_000)
    fine, late = 20_000, rng.choice((0, 1_000))
    receipts: dict[ReceiptKind, Receipt] = {
        ReceiptKind.TOP_UP: TopUp(
            top_up,
            balance,
            balance + top_up,
            txn(1),
            at(0),
            funding_account="中国工商银行 **** 4521",
        ),
        ReceiptKind.PURCHASE: Purchase(
            rng.choice(_MERCHANTS),
            rng.choice(_ITEMS),
            purchase,
            balance + top_up - purchase,
            txn(2),
            rng.randrange(1, 100_000),
            at(3),
        ),
        ReceiptKind.BILL_PAYMENT: BillPayment(
            utility := rng.choice(list(Utility)),
            _BILLERS[utility],
            f"{rng.randrange(10**9, 10**10)}",
            "2026-10",
            bill,
            balance + top_up - purchase - bill,
            txn(3),
            at(5),
        ),
        ReceiptKind.FINE_PAYMENT: FinePayment(
            f"3205821{rng.randrange(10**11, 10**12)}",
            f"苏E·{rng.choice('ABCDF')}{rng.randrange(10000, 99999)}",
            rng.choice(_VIOLATIONS),
            fine,
            late,
            balance + top_up - purchase - bill - fine - late,
            txn(4),
            at(8),
        ),
    }
    docs: dict[ReceiptKind, Document] = {
        kind: build_receipt(
            r, terminal=ctx.terminal, card=ctx.card, signer=signer, language=language
        )
        for kind, r in receipts.items()
    }
    docs[ReceiptKind.TEST_PAGE] = build_test_page(
        TestPage(profile_name, txn(9), at(10)),
        terminal=ctx.terminal,
        signer=signer,
        language=language,
    )
    return docs
