"""The demo's staff console logins: TEST ONLY accounts on the embedded central, one
per role, so a newcomer can open ``/console`` and see every page (docs/console.md).
Never a production default: a real central starts with no account at all and its
first administrator is made with ``civicard central staff add``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

__all__ = ["DEMO_STAFF", "DEMO_STAFF_PASSWORD", "ensure_demo_staff"]

DEMO_STAFF_PASSWORD = "TEST-ONLY-civicard-demo"  # noqa: S105  TEST ONLY, demo world only
# username, role, department, name
DEMO_STAFF = (
    ("admin", "administrator", None, "管理员 孙丽"),
    ("supervisor", "supervisor", None, "督办 吴敏"),
    ("water", "department_staff", "water", "水务 刘洋"),
    ("transit", "department_staff", "city-transport", "交通 黄磊"),
    ("hotlist", "hotlist_operator", None, "黑名单 郑浩"),
    ("catalog", "catalog_editor", None, "目录 冯雪"),
    ("auditor", "ledger_auditor", None, "审计 陈晨"),
)


def ensure_demo_staff(central: Any) -> None:
    """Create the demo's staff accounts once (argon2id is slow on purpose: a world
    copied from a template keeps its accounts)."""
    from backend_sync.central.console import accounts
    from backend_sync.central.console.models import staff_accounts

    with central.engine.connect() as conn:
        have = set(conn.execute(sa.select(staff_accounts.c.username)).scalars())
    for username, role, department, name in DEMO_STAFF:
        if username not in have:
            accounts.create_account(
                central, username=username, password=DEMO_STAFF_PASSWORD, role=role,
                display_name=name, department=department, by="demo",
            )  # fmt: skip
