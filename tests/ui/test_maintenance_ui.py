"""A technician's visit through the real widgets, offscreen: every maintenance page
drawn (screenshots in out/screenshots/<test>/), the printer's paper-out fault from
the simulator's status bytes shown with its next step, the kiosk taken out of
service and back."""

from __future__ import annotations

from typing import Any

from simulators.printer.interpreter import PaperState
from terminal_ui import texts_maintenance as tm


def _text(screen: Any) -> str:
    return "\n".join(str(getattr(w, "text", "")) for w in screen.walk(restrict=True))


def test_a_technician_visit_through_every_maintenance_page(ui: Any) -> None:
    from terminal_ui.scripted_maintenance import Technician  # Kivy: after conftest's prepare

    w = ui.ui_world.world
    tech = next(c for c in w.wallet.cards() if c.role == "technician")
    t = Technician(ui, lambda: ui.devices.insert(tech.asn), str(tech.pin))
    sim = w.printer_sim
    seen: dict[str, str] = {}

    def paper_out() -> None:
        sim.set_faults(paper=PaperState.OUT)

    def load_paper() -> None:
        seen["status"] = _text(t.screen)  # the status page, drawn with the fault
        sim.load_paper()

    jobs = len(sim.jobs)
    try:
        t.visit(paper_out, load_paper)
        translate = ui.driver.app.ctx.translator.gettext
        assert translate(tm.CODES["paper_out"], "zh-Hans") in seen["status"]
        assert translate(tm.STEPS["load_paper"], "zh-Hans") in seen["status"]
        # the test page, and the support bundle's own self-tests' one
        assert len(sim.jobs) == jobs + 2
        ui.devices.remove()
        ui.driver.wait_screen("out_of_service")
        ui.snap("out-of-service-by-technician")
        t.back_in_service()
        ui.devices.remove()
        ui.driver.wait_screen("attract")
    finally:
        # The window and world are shared by the UI tests: never leave it out of service.
        sim.load_paper()
        if w.kiosk.diagnostics.out_of_service() is not None:
            w.kiosk.diagnostics.back_in_service()
            if w.card_reader.present:
                ui.devices.remove()
            ui.ui_world.controller.recheck_devices()
