"""The maintenance journey end to end on the demo world: the technician's card and
PIN against the card simulator, the real diagnostics facade over the kiosk's own
parts, a printer fault injected through the printer simulator's status bytes."""

from __future__ import annotations

from pathlib import Path

from kiosk.codes import Notice
from kiosk.journeys.citizen_states import State
from kiosk.journeys.maintenance import Action, Maintenance
from simulators.printer.interpreter import PaperState
from tests.kiosk.conftest import Kiosk, core_errors

M = Maintenance


def _technician(k: Kiosk) -> object:
    return next(c for c in k.world.wallet.cards() if c.role == "technician")


def _open(k: Kiosk) -> object:
    tech = _technician(k)
    k.world.insert(tech.asn)  # type: ignore[attr-defined]
    k.settle()
    assert k.state is M.PIN_ENTRY
    k.type_pin(tech.pin)  # type: ignore[attr-defined]
    assert k.state is M.HOME, k.m.screen()
    return tech


def _act(k: Kiosk, action: Action, value: str = "") -> None:
    k.m.maintenance_action(action, value)
    k.settle()


def test_a_technician_checks_the_printer_prints_a_test_page_and_takes_the_kiosk_out(
    kiosk: Kiosk,
) -> None:
    k = kiosk
    sim = k.world.printer_sim
    sim.set_faults(paper=PaperState.OUT)
    tech = _open(k)
    _act(k, Action.STATUS)
    view = k.m.screen().maintenance
    assert view is not None and k.state is M.STATUS and view.health == "fault"
    printer = next(r for r in view.rows if r.name == "printer")
    assert (printer.health, printer.code, printer.next_step) == ("fault", "paper_out",
                                                                 "load_paper")  # fmt: skip
    assert {r.name for r in view.rows} >= {"card_reader", "psam", "central", "outbox"}
    # paper loaded: the test print goes through, checked against what the printer decoded
    sim.load_paper()
    k.m.back()
    k.settle()
    _act(k, Action.TESTS)
    jobs = len(sim.jobs)
    _act(k, Action.RUN_TEST, "test_print")
    view = k.m.screen().maintenance
    assert view is not None and [(r.name, r.code) for r in view.rows] == [("test_print", "ok")]
    assert len(sim.jobs) == jobs + 1
    # out of service with a reason; the card taken: the kiosk shows it
    _act(k, Action.HOME)
    _act(k, Action.OUT_OF_SERVICE)
    _act(k, Action.OUT_OF_SERVICE, "repair")
    assert k.m.screen().maintenance.out_of_service == "repair"  # type: ignore[union-attr]
    k.m.finish()
    k.settle()
    k.remove()
    assert (k.state, k.m.screen().notices) == (State.OUT_OF_SERVICE,
                                               (Notice.TAKEN_OUT_OF_SERVICE,))  # fmt: skip
    k.insert(1)  # a citizen meanwhile is refused
    assert k.m.screen().refusal == "out_of_service"
    k.remove()
    k.m.recheck_devices()
    k.settle()
    assert k.state is State.OUT_OF_SERVICE
    _open(k)  # and back in service
    _act(k, Action.BACK_IN_SERVICE)
    k.m.finish()
    k.settle()
    k.remove()
    k.login(1)  # a citizen is served again
    events = [(e.event, e.fields.get("technician")) for e in k.world.audit.entries()
              if e.event.startswith("maintenance.")]  # fmt: skip
    assert {e for e, _ in events} >= {"maintenance.self_test", "maintenance.out_of_service",
                                      "maintenance.back_in_service"}  # fmt: skip
    # each with the technician's card number (the card's own, from its holder file)
    assert {str(who).lower() for _, who in events} == {str(tech.asn).lower()}  # type: ignore[attr-defined]
    assert not core_errors(k.world)


def test_only_a_technician_card_with_its_pin_opens_the_mode(kiosk: Kiosk) -> None:
    k = kiosk
    k.insert(1)  # a citizen's card: the citizen's PIN screen
    assert (k.m.screen().journey, k.state) == ("citizen", State.PIN_ENTRY)
    k.remove()
    clerk = next(c for c in k.world.wallet.cards() if c.role == "clerk")
    k.world.insert(clerk.asn)
    k.settle()
    assert (k.state, k.m.screen().refusal) == (State.CARD_REFUSED, "counter_card")
    k.remove()
    tech = _technician(k)
    k.world.insert(tech.asn)  # type: ignore[attr-defined]
    k.settle()
    wrong = "".join(str((int(d) + 1) % 10) for d in tech.pin)  # type: ignore[attr-defined]
    k.type_pin(wrong)
    assert k.state is M.PIN_ENTRY and k.m.screen().maintenance is None
    k.remove()
    assert not [e for e in k.world.audit.entries() if e.event.startswith("maintenance.")]
    assert "maintenance_open" not in [e.event for e in k.world.audit.entries()]


def test_sync_config_trace_and_a_support_bundle(kiosk: Kiosk, tmp_path: Path) -> None:
    k = kiosk
    tech = _open(k)
    _act(k, Action.FORCE_SYNC)
    view = k.m.screen().maintenance
    assert view is not None and (k.state, view.action, view.ok) == (M.RESULT, "force_sync", True)
    _act(k, Action.HOME)
    _act(k, Action.CONFIG)
    lines = k.m.screen().maintenance.lines  # type: ignore[union-attr]
    assert lines[0].startswith("config_hash = ")
    assert any(x.startswith("central_url = http") for x in lines)
    _act(k, Action.HOME)
    _act(k, Action.APDU_TRACE)
    assert k.m.screen().maintenance.action == "apdu_trace"  # type: ignore[union-attr]
    _act(k, Action.HOME)
    default = k.world.ops.support_dir  # the data folder's, unless the config names one
    assert default is not None and default.name == "support" and default.is_dir()
    k.world.ops.support_dir = tmp_path / "stick"  # not mounted: said, nothing written
    _act(k, Action.SUPPORT_BUNDLE)
    view = k.m.screen().maintenance
    assert view is not None and (view.action, view.ok) == ("support_bundle", False)
    assert "not a directory" in view.lines[0]
    _act(k, Action.HOME)
    (tmp_path / "stick").mkdir()
    _act(k, Action.SUPPORT_BUNDLE)
    view = k.m.screen().maintenance
    assert view is not None and view.action == "support_bundle" and view.ok, view
    written = sorted(p.name for p in (tmp_path / "stick").iterdir())
    assert len(written) == 2 and written[1].endswith(".json.sig")
    audited = {e.event: e.fields.get("technician") for e in k.world.audit.entries()
               if e.event.startswith("maintenance.")}  # fmt: skip
    for event in ("force_sync", "config_view", "apdu_trace_view", "support_bundle"):
        assert str(audited[f"maintenance.{event}"]).lower() == str(tech.asn).lower()  # type: ignore[attr-defined]
    assert not core_errors(k.world)
