"""The demo world's data: its published service catalog and its citizens' bills.

TEST ONLY. Each service sits in the one group a citizen would look in.
"""

from __future__ import annotations

from typing import Any

from kiosk.demo.catalog_booking import BOOKING_GROUPS, BOOKING_SERVICES

__all__ = ["DEMO_CATALOG", "DEMO_POLL_ID", "demo_bills", "demo_poll"]


def _n(hans: str, hant: str, en: str) -> dict[str, str]:
    return {"zh-Hans": hans, "zh-Hant": hant, "en": en}


_PIN = {"kind": "pin", "max_length": 6}

DEMO_POLL_ID = "NIGHTBUS"
_POLL_QUESTION = _n(
    "是否延长夜班公交线路？", "是否延長夜班公交線路？", "Extend the night bus lines?"
)
_POLL_OPTIONS = [_n("同意", "同意", "Yes"), _n("不同意", "不同意", "No")]

# Each service sits in the one group a citizen would look in (a service is listed
# once, under its first group; a group with no service is not shown).
DEMO_CATALOG: dict[str, Any] = {
    "groups": [
        {"id": "payments", "kind": "topic", "order": 1, "names": _n("缴费", "繳費", "Payments")},
        {"id": "card", "kind": "topic", "order": 2, "names": _n("卡片服务", "卡片服務", "My card")},
        {"id": "transport", "kind": "topic", "order": 3, "names": _n("交通出行", "交通出行",
                                                                      "Transport")},
        {"id": "work", "kind": "stage", "order": 10, "names": _n("就业", "就業", "Work")},
        {"id": "elderly_health", "kind": "stage", "order": 11,
         "names": _n("养老与健康", "養老與健康", "Elderly care and health")},
        {"id": "participation", "kind": "topic", "order": 4,
         "names": _n("民意征集", "民意徵集", "Have your say")},
        *BOOKING_GROUPS,
    ],
    "services": [
        {"id": "balance", "flow": "balance", "groups": ["card"], "order": 1,
         "names": _n("余额查询", "餘額查詢", "Balance"),
         "needs": {"network": False}},
        {"id": "history", "flow": "history", "groups": ["card"], "order": 2,
         "names": _n("交易记录", "交易記錄", "Card history"), "needs": {"network": False}},
        {"id": "change_pin", "flow": "change_pin", "groups": ["card"], "order": 3,
         "names": _n("修改密码", "修改密碼", "Change PIN"), "needs": {"network": False},
         "fields": [
             {"name": "old_pin", "labels": _n("原密码", "原密碼", "Current PIN"), **_PIN},
             {"name": "new_pin", "labels": _n("新密码", "新密碼", "New PIN"), **_PIN},
             {"name": "new_pin_again", "labels": _n("再次输入新密码", "再次輸入新密碼",
                                                    "New PIN again"), **_PIN},
         ]},
        {"id": "water_bill", "flow": "bill", "groups": ["payments"], "order": 10,
         "names": _n("水费", "水費", "Water bill"), "needs": {"network": True},
         "fields": [{"name": "account", "kind": "digits", "max_length": 12,
                     "labels": _n("户号", "戶號", "Account number")}],
         "payment": {"payee": "water", "utility": "water"}},
        {"id": "electricity_bill", "flow": "bill", "groups": ["payments"], "order": 11,
         "names": _n("电费", "電費", "Electricity bill"), "needs": {"network": True},
         "fields": [{"name": "account", "kind": "digits", "max_length": 12,
                     "labels": _n("户号", "戶號", "Account number")}],
         "payment": {"payee": "electricity", "utility": "electricity"}},
        {"id": "top_up", "flow": "top_up", "groups": ["card"], "order": 12,
         "names": _n("银行卡充值", "銀行卡充值", "Top up from bank"), "needs": {"network": True},
         "fields": [{"name": "amount", "kind": "amount", "min_fen": 1000, "max_fen": 50000,
                     "labels": _n("充值金额（元）", "充值金額（元）", "Amount (yuan)")}],
         "payment": {"payee": "bank", "funding": "bank"}},
        # A fixed-price item sold offline; enabling bikes holds a deposit (bike_deposit).
        {"id": "bike_enable", "flow": "fixed_price", "groups": ["transport"], "order": 20,
         "names": _n("公共自行车日票", "公共自行車日票", "Bike day pass"),
         "payment": {"payee": "bike", "amount_fen": 1000, "offline": True}},
        # The options are the signed poll document's own words (the kiosk checks).
        {"id": "poll_night_bus", "flow": "poll", "poll": DEMO_POLL_ID,
         "groups": ["participation"], "order": 30,
         "names": _n("夜班公交意见征集", "夜班公交意見徵集", "Night bus consultation"),
         "needs": {"card": True, "network": True},
         "fields": [{"name": "choice", "kind": "choice", "labels": _POLL_QUESTION,
                     "choices": [[str(i), o] for i, o in enumerate(_POLL_OPTIONS)]}]},
        *BOOKING_SERVICES,
    ],
}  # fmt: skip


def demo_poll(now_ms: int) -> dict[str, Any]:
    """The demo's open poll (TEST ONLY): opened a day ago, closing in a week, with a
    release each day and a minimum batch of 1 (a demo kiosk has few voters)."""
    day = 86_400_000
    return {
        "poll_id": DEMO_POLL_ID, "department": "city-transport",
        "opens_ms": now_ms - day, "closes_ms": now_ms + 7 * day,
        "release_times_ms": [now_ms + k * day for k in range(1, 7)], "min_batch": 1,
        "min_age": 16, "question": _POLL_QUESTION, "options": _POLL_OPTIONS,
    }  # fmt: skip


def demo_bills(asns: list[str]) -> list[Any]:
    """One water and one electricity bill per demo citizen, accounts 1000001..."""
    from backend_sync.central.providers import BillInfo

    bills = []
    for n, _asn in enumerate(asns, start=1):
        account = f"{1_000_000 + n}"
        bills.append(BillInfo("water", account, f"W2026-10-{account}", "2026-10", 4_230 + 100 * n,
                              "张家港水务"))  # fmt: skip
        bills.append(BillInfo("electricity", account, f"E2026-10-{account}", "2026-10",
                              8_815 + 10 * n, "国网张家港供电"))  # fmt: skip
    return bills
