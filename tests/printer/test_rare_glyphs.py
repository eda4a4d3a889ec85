"""Rare characters on paper: a raster line falls back per glyph to a font that has it.

WenQuanYi, the CJK font the printer path prefers, lacks CJK Extension A (䶮, U+4DAE),
which people's names use; the no-CJK profile draws such lines as images, so before
issue 15 the name printed as a box. A character no installed font has (U+E000, a
private-use code point) is still a visible box, never dropped.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from drivers.printer.printer import Printer
from drivers.printer.profiles import NO_CJK_58MM
from drivers.printer.raster import render_text_line
from kiosk.receipts.formatting import LOCAL_TZ
from kiosk.receipts.layouts import CardHolder, Purchase, Terminal, build_receipt, key_signer
from kiosk.receipts.signing import TerminalIdentity
from simulators.printer.paper import glyph
from tests.printer.conftest import OUT, simulator_for

RARE = "䶮"  # CJK Extension A
NOWHERE = "\ue000"  # private use: no installed font draws it


def _cell(text: str, at: int) -> bytes:
    """The pixels of the two-cell character at cell ``at`` of a raster line."""
    line = render_text_line(text, NO_CJK_58MM).convert("L")
    cell = NO_CJK_58MM.cell_dots
    return line.crop((at * cell, 0, (at + 2) * cell, line.height)).tobytes()


def test_a_rare_character_is_drawn_not_boxed_in_a_raster_line() -> None:
    rare, box = _cell("*" + RARE, 1), _cell("*" + NOWHERE, 1)
    assert rare != box  # drawn by the fallback face, not the missing-glyph box
    assert 0 in rare  # with ink
    assert 0 in box  # and an unknown character still shows (a box), never blank


def test_the_simulator_also_falls_back_per_glyph() -> None:
    drawn, box = glyph(RARE, 2, False), glyph(NOWHERE, 2, False)
    assert drawn.tobytes() != box.tobytes() and 0 in drawn.tobytes()


@pytest.mark.skipif(not shutil.which("fc-list"), reason="fontconfig finds the fonts")
def test_receipt_with_a_rare_name_on_the_no_cjk_printer(
    tmp_path: Path, identity: TerminalIdentity
) -> None:
    """Printed through the real driver to the simulator; the PNG is kept to look at."""
    at = dt.datetime(2026, 11, 28, 13, 30, 5, tzinfo=LOCAL_TZ)
    doc = build_receipt(
        Purchase("市民中心·便民超市", "矿泉水", 1_250, 48_730, "T20261128-0001-000123", 47, at),
        terminal=Terminal(identity.terminal_id, "张家港市民中心"),
        card=CardHolder("3205820012345678", "刘" + RARE),
        signer=key_signer(identity.private_key),
        language="zh-Hans",
    )
    sim = simulator_for(NO_CJK_58MM, OUT / "rare-glyphs")
    port = sim.start_tcp()
    try:
        with Printer(f"tcp://127.0.0.1:{port}", NO_CJK_58MM) as printer:
            printer.print_document(doc)
        [job] = sim.wait_for_jobs(1)
    finally:
        sim.stop()
    assert any(getattr(b, "value", "") == "*" + RARE for b in doc.blocks)  # the masked name
    assert job.text.count("[GS ( L") > 3 and not job.unknown and not job.log
