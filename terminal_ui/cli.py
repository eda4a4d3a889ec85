"""``civicard screen``: a kiosk with its touch screen, built from its config alone.

The same runtime as ``civicard kiosk run`` (PC/SC readers, PSAM, printer, central,
sync; ``kiosk.runtime``), drawn by the Kivy kiosk screen: fullscreen and in kiosk
mode (Escape, F1 and closing do nothing) unless ``--windowed``. Kivy is imported
only when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("screen", help="run a kiosk with its touch screen, from its config")
    p.add_argument("--config", type=Path, required=True, help="kiosk TOML file")
    p.add_argument("--windowed", action="store_true", help="a window, not kiosk mode")
    p.add_argument("--size", default="1080x1920", help="window size WxH (default 1080x1920)")
    p.add_argument(
        "--shuffle-pin-pad", action="store_true", help="shuffle the PIN pad's keys (or [screen])"
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config
    from kiosk.runtime import KioskBuildError, build_runtime

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"--size: expected WxH, got {args.size!r}", file=sys.stderr)
        return 2
    try:
        cfg = load_config(args.config)
        rt = build_runtime(cfg)
    except (ConfigError, KioskBuildError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    from terminal_ui.env import prepare

    prepare(home=cfg.data_dir / "kivy", size=(width, height), fullscreen=not args.windowed)
    from drivers.speech import EspeakNg, SpeechError
    from terminal_ui.app import KioskApp

    try:
        headset = EspeakNg()  # spoken guidance when the citizen presses the headset key
    except SpeechError as exc:
        print(f"no spoken guidance: {exc}", file=sys.stderr)
        headset = None
    app = KioskApp(
        rt.controller,
        languages=tuple(lang.value for lang in cfg.languages),
        shuffle_pin_pad=args.shuffle_pin_pad or cfg.shuffle_pin_pad,
        kiosk_mode=not args.windowed,
        speech=headset,
    )
    rt.start()
    try:
        app.run()
    finally:
        rt.stop()
    return 0
