"""The demo world's staff console: TEST ONLY logins, one per role, on the embedded
central that `civicard demo` prints."""

from __future__ import annotations

import httpx

from backend_sync.central.console import accounts
from kiosk.demo.staff import DEMO_STAFF, DEMO_STAFF_PASSWORD
from tests.kiosk.conftest import Kiosk


def test_every_demo_login_opens_the_console(kiosk: Kiosk) -> None:
    w = kiosk.world
    assert httpx.get(f"{w.central_url}/console/login", timeout=10).status_code == 200
    roles = set()
    for username, role, _dept, _name in DEMO_STAFF:
        _token, staff = accounts.login(w.central, username=username,
                                       password=DEMO_STAFF_PASSWORD, client="test")  # fmt: skip
        assert staff.role == role
        roles.add(staff.role)
    assert roles == {"administrator", "supervisor", "department_staff", "hotlist_operator",
                     "catalog_editor", "ledger_auditor"}  # fmt: skip
