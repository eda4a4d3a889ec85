"""``civicard demo``: the README's main job.

Until the kiosk UI lands, the demo is a whole scripted citizen session on
simulated devices and an embedded central (``civicard session`` with its default
script): card inserted and checked (hotlist, expiry, authenticity), PIN, balance,
a water bill fetched from the central and paid from the e-purse (the payment
order held before the debit, the intent in the outbox before DEBIT), the receipt
printed on the simulated printer, the record uploaded and posted to the ledger,
card taken. No root, no display needed.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("demo", help="scripted citizen session on simulators")
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="data folder (default: $CIVICARD_DATA/demo or var/demo)",
    )
    p.add_argument("--language", default="zh-Hans", help="zh-Hans, zh-Hant or en")
    p.add_argument("--script", type=Path, default=None, help="another session script (text)")
    p.add_argument("--text", action="store_true", help="the text session only (no kiosk screen)")
    p.add_argument(
        "--offscreen",
        action="store_true",
        help="drive the kiosk screen offscreen and save screenshots, even with a display",
    )
    p.add_argument(
        "--pcsc",
        action="store_true",
        help="card and PSAM through the real pcscd + vpcd virtual reader (root, no other pcscd)",
    )
    p.add_argument("--landscape", action="store_true", help="a 16:9 kiosk screen (default 9:16)")
    p.add_argument(
        "--console", action="store_true",
        help="after the offscreen session, keep the embedded central and its staff console "
             "running until Ctrl-C",
    )  # fmt: skip
    p.add_argument("--shuffle-pin-pad", action="store_true", help="shuffle the PIN pad's keys")
    p.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    import shutil

    from kiosk.demo.session_cli import DEFAULT_SCRIPT, run_script

    data = args.data or Path(os.environ.get("CIVICARD_DATA", "var")) / "demo"
    # Each demo starts from fresh cards, central and outbox, so it reads the same
    # every time (the script pays bill 1000001 once).
    shutil.rmtree(data, ignore_errors=True)
    if not (args.text or args.script):
        return _run_kiosk_screen(args, data)
    script = args.script.read_text(encoding="utf-8") if args.script else DEFAULT_SCRIPT
    return run_script(script, data=data, language=args.language, pcsc=args.pcsc)


def _run_kiosk_screen(args: argparse.Namespace, data: Path) -> int:
    """The kiosk screen (terminal_ui) on the same simulated world: a window with the
    demo panel, or, with no display, a scripted citizen on the real widgets offscreen."""
    from terminal_ui.env import has_display, prepare

    data = data.resolve()  # the paths printed at the end must work from anywhere
    offscreen = args.offscreen or not has_display()
    portrait = not args.landscape
    if offscreen:
        size = (1080, 1920) if portrait else (1920, 1080)
    else:
        size = (1280, 900) if portrait else (1600, 900)
    prepare(home=data / "kivy", size=size, offscreen=offscreen)

    from kiosk.core.clock import SystemClock
    from kiosk.demo.world import DemoWorld

    print(
        "civicard demo: building the TEST ONLY world (wallet, central, departments, printer) in",
        data,
    )
    world = DemoWorld.build(data, clock=SystemClock(), pcsc=args.pcsc, departments_process=True)
    controller = world.controller
    receipts = data / "printer"
    try:
        if offscreen:
            from terminal_ui.demo import run_offscreen

            shots = data / "screens"
            print("no display: a citizen pays her water bill on the kiosk screen, offscreen.")
            print("screenshots:")
            run_offscreen(controller, insert=world.insert, remove=world.remove,
                          pin_of=lambda who: str(world.citizen(int(who)).pin), out=shots,
                          language=args.language)  # fmt: skip
            world.agent.run_once()
            print(f"receipts printed by the simulated printer: {receipts}")
            for job in sorted(receipts.glob("job-*.png")):
                print(f"  {job}")
            for line in world.summary():
                print(f"  {line}")
            print(f"done: screenshots in {shots}, receipts in {receipts}")
            if args.console:
                _print_diagnose(world)
                stop = start_heartbeats(world)
                try:
                    _serve_console(world.central_url)
                finally:
                    stop.set()
            else:
                print("the staff console: run `civicard demo --console` to keep it open")
            return 0
        from simulators.printer.interpreter import PaperState
        from terminal_ui.demo import run_window
        from terminal_ui.widgets.demo_panel import DemoActions

        citizens = [c for c in world.wallet.cards() if c.role == "citizen"]
        people = [(str(i), f"{c.name} · PIN {c.pin}") for i, c in enumerate(citizens, 1)]
        sim = world.printer_sim

        def paper(on: bool) -> None:
            if on:
                sim.load_paper()
            else:
                sim.set_faults(paper=PaperState.OUT)

        # The technician's card opens the maintenance mode (status, self-tests...).
        operators = [(c.asn, f"Technician card · PIN {c.pin}")
                     for c in world.wallet.cards() if c.role == "technician"]  # fmt: skip
        actions = DemoActions(people, world.insert, world.remove, receipts, paper,
                              operators=operators)  # fmt: skip
        print("a kiosk window opens; insert a demo card from the panel on its right.")
        _print_console(world.central_url)
        return run_window(controller, actions, shuffle_pin_pad=args.shuffle_pin_pad,
                          portrait=portrait, speech=_headset())  # fmt: skip
    finally:
        world.close()


def _headset() -> object | None:
    """espeak-ng as the demo kiosk's headset (the audio mode), when it is installed."""
    from drivers.speech import EspeakNg, SpeechError

    try:
        return EspeakNg()
    except SpeechError as exc:
        print(f"no headset: {exc}")
        return None


