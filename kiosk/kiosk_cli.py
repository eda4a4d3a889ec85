"""``civicard kiosk``: check a kiosk config, or run a kiosk headless on real devices.

- ``civicard kiosk config FILE`` validates the TOML (and the environment overrides)
  and prints the effective settings, or the key that is wrong and why.
- ``civicard kiosk run --config FILE`` builds the kiosk from its config (PC/SC
  readers, PSAM, printer, central) and prints each screen as text: a technician's
  view of a kiosk without its touch screen. The touch UI runs the same runtime.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("kiosk", help="kiosk config check; headless kiosk on real devices")
    sub = p.add_subparsers(dest="kiosk_command", metavar="ACTION", required=True)
    c = sub.add_parser("config", help="validate a kiosk config and print the effective settings")
    c.add_argument("file", type=Path, nargs="?", help="TOML file (default: environment only)")
    c.set_defaults(handler=_config)
    r = sub.add_parser("run", help="run a kiosk headless, printing each screen")
    r.add_argument("--config", type=Path, required=True, help="TOML file")
    r.set_defaults(handler=_run)


def _config(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config

    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name == "languages":
            value = ", ".join(v.value for v in value)
        print(f"{f.name:24s} {value}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config
    from kiosk.core.views import ScreenChanged
    from kiosk.describe import describe
    from kiosk.runtime import KioskBuildError, build_runtime

    try:
        rt = build_runtime(load_config(args.config))
    except (ConfigError, KioskBuildError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    print(f"kiosk {rt.terminal_id}: card reader {rt.card_reader!r}, PSAM {rt.psam_reader!r}")
    rt.controller.subscribe(
        lambda e: print("\n".join(describe(e.screen)), flush=True)
        if isinstance(e, ScreenChanged) else None
    )  # fmt: skip
    rt.start()
    try:
        threading.Event().wait()
    finally:
        rt.stop()
    return 0
