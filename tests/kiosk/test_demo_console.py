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


def test_the_demo_kiosk_reports_to_the_fleet_page_while_the_console_is_open(
    kiosk: Kiosk,
) -> None:
    """`civicard demo --console` runs the kiosk's heartbeats (demo_cli.start_heartbeats):
    the fleet page knows the demo kiosk instead of listing it as never heard from."""
    import time

    from backend_sync.central import fleet
    from kiosk.demo.demo_cli import start_heartbeats

    w = kiosk.world
    tid = w.outbox.terminal_id
    assert tid in fleet.fleet_status(w.central).silent  # enrolled, never heard from
    stop = start_heartbeats(w)
    try:
        deadline = time.monotonic() + 20
        while tid not in {k.terminal_id for k in fleet.fleet_status(w.central).kiosks}:
            assert time.monotonic() < deadline, "no heartbeat reached the central"
            time.sleep(0.05)
    finally:
        stop.set()
    status = fleet.fleet_status(w.central)
    assert tid not in status.silent
