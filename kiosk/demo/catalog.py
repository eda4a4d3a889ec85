"""The demo world's data: its published service catalog and its poll (the citizens'
bills, fines and statements are the department simulator's).

TEST ONLY. Each service sits in the one group a citizen would look in.
"""

from __future__ import annotations

from typing import Any

from kiosk.demo.catalog_booking import BOOKING_SERVICES

__all__ = [
    "DEMO_CATALOG",
    "DEMO_FEEDBACK_CATEGORIES",
    "DEMO_POLL_ID",
    "demo_poll",
]


def _n(hans: str, hant: str, en: str) -> dict[str, str]:
    return {"zh-Hans": hans, "zh-Hant": hant, "en": en}


_PIN = {"kind": "pin", "max_length": 6}
# Empty: the card holder's own household; or any account typed, as at a counter.
_ACCOUNT = {"name": "account", "kind": "digits", "max_length": 12, "required": False,
            "labels": _n("户号（不填则查本人）", "戶號（不填則查本人）",
                         "Account no. (empty: your own)")}  # fmt: skip

DEMO_POLL_ID = "NIGHTBUS"
_POLL_QUESTION = _n(
    "是否延长夜班公交线路？", "是否延長夜班公交線路？", "Extend the night bus lines?"
)
_POLL_OPTIONS = [_n("同意", "同意", "Yes"), _n("不同意", "不同意", "No")]

# The central's feedback categories (backend_sync.central.feedback.rules), routed
# to the demo's departments (the staff console's "water" and "transit" logins).
DEMO_FEEDBACK_CATEGORIES: list[dict[str, Any]] = [
    {"code": "water.quality", "department": "water", "deadline_days": 3, "importance": 2,
     "names": _n("水质问题", "水質問題", "Water quality")},
    {"code": "water.supply", "department": "water", "deadline_days": 2, "importance": 3,
     "names": _n("停水与水压", "停水與水壓", "Water supply")},
    {"code": "bus.route", "department": "city-transport", "deadline_days": 5, "importance": 1,
     "names": _n("公交线路", "公車路線", "Bus routes")},
    {"code": "policy.social", "department": "social-security", "deadline_days": 2,
     "importance": 2, "names": _n("社保政策咨询", "社保政策諮詢", "Social security policy")},
]  # fmt: skip

_YES_NO = [["yes", _n("同意公开", "同意公開", "Yes, publish")],
           ["no", _n("不公开", "不公開", "No")]]  # fmt: skip
FEEDBACK_FIELDS: list[dict[str, Any]] = [
    {"name": "ftype", "kind": "choice", "labels": _n("类别", "類別", "What is it?"),
     "choices": [["ask", _n("咨询", "諮詢", "A question")],
                 ["report", _n("反映问题", "反映問題", "Report a problem")],
                 ["suggest", _n("建议", "建議", "A suggestion")]]},
    # The kiosk lists the central's categories here (kiosk/flows/feedback.py); these
    # are only for a kiosk that has not downloaded them yet.
    {"name": "category", "kind": "choice", "labels": _n("事项", "事項", "Subject"),
     "choices": [[c["code"], c["names"]] for c in DEMO_FEEDBACK_CATEGORIES]},
    {"name": "urgency", "kind": "choice", "labels": _n("紧急程度", "緊急程度", "How urgent?"),
     "choices": [["1", _n("一般", "一般", "Normal")], ["2", _n("较急", "較急", "Soon")],
                 ["3", _n("紧急", "緊急", "Urgent")]]},
    {"name": "body", "kind": "text", "max_length": 64,
     "labels": _n("内容", "內容", "Your message")},
    {"name": "place", "kind": "text", "max_length": 40, "required": False,
     "labels": _n("地点", "地點", "Place")},
    {"name": "identity", "kind": "choice",
     "labels": _n("部门能否看到您的姓名（均凭卡核验）", "部門能否看到您的姓名（均憑卡核驗）",
                  "May the department see your name? (your card vouches either way)"),
     "choices": [["named", _n("显示姓名", "顯示姓名", "Show my name")],
                 ["pseudonymous", _n("不显示姓名", "不顯示姓名", "Do not show my name")]]},
    {"name": "publish", "kind": "choice",
     "labels": _n("内容和地点可否在网上公开", "內容和地點可否在網上公開",
                  "Publish the text and place online?"), "choices": _YES_NO},
]  # fmt: skip
_TRACKING = {"name": "tracking", "kind": "code", "max_length": 19,
             "labels": _n("受理编号", "受理編號", "Tracking number")}  # fmt: skip

