"""Diagnostics fixtures: a DemoWorld (simulated card readers and PSAM, the ESC/POS
printer simulator on TCP, a real central on uvicorn over loopback) and the
:class:`Devices` diagnostics sees in it, with the in-process readers on a "bus"
from which a test can unplug one (the SimReader seam for a reader gone from PC/SC)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kiosk.demo.issuer import create_demo_wallet
from kiosk.diagnostics import Devices, Diagnostics, Limits, ReaderSlot
from kiosk.diagnostics.trace import ApduTrace
from kiosk.diagnostics.wiring import simulator_echo


@pytest.fixture(scope="session")
def wallet_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diag-wallet") / "wallet"
    create_demo_wallet(root, seed=11)
    return root


@dataclass
class Rig:
    world: Any
    devices: Devices
    diag: Diagnostics
    plugged: dict[str, Any] = field(default_factory=dict)

    def unplug(self, name: str) -> None:
        self.plugged.pop(name)

    def card(self, role: str) -> Any:
        return next(c for c in self.world.wallet.cards() if c.role == role)

    def insert(self, role: str = "technician") -> None:
        self.world.card_reader.insert(self.world.wallet.open_card(self.card(role).asn))

    def stop_central(self) -> None:
        self.world.server.should_exit = True
        self.world.server_thread.join(5)


def build_rig(root: Path, wallet_template: Path, **limits: Any) -> Rig:
    from kiosk.demo.world import DemoWorld

    shutil.copytree(wallet_template, root / "wallet")
    world = DemoWorld.build(root)
    plugged = {world.card_reader.name: world.card_reader, world.psam_reader.name: world.psam_reader}
    desk = world.ops.receipts
    devices = Devices(
        terminal_id=world.outbox.terminal_id,
        data_dir=root,
        readers=lambda: {name: r.atr for name, r in plugged.items()},
        card=ReaderSlot("card", world.card_reader.name, lambda: world.card_reader),
        psam=ReaderSlot("psam", world.psam_reader.name, lambda: world.psam_reader),
        printer=desk.printer,
        printer_profile="gb18030-80mm",
        client=world.client,
        agent=world.agent,
        outbox=world.outbox,
        store=world.store,
        terminal_key=world.terminal_key,
        location="test kiosk",
        limits=Limits(**limits),
        printed_text=simulator_echo(world.printer_sim),
    )
    trace = ApduTrace().attach()
    return Rig(world, devices, Diagnostics(devices, trace=trace), plugged)


@pytest.fixture
def make_rig(wallet_template: Path, tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(**limits: Any) -> Rig:
        rig = build_rig(tmp_path / f"r{len(rigs)}", wallet_template, **limits)
        rigs.append(rig)
        return rig

    yield make
    for r in rigs:
        if r.diag.trace is not None:
            r.diag.trace.detach()
        r.world.close()


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig()


@pytest.fixture(scope="module")
def shared_rig(wallet_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """One rig for a module whose tests leave it as they found it."""
    rig = build_rig(tmp_path_factory.mktemp("shared-rig"), wallet_template)
    yield rig
    if rig.diag.trace is not None:
        rig.diag.trace.detach()
    rig.world.close()


# pcscd + vpcd, as tests/pcsc uses them (marker "pcsc").
from tests.pcsc.conftest import bridge, pcscd  # noqa: E402, F401
