"""``civicard sim idcard``: the identity card reader simulator on a pty.

It prints the serial URL a station's driver opens (``drivers/idcard.py``). Type on
standard input: ``list`` (the demo documents), ``place N`` (lay document N, or a
number or name, on the reader), ``take``, ``mute`` / ``unmute`` (the SAM stops or
resumes answering), ``corrupt N`` (the next N answers with a bad check byte),
``quit``.
"""

from __future__ import annotations

import argparse
import sys
import threading


def register_sim(sim_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``idcard`` device to the ``civicard sim`` group."""
    p = sim_sub.add_parser("idcard", help="resident identity card reader simulator (a pty)",
                           description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--place", metavar="N", help="start with demo document N on the reader")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from simulators.idcard import DEMO_DOCUMENTS, IdCardSimulator, demo_document

    sim = IdCardSimulator()
    print(f"identity card reader simulator: serial://{sim.start_pty()}?baudrate=115200",
          flush=True)  # fmt: skip
    if args.place:
        sim.place(demo_document(args.place))
    try:
        if sys.stdin is None or not sys.stdin.readable():
            threading.Event().wait()
        for line in sys.stdin:
            word, _, arg = line.strip().partition(" ")
            if word == "quit":
                break
            try:
                if word == "list":
                    for n, d in enumerate(DEMO_DOCUMENTS, start=1):
                        print(f"{n:2d} {d.document_type.value:13s} {d.name or d.english_name}")
                elif word == "place":
                    sim.place(demo_document(arg))
                elif word == "take":
                    sim.take()
                elif word in ("mute", "unmute"):
                    sim.mute = word == "mute"
                elif word == "corrupt":
                    sim.corrupt_answers = int(arg or "1")
                elif word:
                    print("unknown: one of list, place N, take, mute, unmute, corrupt N, quit")
                    continue
                print("ok", flush=True)
            except (KeyError, ValueError) as exc:
                print(f"refused: {exc}", flush=True)
        else:
            threading.Event().wait()  # stdin closed: run until Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