# Each service sits in the one group a citizen would look in (a service is listed
# once, under its first group; a group with no service is not shown).
DEMO_CATALOG: dict[str, Any] = {
    "groups": [
        {"id": "payments", "kind": "topic", "order": 1, "names": _n("缴费", "繳費", "Payments")},
        {"id": "card", "kind": "topic", "order": 2, "names": _n("卡片服务", "卡片服務", "My card")},
        {"id": "transport", "kind": "topic", "order": 3, "names": _n("交通出行", "交通出行",
                                                                      "Transport")},
        {"id": "government", "kind": "topic", "order": 5,
         "names": _n("政务办事", "政務辦事", "Government affairs")},
        # Life stages, as the cities' platforms group their services.
        {"id": "children_education", "kind": "stage", "order": 9,
         "names": _n("子女与教育", "子女與教育", "Children and education")},
        {"id": "work", "kind": "stage", "order": 10, "names": _n("就业", "就業", "Work")},
        {"id": "elderly_health", "kind": "stage", "order": 11,
         "names": _n("养老与健康", "養老與健康", "Elderly care and health")},
        {"id": "participation", "kind": "topic", "order": 4,
         "names": _n("民意征集", "民意徵集", "Have your say")},
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
        {"id": "water_bill", "flow": "utility", "groups": ["payments"], "order": 10,
         "names": _n("水费", "水費", "Water bill"), "needs": {"network": True},
         "fields": [_ACCOUNT], "payment": {"payee": "water", "utility": "water",
                     "biller": "张家港水务"}},
        {"id": "electricity_bill", "flow": "utility", "groups": ["payments"], "order": 11,
         "names": _n("电费", "電費", "Electricity bill"), "needs": {"network": True},
         "fields": [_ACCOUNT], "payment": {"payee": "electricity", "utility": "electricity",
                     "biller": "国网张家港供电"}},
        {"id": "gas_bill", "flow": "utility", "groups": ["payments"], "order": 13,
         "names": _n("燃气费", "燃氣費", "Gas bill"), "needs": {"network": True},
         "fields": [_ACCOUNT], "payment": {"payee": "gas", "utility": "gas",
                     "biller": "华润燃气"}},
        # City services from the departments' systems (through the central).
        {"id": "social_security", "flow": "social_security", "order": 40,
         "groups": ["elderly_health", "work"],
         "names": _n("社保查询", "社保查詢", "Social security"), "needs": {"network": True}},
        {"id": "housing_fund", "flow": "housing_fund", "groups": ["work"], "order": 41,
         "names": _n("公积金查询", "公積金查詢", "Housing fund"), "needs": {"network": True}},
        {"id": "traffic_fines", "flow": "traffic", "groups": ["transport"], "order": 21,
         "names": _n("交通违法缴款", "交通違法繳款", "Traffic fines"), "needs": {"network": True},
         "payment": {"payee": "traffic"}},
        {"id": "application_progress", "flow": "application_progress", "order": 50,
         "groups": ["government"],
         "names": _n("办件进度查询", "辦件進度查詢", "Application progress"),
         "needs": {"network": True},
         "fields": [{"name": "number", "kind": "text", "required": False, "max_length": 16,
                     "labels": _n("申请编号（不填则查全部）", "申請編號（不填則查全部）",
                                  "Application no. (empty: all of yours)")}]},
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
        {"id": "feedback", "flow": "feedback", "groups": ["participation"], "order": 31,
         "names": _n("咨询投诉建议", "諮詢投訴建議", "Ask, report, suggest"),
         "needs": {"card": True, "network": False}, "fields": FEEDBACK_FIELDS},
        {"id": "feedback_lookup", "flow": "feedback_lookup", "groups": ["participation"],
         "order": 32, "names": _n("查询办理进度", "查詢辦理進度", "Follow up my case"),
         "needs": {"card": True, "network": True},
         "fields": [{**_TRACKING, "required": False,
                     "labels": _n("受理编号（不填则查本卡）", "受理編號（不填則查本卡）",
                                  "Tracking number (empty: this card's cases)")}]},
        {"id": "feedback_rate", "flow": "feedback_rate", "groups": ["participation"],
         "order": 33, "names": _n("评价答复", "評價答覆", "Rate an answer"),
         "needs": {"card": True, "network": True},
         "fields": [_TRACKING,
                    {"name": "verdict", "kind": "choice",
                     "labels": _n("您对答复是否满意", "您對答覆是否滿意", "Are you satisfied?"),
                     "choices": [["satisfied", _n("满意", "滿意", "Satisfied")],
                                 ["unsatisfied", _n("不满意（重新办理）", "不滿意（重新辦理）",
                                                    "Not satisfied (reopen)")]]}]},
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
