"""UI fixtures: one offscreen Kivy window per test process, driven through the real
widgets, on one DemoWorld (card and PSAM simulators, printer simulator, a real
central on uvicorn over loopback).

Kivy allows one window per process, so the window, the app and the world are
made once for the session; each journey uses its own demo citizen and bill, and
starts and ends on the attract screen (the ``ui`` fixture checks both), so the
tests do not depend on their order. Screenshots go to out/screenshots/<test>/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "screenshots"


@pytest.fixture(scope="session")
def kivy_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    from terminal_ui.env import prepare

    # The pinyin keyboard's compiled dictionary: this session's own.
    os.environ["CIVICARD_PINYIN_CACHE"] = str(tmp_path_factory.mktemp("pinyin"))
    # Before the first Kivy import: private KIVY_HOME, no argv parsing, offscreen.
    return prepare(home=tmp_path_factory.mktemp("kivy"), size=(540, 960), offscreen=True)


@dataclass
class UiWorld:
    world: Any  # kiosk.demo.world.DemoWorld
    clock: Any  # ManualClock: timeouts move only when a test says so
    controller: Any
    driver: Any  # terminal_ui.harness.Driver

    def insert(self, who: str) -> None:
        self.world.card_reader.insert(self.world.wallet.open_card(who))
        self.controller.card_inserted()

    def remove(self) -> None:
        self.world.card_reader.remove()
        self.controller.card_removed()

    def pin_of(self, who: str) -> str:
        return str(self.world.citizen(int(who)).pin)


@pytest.fixture(scope="session")
def ui_world(kivy_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiWorld]:
    from kiosk.core.clock import ManualClock
    from kiosk.demo.issuer import create_demo_wallet
    from kiosk.demo.world import DemoWorld
    from terminal_ui.app import KioskApp
    from terminal_ui.harness import Driver

    root = tmp_path_factory.mktemp("ui-world")
    create_demo_wallet(root / "wallet", seed=8)
    clock = ManualClock()
    world = DemoWorld.build(root, clock=clock)
    controller = world.controller
    app = KioskApp(controller, animate=False)
    driver = Driver(app)
    controller.start(tick=0.02)
    driver.wait_screen("attract")
    yield UiWorld(world, clock, controller, driver)
    controller.stop()
    world.close()


@pytest.fixture
def ui(ui_world: UiWorld, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A ScriptedCitizen on the shared window, starting on the attract screen;
    screenshots in out/screenshots/<test name>/."""
    from terminal_ui.scripted import Devices, ScriptedCitizen

    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    shots = SHOTS / name
    shutil.rmtree(shots, ignore_errors=True)
    d = ui_world.driver
    assert d.kiosk.screen_manager.current == "attract", d.shown[-5:]
    devices = Devices(ui_world.insert, ui_world.remove, ui_world.pin_of)
    citizen = ScriptedCitizen(d, devices, shots)
    citizen.ui_world = ui_world  # type: ignore[attr-defined]
    yield citizen
    # Leave the kiosk as found, even after a failure: card out, back to attract.
    if ui_world.world.card_reader.present or d.kiosk.screen_manager.current != "attract":
        ui_world.remove()
        d.wait_screen("attract")
