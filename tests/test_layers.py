"""The layer rules of docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cardlib", "drivers", "simulators", "kiosk", "terminal_ui", "backend_sync")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _sources() -> list[tuple[str, set[str]]]:
    out = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out.append((path.relative_to(ROOT).as_posix(), _imports(path)))
    return out


SOURCES = _sources()


def _users(top: str) -> set[str]:
    return {p for p, mods in SOURCES if any(m == top or m.startswith(top + ".") for m in mods)}


def test_there_is_source_to_check() -> None:
    assert len(SOURCES) > 20


def test_only_drivers_pcsc_imports_pyscard() -> None:
    bad = {p for p in _users("smartcard") if not p.startswith("drivers/pcsc")}
    assert not bad, f"pyscard imported outside drivers/pcsc*: {bad}"


def test_only_the_printer_driver_imports_escpos() -> None:
    bad = {p for p in _users("escpos") if not p.startswith("drivers/printer/")}
    assert not bad, f"escpos imported outside drivers/printer: {bad}"


def test_only_terminal_ui_imports_kivy() -> None:
    bad = {p for p in _users("kivy") if not p.startswith("terminal_ui/")}
    assert not bad, f"kivy imported outside terminal_ui: {bad}"


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("cardlib", ("drivers", "simulators", "kiosk", "terminal_ui", "backend_sync")),
        ("simulators", ("kiosk", "terminal_ui", "backend_sync", "drivers")),
        ("drivers", ("kiosk", "terminal_ui", "backend_sync", "simulators")),
        ("backend_sync", ("kiosk", "terminal_ui", "drivers", "simulators")),
        ("kiosk", ("terminal_ui",)),
    ],
)
def test_imports_point_down(package: str, forbidden: tuple[str, ...]) -> None:
    bad = []
    for path, mods in SOURCES:
        if not path.startswith(package + "/"):
            continue
        if path == "kiosk/cli.py" or path.startswith("kiosk/demo/"):
            continue  # the composition root and the TEST ONLY demo tooling wire everything
        for mod in mods:
            if mod.split(".")[0] in forbidden:
                bad.append(f"{path} imports {mod}")
    assert not bad, "\n".join(bad)


def test_central_uses_only_cardlib_crypto() -> None:
    bad = []
    for path, mods in SOURCES:
        if path.startswith("backend_sync/central/"):
            bad += [
                f"{path} imports {m}"
                for m in mods
                if m.startswith("cardlib.")
                # layout and perso_script: data formats and the issuer's command script,
                # pure computation (the central personalizes through a counter's relay)
                and m.split(".")[1]
                not in ("crypto", "keys", "certs", "errors", "layout", "perso_script")
            ]
    assert not bad, "\n".join(bad)


def test_product_modules_of_the_kiosk_use_no_simulator_nor_the_central() -> None:
    """The kiosk's product code reaches devices and the central only through drivers
    and backend_sync.terminal; simulators, the central and the TEST ONLY demo tooling
    are wired in by the composition root (kiosk/cli.py) and kiosk/demo/ alone."""
    bad = []
    for path, mods in SOURCES:
        if not path.startswith("kiosk/") or path == "kiosk/cli.py":
            continue
        if path.startswith("kiosk/demo/"):
            continue
        for mod in mods:
            if (
                mod.split(".")[0] == "simulators"
                or mod == "backend_sync.central"
                or mod.startswith("backend_sync.central.")
                or mod == "kiosk.demo"
                or mod.startswith("kiosk.demo.")
            ):
                bad.append(f"{path} imports {mod}")
    assert not bad, "\n".join(bad)
