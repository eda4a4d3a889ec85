"""A technician's visit through the real widgets: the UI tests and the docs'
screenshots (scripts/ui_screenshots.py) walk the same steps.

Every maintenance page is shown and snapped: the menu, the device status with the
printer out of paper, the self-tests with a test print, a forced sync, the config,
the APDU trace, a support bundle, the out-of-service reason, the kiosk left out
of service, and back in service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from terminal_ui.scripted import ScriptedCitizen

__all__ = ["Technician"]


class Technician:
    """Drives the maintenance pages with ``c``'s driver and snaps each one."""

    def __init__(self, c: ScriptedCitizen, insert: Callable[[], None], pin: str) -> None:
        self.c = c
        self.d = c.driver
        self.insert = insert
        self.pin = pin

    @property
    def screen(self) -> Any:
        return self.d.kiosk.screen("maintenance")

    def page(self, name: str, action: str | None = None, *, after: Any = None) -> None:
        """Wait until the maintenance page ``name`` (of ``action``) is drawn, from a
        newer screen than ``after``."""

        def shown() -> bool:
            view = getattr(self.screen.view, "maintenance", None)
            sm = self.d.kiosk.screen_manager
            return bool(sm.current == "maintenance" and view is not None and view.page == name
                        and (action is None or view.action == action)
                        and self.screen.view is not after)  # fmt: skip

        self.d.wait_for(shown, what=f"maintenance page {name} {action or ''}")
        self.d.pump(2)

    def open(self) -> None:
        self.insert()
        self.d.wait_screen("pin")
        self.d.type_pin(self.pin)
        self.d.press("pin_submit")
        self.page("home")

    def do(self, action: str, page: str, value: str = "", *, snap: str = "") -> None:
        before = self.screen.view
        self.d.press(action, value=value) if value else self.d.press(action)
        self.page(page, None if page in ("home", "status", "tests", "reason") else action,
                  after=before)  # fmt: skip
        if snap:
            self.c.snap(snap)

    def back(self) -> None:
        self.d.press("back")
        self.page("home")

    def visit(self, paper_out: Callable[[], None], load_paper: Callable[[], None]) -> None:
        """The whole visit; ends on the out-of-service screen, the card taken."""
        self.open()
        self.c.snap("maintenance-menu")
        paper_out()
        self.do("status", "status", snap="maintenance-status")
        load_paper()
        self.back()
        self.do("tests", "tests", snap="maintenance-tests")
        self.do("run_test", "tests", "test_print", snap="maintenance-test-print")
        self.back()
        self.do("force_sync", "result", snap="maintenance-sync")
        self.back()
        self.do("config", "lines", snap="maintenance-config")
        self.back()
        self.do("apdu_trace", "lines", snap="maintenance-apdu-trace")
        self.back()
        self.do("support_bundle", "result", snap="maintenance-support-bundle")
        self.back()
        self.do("out_of_service", "reason", snap="maintenance-reason")
        self.do("out_of_service", "home", "repair", snap="maintenance-out-of-service")
        self.d.press("finish")
        self.d.wait_screen("take_card")

    def back_in_service(self) -> None:
        """From the out-of-service screen: card, PIN, back in service, card taken."""
        self.open()
        self.d.press("back_in_service")
        self.d.wait_for(lambda: self.screen.view.maintenance.out_of_service is None,
                        what="back in service")  # fmt: skip
        self.d.press("finish")
        self.d.wait_screen("take_card")
