"""The demo's two faces: a kiosk window with the demo panel, or, with no display,
a scripted citizen session on the real widgets offscreen (screenshots saved).

Called by the composition root (``civicard demo``), which builds the simulated
world and hands over what this needs; nothing here knows about simulators.
Call :func:`terminal_ui.env.prepare` first (both functions import Kivy).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.core.controller import KioskController

__all__ = ["run_offscreen", "run_window"]


def run_window(
    controller: KioskController,
    actions: Any,  # terminal_ui.widgets.demo_panel.DemoActions
    *,
    shuffle_pin_pad: bool = False,
    portrait: bool = True,
    speech: Any = None,  # drivers.speech.SpeechOutput: the headset, for the audio mode
) -> int:
    """The kiosk in a window beside the demo panel, until the window is closed
    (not in kiosk mode: a demo may be closed)."""
    from kivy.core.window import Window

    from terminal_ui.app import KioskApp
    from terminal_ui.widgets.demo_panel import DemoPanel

    app = KioskApp(
        controller,
        kiosk_mode=False,
        shuffle_pin_pad=shuffle_pin_pad,
        side_panel=lambda: DemoPanel(actions),
        kiosk_aspect=(9 / 16) if portrait else (16 / 9),
        speech=speech,
    )
    Window.clearcolor = (0.13, 0.14, 0.16, 1)
    # Fit the display found at run time (a 1080-wide portrait screen too).
    from terminal_ui.display import place_demo_window

    place_demo_window(Window, (9 / 16) if portrait else (16 / 9))
    controller.start()
    try:
        app.run()
    finally:
        controller.stop()
    return 0


def run_offscreen(
    controller: KioskController,
    *,
    insert: Callable[[str], None],
    remove: Callable[[], None],
    pin_of: Callable[[str], str],
    out: Path,
    who: str = "1",
    account: str = "1000001",
    language: str = "zh-Hans",
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Pay a water bill through the real widgets, offscreen; returns the screenshots."""
    from terminal_ui.app import KioskApp
    from terminal_ui.harness import Driver
    from terminal_ui.scripted import Devices, ScriptedCitizen

    app = KioskApp(controller, animate=False)
    driver = Driver(app)
    controller.start(tick=0.05)
    try:
        citizen = ScriptedCitizen(driver, Devices(insert, remove, pin_of), out)
        citizen.pay_water_bill(who, account, language=language)
    finally:
        controller.stop()
    for path in citizen.taken:
        log(f"  {path}")
    return citizen.taken
