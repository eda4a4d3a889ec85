"""``civicard demo`` with no display: the scripted citizen on the real widgets,
offscreen, in its own process (its own window), saving screenshots and receipts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.ui


def test_demo_offscreen_saves_screenshots_and_receipts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    data = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "demo", "--data", str(data), "--language", "en"],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shots = sorted((data / "screens").glob("*.png"))
    names = [p.stem.split("-", 1)[1] for p in shots]
    assert names[0] == "attract" and "confirm" in names and "done" in names, names
    assert names[-1] == "take-card"
    with Image.open(shots[0]) as im:
        assert im.size == (1080, 1920)
    receipts = sorted((data / "printer").glob("job-*.png"))
    assert len(receipts) == 1
    assert str(data / "screens") in proc.stdout and str(data / "printer") in proc.stdout
    # The department simulator's water bill, posted at the central after sync.
    assert re.search(r"payee:water: \+[1-9][0-9]* fen", proc.stdout), proc.stdout


def test_screen_command_reports_a_bad_config_before_opening_a_window(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[printer]\nurl = "lpt://nowhere"\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "screen", "--config", str(cfg)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "printer.url" in proc.stderr


def test_demo_window_panel_inserts_cards_shows_receipts_and_runs_out_of_paper() -> None:
    shots = Path(__file__).resolve().parents[2] / "out" / "screenshots" / "demo-window"
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("demo_window_proc.py")), str(shots)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert (shots / "demo-window.png").exists()
    assert (shots / "demo-window-maintenance.png").exists()  # the technician card, from the panel


def test_the_screen_section_of_the_kiosk_config_shuffles_the_pin_pad(tmp_path: Path) -> None:
    from kiosk.config import ConfigError, load_config

    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[screen]\nshuffle_pin_pad = true\n", encoding="utf-8")
    assert load_config(cfg, env={}).shuffle_pin_pad is True
    assert load_config(None, env={}).shuffle_pin_pad is False
    assert load_config(None, env={"CIVICARD_SCREEN_SHUFFLE_PIN_PAD": "1"}).shuffle_pin_pad
    cfg.write_text('[screen]\nshuffle_pin_pad = "sometimes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"screen\.shuffle_pin_pad"):
        load_config(cfg, env={})


def test_the_demo_window_fits_the_display_it_finds() -> None:
    from terminal_ui.display import PANEL_MIN_W, Rect, fit_demo

    for display, aspect in (
        (Rect(0, 0, 1080, 1920), 9 / 16),  # a portrait screen, 1080 wide
        (Rect(1920, 0, 1080, 1920), 9 / 16),  # the same, right of a landscape one
        (Rect(0, 0, 1920, 1080), 9 / 16),
        (Rect(0, 27, 1920, 1053), 16 / 9),  # a task bar on top
        (Rect(0, 0, 1024, 768), 9 / 16),
    ):
        r = fit_demo(display, aspect)
        assert display.x <= r.x and r.x + r.w <= display.x + display.w, (display, r)
        assert display.y <= r.y and r.y + r.h <= display.y + display.h, (display, r)
        kiosk_w = r.h * aspect
        assert r.w - kiosk_w >= PANEL_MIN_W - 1, (display, r)  # the panel has its room
        assert r.h >= display.h * 0.5 or kiosk_w + PANEL_MIN_W >= display.w * 0.9


def test_demo_console_serves_diagnose_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`civicard demo --console` keeps the central open for the staff console and
    writes a kiosk config the technician's `civicard diagnose` runs against (its
    printer and central answer); a SIGTERM (a script's kill, a service manager)
    ends it, cleanly, like Ctrl-C."""
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "demo", "--console", "--data", str(tmp_path / "d"),
         "--language", "en"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        url = cfg = None
        for line in proc.stdout:
            if line.startswith("staff console: "):
                url = line.split()[-1]
            if line.startswith("technician at a shell: "):
                cfg = line.split()[-1]
            if "Ctrl-C to stop" in line or time.monotonic() > deadline:
                break
        assert url is not None and url.endswith("/console") and cfg is not None
        diag = subprocess.run(
            [sys.executable, "-m", "kiosk.cli", "diagnose", "--config", cfg, "--no-print"],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert "OK      printer" in diag.stdout and "OK      central" in diag.stdout, diag
        assert "OK      outbox" in diag.stdout or "WARNING outbox" in diag.stdout, diag.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
