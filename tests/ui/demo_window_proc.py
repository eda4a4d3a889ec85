"""Run by test_demo.py in its own process (its own Kivy window): the demo's window
with the panel, driven through the panel's buttons and the kiosk's: sized to the
display SDL reports, the headset's keys on the panel."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from terminal_ui.env import prepare


class Headset:
    """espeak-ng writing its audio nowhere (no sound card here), remembering what it said."""

    def __init__(self) -> None:
        from drivers.speech import EspeakNg

        self.engine = EspeakNg(device_args=("--stdout",))
        self.said: list[tuple[str, str]] = []

    def say(self, text: str, voice: object, *, slow: bool = False) -> None:
        self.said.append((text, str(voice)))
        self.engine.say(text, voice, slow=slow)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.engine.stop()


def main(shots: Path) -> int:
    prepare(size=(1280, 900), offscreen=True)
    from kiosk.core.clock import SystemClock
    from kiosk.demo.world import DemoWorld
    from simulators.printer.interpreter import PaperState
    from terminal_ui.app import KioskApp
    from terminal_ui.harness import Driver
    from terminal_ui.widgets.demo_panel import DemoActions, DemoPanel

    world = DemoWorld.build(Path(tempfile.mkdtemp()), clock=SystemClock())
    controller = world.controller
    citizens = [c for c in world.wallet.cards() if c.role == "citizen"]
    sim = world.printer_sim

    def paper(on: bool) -> None:
        sim.load_paper() if on else sim.set_faults(paper=PaperState.OUT)

    tech = next(c for c in world.wallet.cards() if c.role == "technician")
    actions = DemoActions([(str(i), f"{c.name} · PIN {c.pin}") for i, c in enumerate(citizens, 1)],
                          world.insert, world.remove, world.root / "printer", paper,
                          operators=[(tech.asn, f"Technician · PIN {tech.pin}")])  # fmt: skip
    headset = Headset()
    app = KioskApp(controller, kiosk_mode=False, animate=False, kiosk_aspect=9 / 16,
                   side_panel=lambda: DemoPanel(actions), speech=headset)  # fmt: skip
    from kivy.core.window import Window

    from terminal_ui.display import place_demo_window, usable_displays

    display = usable_displays()[0]  # SDL's offscreen display: 1024x768
    placed = place_demo_window(Window, 9 / 16)
    d = Driver(app)
    controller.start(tick=0.02)
    try:
        panel = next(w for w in app.root.children if isinstance(w, DemoPanel))
        assert placed is not None and placed.w <= display.w and placed.h <= display.h, placed
        assert tuple(Window.size) == (placed.w, placed.h), Window.size
        assert abs(d.kiosk.width / d.kiosk.height - 9 / 16) < 0.01, d.kiosk.size
        d.wait_screen("attract")
        d.pump(3)
        # everything of the panel inside the window, "Paper out" too
        for button in (d.find("demo_paper", root=panel), d.find("demo_headset", root=panel)):
            x, y = button.to_window(*button.pos)
            assert x >= 0 and y >= 0 and x + button.width <= Window.width, (x, y, button.size)
        d.tap(d.find("demo_headset", root=panel))  # audio mode on: the attract screen said
        d.wait_for(lambda: any("请插入您的市民卡" in t for t, _v in headset.said), what="speech")
        d.wait_for(lambda: panel.audio_on, what="audio on in the panel")
        d.tap(d.find("demo_voice", root=panel, text="粵語"))
        d.wait_for(lambda: headset.said[-1][1] == "yue", what="Cantonese")
        d.tap(d.find("demo_headset", root=panel))  # and off again
        d.wait_for(lambda: not panel.audio_on, what="audio off")
        d.tap(d.find("demo_insert", root=panel, who="1"))
        d.wait_screen("pin")
        d.type_pin(citizens[0].pin)
        d.press("pin_submit")
        d.wait_screen("menu")
        d.open_service("water_bill")
        d.press("choose_service", service_id="water_bill")
        d.wait_screen("form")
        for ch in "1000001":
            d.press("type", char=ch)
        d.press("submit_form")
        d.wait_screen("confirm")
        d.press("confirm")
        d.wait_screen("done")
        # The panel looks for new receipts once a second, on the Kivy clock.
        d.wait_for(lambda: panel.count == 1, what="receipt on the panel")
        assert panel.receipt.endswith("job-0001.png"), panel.receipt
        d.pump(3)
        d.screenshot(shots / "demo-window.png")
        d.tap(d.find("demo_paper", root=panel))
        assert sim.faults.paper is PaperState.OUT
        d.tap(d.find("demo_remove", root=panel))
        d.wait_screen("attract")
        # the technician's card from the panel opens the maintenance mode
        d.tap(d.find("demo_insert_operator", root=panel, who=tech.asn))
        d.wait_screen("pin")
        d.type_pin(tech.pin)
        d.press("pin_submit")
        d.wait_screen("maintenance")
        d.pump(3)
        d.screenshot(shots / "demo-window-maintenance.png")
        d.press("finish")
        d.wait_screen("take_card")
        d.tap(d.find("demo_remove", root=panel))
        d.wait_screen("attract")
    finally:
        controller.stop()
        world.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
