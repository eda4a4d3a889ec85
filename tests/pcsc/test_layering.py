"""Only drivers/pcsc*.py may import pyscard (``smartcard``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["cardlib", "kiosk", "drivers", "simulators", "backend_sync", "terminal_ui", "bench"]


def _imports_smartcard(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name == "smartcard" or a.name.startswith("smartcard.") for a in node.names
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and (node.module == "smartcard" or node.module.startswith("smartcard."))
        ):
            return True
    return False


def test_only_drivers_pcsc_modules_import_smartcard() -> None:
    offenders = []
    allowed = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if not _imports_smartcard(path):
                continue
            if rel.parts[0] == "drivers" and len(rel.parts) == 2 and rel.name.startswith("pcsc"):
                allowed.append(rel)
            else:
                offenders.append(str(rel))
    assert offenders == []
    assert Path("drivers/pcsc.py") in allowed  # the check looks at the right files


def test_the_check_catches_an_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from smartcard.scard import SCardConnect\n", encoding="utf-8")
    assert _imports_smartcard(bad)
