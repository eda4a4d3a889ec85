"""The console's words in zh-Hans, zh-Hant and en (staff in Guangdong may read
Traditional). One table; a missing word is a test failure, not a fallback."""

from __future__ import annotations

__all__ = ["LANGUAGES", "TEXTS", "t"]

LANGUAGES = ("zh-Hans", "zh-Hant", "en")

TEXTS: dict[str, tuple[str, str, str]] = {
    "title": ("市民卡管理台", "市民卡管理台", "civicard staff console"),
    "login": ("登录", "登入", "Log in"),
    "logout": ("退出", "登出", "Log out"),
    "username": ("用户名", "使用者名稱", "Username"),
    "password": ("密码", "密碼", "Password"),
    "bad_login": ("用户名或密码错误。", "使用者名稱或密碼錯誤。", "Wrong username or password."),
    "too_many_attempts": (
        "尝试次数过多，请15分钟后再试。",
        "嘗試次數過多，請15分鐘後再試。",
        "Too many attempts. Try again in 15 minutes.",
    ),
    "csrf": (
        "页面已过期，请重新提交。",
        "頁面已過期，請重新提交。",
        "This page expired. Please submit it again.",
    ),
    "forbidden": (
        "您的角色无权查看此页。",
        "您的角色無權查看此頁。",
        "Your role may not open this page.",
    ),
    "home": ("首页", "首頁", "Home"),
    "welcome": ("欢迎", "歡迎", "Welcome"),
    "role": ("角色", "角色", "Role"),
    "department": ("部门", "部門", "Department"),
    "hotlist": ("黑名单", "黑名單", "Hotlist"),
    "card_asn": ("卡号（ASN）", "卡號（ASN）", "Card (ASN)"),
    "status": ("状态", "狀態", "Status"),
    "reason": ("原因", "原因", "Reason"),
    "block": ("挂失/冻结", "掛失/凍結", "Block"),
    "unblock": ("解除冻结", "解除凍結", "Unblock"),
    "hotlist_version": ("黑名单版本", "黑名單版本", "Hotlist version"),
    "catalog": ("服务目录", "服務目錄", "Service catalog"),
    "publish": ("发布新版本", "發佈新版本", "Publish a new version"),
    "version": ("版本", "版本", "Version"),
    "published": ("已发布版本", "已發佈版本", "Published version"),
    "reconcile": ("对账", "對賬", "Reconciliation"),
    "polls": ("民意调查", "民意調查", "Polls"),
    "create_poll": ("新建调查", "新建調查", "New poll"),
    "close_poll": ("结束调查", "結束調查", "Close poll"),
    "results": ("结果", "結果", "Results"),
    "accounts": ("工作人员账号", "工作人員帳號", "Staff accounts"),
    "create_account": ("新建账号", "新建帳號", "New account"),
    "display_name": ("姓名", "姓名", "Name"),
    "audit": ("操作记录", "操作記錄", "Audit log"),
    "submit": ("提交", "提交", "Submit"),
    "done": ("已完成。", "已完成。", "Done."),
    "error": ("未能完成：", "未能完成：", "Not done: "),
    "question": ("问题", "問題", "Question"),
    "options": ("选项（每行一个）", "選項（每行一個）", "Options (one per line)"),
    "opens": ("开始时间", "開始時間", "Opens"),
    "closes": ("结束时间", "結束時間", "Closes"),
    "min_batch": ("最小投放批量", "最小投放批量", "Minimum ballot batch"),
    "counted": ("已计票", "已計票", "Counted"),
    "mismatches": ("不一致", "不一致", "Mismatches"),
    "anomalies": ("异常", "異常", "Anomalies"),
    "none": ("无", "無", "None"),
    "language": ("语言", "語言", "Language"),
}


def t(key: str, lang: str) -> str:
    """The word for ``key`` in ``lang`` (zh-Hans when the language is unknown)."""
    i = LANGUAGES.index(lang) if lang in LANGUAGES else 0
    return TEXTS[key][i]
