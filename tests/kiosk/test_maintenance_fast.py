"""The maintenance journey's pages, walked on fake ops and fake diagnostics.

The tools answer with the facade's real value types (StatusReport, SelfTestResult,
SyncResult, BundleResult) and record every call with the technician it was given,
so each action's audit argument is checked; the end-to-end walk on the demo world
with the real facade is tests/kiosk/test_maintenance.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cardlib.certs import Role
from kiosk.codes import Notice, Step
from kiosk.core.views import MaintenanceView, Progress
from kiosk.diagnostics import (
    BundleResult,
    Code,
    DeviceKind,
    DeviceStatus,
    SelfTestName,
    SelfTestResult,
    StatusReport,
    SyncResult,
)
from kiosk.journeys import maintenance
from kiosk.journeys.citizen_states import State as S
from kiosk.journeys.maintenance import Action, Maintenance
from tests.kiosk.test_machine_fast import Rig

M = Maintenance
TECH_NO = "6217990000000099"


class FakeTools:
    """TechnicianTools with a printer out of paper; calls recorded with their technician."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.oos: dict[str, Any] | None = None
        self.fail: set[str] = set()

    def _call(self, name: str, technician: str | None) -> None:
        self.calls.append((name, technician))
        if name in self.fail:
            raise OSError(f"{name} failed")

    def status(self, *, central: bool = True) -> StatusReport:
        self._call("status", None)
        printer = DeviceStatus(DeviceKind.PRINTER, (Code.PAPER_OUT,),
                               {"online": True, "paper": "out"})  # fmt: skip
        return StatusReport(1, (printer, DeviceStatus(DeviceKind.DISK, (Code.OK,), {"free": 5})))

    def run_self_test(self, name: SelfTestName, *, technician: str | None = None,
                      language: str = "zh-Hans") -> SelfTestResult:  # fmt: skip
        self._call(f"test:{name.value}", technician)
        code = Code.PAPER_OUT if name is SelfTestName.TEST_PRINT else Code.OK
        return SelfTestResult(name, code, {"language": language}, 7)

    def force_sync(self, *, technician: str | None = None) -> SyncResult:
        self._call("force_sync", technician)
        return SyncResult(ok=False, uploaded=2, acked_seq=9, documents={"catalog": 4},
                          problems=("hotlist: no answer",))  # fmt: skip

    def take_out_of_service(self, reason: str, *, technician: str | None = None) -> None:
        self._call(f"out:{reason}", technician)
        self.oos = {"reason": reason, "by": technician, "since_ms": 1}

    def back_in_service(self, *, technician: str | None = None) -> None:
        self._call("back", technician)
        self.oos = None

    def out_of_service(self) -> dict[str, Any] | None:
        return self.oos

    def config_view(self, *, technician: str | None = None) -> dict[str, Any]:
        self._call("config", technician)
        return {"config_hash": "ab" * 12,
                "values": {"central": {"url": "http://c", "terminal_key": "(set)"}}}  # fmt: skip

    def apdu_trace(self, *, technician: str | None = None) -> list[str]:
        self._call("trace", technician)
        return ["card > 00A40400 len=9 aid=A000", "card < len=0 sw=9000"]

    def support_bundle(
        self, directory: Path, *, technician: str | None = None, upload: bool = True
    ) -> BundleResult:
        self._call("bundle", technician)
        path = directory / "civicard-support-1.json"
        return BundleResult(path, path.with_suffix(".json.sig"), "f" * 64, 123, None, "offline")


class TechRig(Rig):
    def __init__(self) -> None:
        super().__init__()
        self.tools = FakeTools()
        self.ops.diagnostics = self.tools
        self.ops.support_dir = Path("stick")

    def open(self, *, wrong_first: bool = False) -> None:
        self.ops.check = replace(self.ops.check, operator_number=TECH_NO)
        self.insert(Role.TECHNICIAN)
        if wrong_first:
            self.pin("000000")
            assert self.state is M.PIN_ENTRY
        self.pin()
        assert self.state is M.HOME

    def act(self, action: Action, value: str = "") -> None:
        self.c.maintenance_action(action, value)
        self.settle()

    def view(self) -> MaintenanceView:
        v = self.screen().maintenance
        assert v is not None
        return v


@pytest.fixture
def tr() -> TechRig:
    return TechRig()


