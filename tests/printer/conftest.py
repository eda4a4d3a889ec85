"""Fixtures: simulated printers per profile and transport, a TEST ONLY terminal identity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.printer.profiles import PROFILES, PrinterProfile
from kiosk.receipts.samples import sample_context
from kiosk.receipts.signing import TerminalIdentity, make_test_terminal_identity
from simulators.printer.interpreter import ChineseSupport
from simulators.printer.server import PrinterSimulator

OUT = Path(__file__).resolve().parents[2] / "out" / "receipts"
SEED = 5


def simulator_for(profile: PrinterProfile, out: Path | None) -> PrinterSimulator:
    """A simulator whose paper and font match the profile (as the real model would)."""
    return PrinterSimulator(
        out,
        dots=profile.dots_per_line,
        chinese=ChineseSupport(profile.chinese.value),
        native_qr=profile.native_qr,
        cutter=profile.cutter,
        process_id=profile.process_id,
        idle_end=0.3,
    )


@pytest.fixture(scope="session")
def identity() -> TerminalIdentity:
    return make_test_terminal_identity(sample_context(SEED).terminal.terminal_id)


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[tuple[str, str], tuple[PrinterSimulator, str]]]:
    """One simulator per (profile, transport), shared by a module's tests; urls ready."""
    made: dict[tuple[str, str], tuple[PrinterSimulator, str]] = {}
    for name, profile in PROFILES.items():
        for transport in ("tcp", "pty"):
            sim = simulator_for(profile, OUT / f"{name}-{transport}")
            if transport == "tcp":
                url = f"tcp://127.0.0.1:{sim.start_tcp()}"
            else:
                url = f"serial://{sim.start_pty()}?baudrate=115200"
            made[(name, transport)] = (sim, url)
    yield made
    for sim, _ in made.values():
        sim.stop()


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[PrinterSimulator]:
    """A fresh gb18030-80mm simulator on TCP for fault tests."""
    s = simulator_for(PROFILES["gb18030-80mm"], tmp_path / "jobs")
    s.start_tcp()
    yield s
    s.stop()
