"""``civicard sim printer``: run the ESC/POS printer simulator on TCP and/or a pty.

Type fault commands on standard input while it runs (``paper-out``, ``load-paper``,
``near-end``, ``cover-open``, ``cover-close``, ``offline``, ``online``, ``mute``,
``unmute``, ``status``, ``quit``); each finished job is written to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path


def register_sim(sim_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``printer`` device to the ``civicard sim`` group."""
    from simulators.printer.server import MODELS

    p = sim_sub.add_parser(
        "printer",
        help="ESC/POS receipt printer simulator (TCP 9100 and/or a pty)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", choices=sorted(MODELS), default="gb18030-80mm")
    p.add_argument("--host", default="127.0.0.1", help="TCP address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9100, help="TCP port, 0 = any free (default 9100)")
    p.add_argument("--no-tcp", action="store_true", help="do not listen on TCP")
    p.add_argument("--pty", action="store_true", help="also open a pseudo-terminal (serial)")
    p.add_argument("--out", type=Path, default=Path("out/printer"), help="job PNG/text folder")
    p.add_argument("--near-end", action="store_true", help="start with paper near end")
    p.add_argument("--paper-out-after", type=int, metavar="LINES", help="paper runs out")
    p.add_argument("--mute-after", type=int, metavar="ANSWERS", help="status answers stop")
    p.add_argument(
        "--read-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="close a TCP connection silent this long (default 60)",
    )
    p.set_defaults(handler=_run)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Standalone use: a ``sim`` group holding only the printer."""
    sim = subparsers.add_parser("sim", help="run simulated devices")
    register_sim(sim.add_subparsers(dest="sim_command", metavar="DEVICE"))


_COMMANDS: dict[str, dict[str, object]] = {
    "paper-out": {"paper": "out"},
    "near-end": {"paper": "near_end"},
    "load-paper": {"paper": "adequate", "paper_out_after_lines": None},
    "cover-open": {"cover_open": True},
    "cover-close": {"cover_open": False},
    "offline": {"offline": True},
    "online": {"offline": False},
    "mute": {"mute": True},
    "unmute": {"mute": False, "mute_after_answers": None},
}


def _run(args: argparse.Namespace) -> int:
    from simulators.printer.interpreter import PaperState
    from simulators.printer.server import PrinterSimulator

    sim = PrinterSimulator.model(args.model, args.out, read_timeout=args.read_timeout)
    if args.near_end:
        sim.set_faults(paper=PaperState.NEAR_END)
    if args.paper_out_after is not None:
        sim.set_faults(paper_out_after_lines=args.paper_out_after)
    if args.mute_after is not None:
        sim.set_faults(mute_after_answers=args.mute_after)
    if not args.no_tcp:
        port = sim.start_tcp(args.host, args.port)
        print(f"printer simulator ({args.model}): tcp://{args.host}:{port}", flush=True)
    if args.pty:
        print(f"printer simulator ({args.model}): serial://{sim.start_pty()}", flush=True)
    print(f"jobs are written to {args.out}/", flush=True)
    try:
        if sys.stdin is None or not sys.stdin.readable():
            threading.Event().wait()
        for line in sys.stdin:
            word = line.strip()
            if word == "quit":
                break
            if word == "status":
                print(sim.faults, f"jobs={len(sim.jobs)}", f"unknown={sim.unknown_commands}")
            elif word in _COMMANDS:
                changes = dict(_COMMANDS[word])
                if "paper" in changes:
                    changes["paper"] = PaperState(str(changes["paper"]))
                sim.set_faults(**changes)
                print("ok", flush=True)
            elif word:
                print(f"unknown: {word}; one of {', '.join([*_COMMANDS, 'status', 'quit'])}")
        else:
            threading.Event().wait()  # stdin closed (e.g. </dev/null): run until Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