def test_every_maintenance_transition_is_walked(tr: TechRig) -> None:
    r, c = tr, tr.c
    r.open(wrong_first=True)
    assert r.view().page == "home" and r.view().out_of_service is None
    r.act(Action.STATUS)  # status: each device with its next step, and again
    v = r.view()
    assert (r.state, v.health) == (M.STATUS, "fault")
    printer = v.rows[0]
    assert (printer.name, printer.health, printer.code, printer.next_step) == (
        "printer",
        "fault",
        "paper_out",
        "load_paper",
    )
    assert ("paper", "out") in printer.facts and ("online", "yes") in printer.facts
    r.act(Action.STATUS)
    c.back()
    r.settle()
    r.act(Action.TESTS)  # self-tests: one, then all (progress per test), back
    assert (r.state, r.view().rows) == (M.TESTS, ())
    r.act(Action.RUN_TEST, "test_print")
    assert [(x.name, x.code) for x in r.view().rows] == [("test_print", "paper_out")]
    r.events.clear()
    r.act(Action.RUN_TEST, "all")
    assert [x.name for x in r.view().rows] == ["readers", "test_print", "network", "outbox"]
    steps = [(e.step, e.fraction) for e in r.events if isinstance(e, Progress)]
    assert steps[:4] == [(Step.TESTING_READERS, 0.0), (Step.TESTING_PRINT, 0.25),
                         (Step.TESTING_NETWORK, 0.5), (Step.TESTING_OUTBOX, 0.75)]  # fmt: skip
    r.act(Action.HOME)
    r.act(Action.FORCE_SYNC)  # its result, and every problem
    v = r.view()
    assert (r.state, v.action, v.ok, v.lines) == (M.RESULT, "force_sync", False,
                                                  ("hotlist: no answer",))  # fmt: skip
    assert ("uploaded", "2") in v.details and ("document:catalog", "4") in v.details
    r.act(Action.HOME)
    r.act(Action.CONFIG)  # lines: config (redacted by the facade), trace
    assert r.state is M.LINES and "central.terminal_key = (set)" in r.view().lines
    c.back()
    r.settle()
    r.act(Action.APDU_TRACE)
    assert r.view().action == "apdu_trace" and len(r.view().lines) == 2
    r.act(Action.HOME)
    r.act(Action.SUPPORT_BUNDLE)  # into the configured directory; not uploaded: said
    v = r.view()
    assert (v.action, v.ok, v.lines) == ("support_bundle", False, ("offline",))
    assert ("directory", "stick") in v.details
    r.act(Action.HOME)
    r.ops.support_dir = None  # nowhere to write one: said, no bundle made
    r.act(Action.SUPPORT_BUNDLE)
    assert (r.state, r.view().lines) == (M.RESULT, ("no_support_dir",))
    r.act(Action.HOME)
    r.act(Action.OUT_OF_SERVICE)  # a reason, then back to the menu without one
    assert r.state is M.REASON and "repair" in r.view().reasons
    c.back()
    r.settle()
    r.act(Action.OUT_OF_SERVICE)
    r.act(Action.OUT_OF_SERVICE, "repair")
    assert (r.state, r.view().out_of_service, r.view().action) == (M.HOME, "repair",
                                                                   "out_of_service")  # fmt: skip
    r.act(Action.BACK_IN_SERVICE)
    assert (r.state, r.view().out_of_service) == (M.HOME, None)
    for page in (Action.STATUS, Action.TESTS, Action.OUT_OF_SERVICE, Action.FORCE_SYNC,
                 Action.CONFIG):  # fmt: skip
        r.act(page)  # finish from every page
        c.finish()
        r.settle()
        assert r.state is M.TAKE_CARD
        r.expire()  # the card forgotten: asked again
        assert r.screen().notices == (Notice.CARD_FORGOTTEN,)
        r.remove()
        assert (r.m.journey.name, r.state) == ("citizen", S.ATTRACT)
        r.open()
    r.expire()  # the home page timed out
    assert (r.state, r.screen().notices) == (M.TAKE_CARD, (Notice.TIMED_OUT,))
    r.remove()
    missing = set(maintenance.TRANSITIONS) - {(M(a), M(b)) for a, b in r.seen(maintenance.TABLE)}
    assert not missing, sorted(missing)
    # Every action went to the facade with the technician's card number (it audits).
    assert {who for name, who in r.tools.calls if name != "status"} == {TECH_NO}
    assert not [e for e, _ in r.audit if e == "core_error"]


def test_left_out_of_service_the_kiosk_shows_it_when_the_card_is_taken(tr: TechRig) -> None:
    r = tr
    r.open()
    r.act(Action.OUT_OF_SERVICE)
    r.act(Action.OUT_OF_SERVICE, "printer_paper")
    r.ops.not_ready = Notice.TAKEN_OUT_OF_SERVICE  # what the kiosk's ready check now says
    r.expire()
    r.remove()
    assert (r.state, r.screen().notices) == (S.OUT_OF_SERVICE, (Notice.TAKEN_OUT_OF_SERVICE,))
    r.open()  # a technician's card is read while out of service, and puts it back
    assert r.view().out_of_service == "printer_paper"
    r.act(Action.BACK_IN_SERVICE)
    r.ops.not_ready = None
    r.c.finish()
    r.settle()
    r.remove()
    assert r.state is S.ATTRACT


def test_a_failed_action_is_a_result_and_the_visit_goes_on(tr: TechRig) -> None:
    r = tr
    r.open()
    r.tools.fail.add("force_sync")
    r.act(Action.FORCE_SYNC)
    v = r.view()
    assert (r.state, v.ok, v.lines) == (M.RESULT, False, ("OSError: force_sync failed",))
    r.act(Action.HOME)
    assert r.state is M.HOME


def test_unknown_or_misplaced_actions_change_nothing(tr: TechRig) -> None:
    r = tr
    r.open()
    r.act("explode")  # type: ignore[arg-type]
    r.act(Action.RUN_TEST, "all")  # only from the self-tests page
    r.act(Action.OUT_OF_SERVICE, "repair")  # a reason only from the reasons page
    r.act(Action.TESTS)
    r.act(Action.RUN_TEST, "no_such_test")
    r.act(Action.FORCE_SYNC)  # actions are on the menu, not the tests page
    assert r.state is M.TESTS and r.tools.calls == []
    r.act(Action.HOME)
    r.act(Action.OUT_OF_SERVICE)
    r.act(Action.OUT_OF_SERVICE, "not a listed reason")
    assert r.state is M.REASON and r.tools.oos is None
    assert ("maintenance_unknown_action", "explode") in [(e, f.get("action")) for e, f in r.audit]


def test_the_card_pulled_while_an_action_runs(tr: TechRig) -> None:
    r = tr
    r.open()
    r.during(lambda: r.c.maintenance_action(Action.STATUS))
    assert r.screen().notices == (Notice.CARD_PULLED,)
