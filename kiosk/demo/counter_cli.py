"""``civicard counter``: the window clerk's counter station.

``--demo`` runs it on simulators with the embedded central (like ``civicard demo``):
the clerk's and the citizen's card readers, blank cards, the identity card reader on
a pty, the printer simulator. With a display it opens the station's window, the
TEST ONLY device buttons under the citizen's PIN pad; with none (or ``--offscreen``)
a clerk's shift is walked through the real widgets and the screenshots, receipts and
ledger are listed. The demo's clerk card is 柜员 陈静, PIN 800001 (TEST ONLY).

``--config FILE`` is the station on real devices (``kiosk.counter.runtime``): the
clerk's, the citizen's and the PSAM's PC/SC readers (and a supervisor's), the identity
card reader on a serial port, the receipt printer, the central's URL and keys. A bad
file or a device it names that cannot be opened: the key at fault, exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("counter", help="the window clerk's counter station",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--demo", action="store_true", help="on simulators and an embedded central")
    mode.add_argument("--config", type=Path, help="the station's config file (real devices)")
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="demo data folder (default: $CIVICARD_DATA/counter or var/counter)",
    )
    p.add_argument(
        "--offscreen",
        action="store_true",
        help="walk a clerk's shift offscreen and save screenshots, even with a display",
    )
    p.add_argument("--language", default="zh-Hans", help="zh-Hans, zh-Hant or en")
    p.add_argument("--check", action="store_true",
                   help="with --config: open the devices, say what is there, stop")  # fmt: skip
    p.set_defaults(handler=run_counter)


def run_counter(args: argparse.Namespace) -> int:
    if args.config is not None:
        lang = args.language if args.language != "zh-Hans" else None
        return run_config(args.config, lang, run=not args.check)
    import shutil

    from terminal_ui.env import has_display, prepare

    data = args.data or Path(os.environ.get("CIVICARD_DATA", "var")) / "counter"
    shutil.rmtree(data, ignore_errors=True)  # fresh cards and central every time
    offscreen = args.offscreen or not has_display()
    prepare(home=data / "kivy", size=(1920, 1080) if offscreen else (1600, 900),
            offscreen=offscreen)  # fmt: skip
    if offscreen:
        from terminal_ui.counter.tour import tour

        shots = data / "screens"
        result = tour(data, shots)
        for path in result["pictures"]:
            print(f"screen  {path}")
        print(f"printer {len(result['receipt_text'])} receipt(s) in {data / 'world' / 'printer'}")
        print(f"issued  {result['issued']}")
        print(f"ledger  refunded card {result['ledger']} fen, "
              f"{result['mismatches']} reconciliation mismatches")  # fmt: skip
        for finding in result["findings"]:
            print(f"layout  {finding}")
        return 0
    from kiosk.demo.counter_world import CounterWorld
    from terminal_ui.counter.demo import make_counter_app

    cw = CounterWorld.build(data / "world")
    try:
        clerk = cw.clerk_card()
        print(f"TEST ONLY clerk card: {clerk.name}, PIN {clerk.pin}")
        make_counter_app(cw, cw.ports(args.language), language=args.language).run()
    finally:
        cw.close()
    return 0


def run_config(path: Path, language: str | None = None, *, run: bool = True) -> int:
    """The station on the devices ``path`` names; 2 with the key at fault when it cannot
    be built. ``run=False`` builds, says what it opened, and closes (a check)."""
    from kiosk.counter.runtime import CounterConfigError, build_counter, load_counter_config
    from terminal_ui.i18n import load_catalog

    try:
        values = load_counter_config(path, env=os.environ)
        lang = language or values["counter.language"]
        rt = build_counter(values, translate=load_catalog(lang).gettext)
    except CounterConfigError as exc:
        print(f"civicard counter --config {path}: {exc}", file=sys.stderr)
        return 2
    try:
        st = rt.station
        print(f"counter {st.terminal_id} drawer {st.drawer} central {values['central.url']}")
        if run:
            from terminal_ui.counter.app import CounterApp
            from terminal_ui.counter.station import Station
            from terminal_ui.env import prepare

            prepare(home=Path(values["counter.data_dir"]) / "kivy", size=(1600, 900),
                    offscreen=False)  # fmt: skip
            CounterApp(Station(rt.ports), language=lang).run()
    finally:
        rt.close()
    return 0
