"""kiosk/diagnostics is a facade the maintenance journey calls: no Kivy, no kiosk.core."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_diagnostics_imports_neither_kivy_nor_the_kiosk_core() -> None:
    bad = []
    files = sorted((ROOT / "kiosk" / "diagnostics").glob("*.py"))
    assert len(files) > 5
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            bad += [f"{path.name}: {n}" for n in names
                    if n.split(".")[0] == "kivy" or n.startswith("kiosk.core")]  # fmt: skip
    assert not bad, bad