def _print_console(central_url: str) -> None:
    from kiosk.demo.staff import DEMO_STAFF, DEMO_STAFF_PASSWORD

    users = ", ".join(u for u, *_ in DEMO_STAFF)
    print(f"staff console: {central_url.replace('127.0.0.1', 'localhost')}/console")
    print(f"  TEST ONLY logins: {users}; password {DEMO_STAFF_PASSWORD}")


def start_heartbeats(world: Any) -> threading.Event:
    """The demo kiosk's heartbeats, as a kiosk sends them (one at start, one a minute,
    one on every change), while the console stays open: the fleet page shows it.
    Set the event returned to stop them."""
    stop = threading.Event()
    sender = getattr(world.kiosk, "heartbeat", None)
    if sender is not None:
        threading.Thread(target=sender.run, args=(stop,), name="heartbeat", daemon=True).start()
    return stop


def _print_diagnose(world: Any) -> None:
    """A kiosk config for the technician's shell, naming this demo's printer, central
    and data folder (``var/demo/kiosk.toml``): ``civicard diagnose`` on it while the
    demo stays open. Its readers are PC/SC's (the demo's are in this process)."""
    root = Path(world.root).resolve()
    cfg = root / "kiosk.toml"
    port = world.printer_sim.tcp_port if world.printer_sim is not None else None
    # A JSON string is a TOML basic string (the same escapes): paths quoted safely.
    lines = [
        "# TEST ONLY: the running demo's kiosk, for `civicard diagnose` (made by civicard demo)",
        "[kiosk]", f"data_dir = {json.dumps(str(root))}", 'location = "demo"',
        *(["[printer]", f'url = "tcp://127.0.0.1:{port}"'] if port else []),
        "[central]", f'url = "{world.central_url}"',
        f"central_key = {json.dumps(str(root / 'central-public.pem'))}",
        f"terminal_key = {json.dumps(str(root / 'terminal-key.pem'))}",
    ]  # fmt: skip
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"technician at a shell: civicard diagnose --config {cfg}")


def _serve_console(central_url: str) -> None:
    """Keep the embedded central serving (the world stays open) until Ctrl-C or
    SIGTERM (a script's ``kill``, a service manager's stop): either ends the demo
    through its own clean-up. SIGTERM is taken here because the offscreen window's
    SDL had made it a quit event that nothing reads once the session is over."""
    import signal
    import time

    def stop(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    _print_console(central_url)
    print("  (Ctrl-C to stop)", flush=True)
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print()
    finally:
        signal.signal(signal.SIGTERM, previous)
