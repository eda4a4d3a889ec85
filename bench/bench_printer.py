"""Receipt printing speed: build + send a purchase receipt, and render it in the simulator.

- build+send: lay out and sign a purchase receipt, encode it for the profile, check
  status, send over TCP, check status again, against the simulator running as a
  separate process (``civicard sim printer``), so its work does not share this
  process's interpreter lock.
- render: the simulator interpreting those bytes into a job picture and text.

Usage: .venv/bin/python bench/bench_printer.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from drivers.printer.document import Document
from drivers.printer.printer import Printer
from drivers.printer.profiles import PROFILES
from kiosk.receipts.formatting import LOCAL_TZ
from kiosk.receipts.layouts import CardHolder, Purchase, Signer, Terminal, build_receipt, key_signer
from kiosk.receipts.samples import sample_context
from kiosk.receipts.signing import make_test_terminal_identity
from simulators.printer.interpreter import EscPosInterpreter
from simulators.printer.server import MODELS


def _purchase(signer: Signer) -> Document:
    at = dt.datetime(2026, 11, 28, 13, 30, 5, tzinfo=LOCAL_TZ)
    return build_receipt(
        Purchase(
            "市民中心·便民超市", "矿泉水、面包", 1_250, 48_730, "T20261128-0001-000123", 4711, at
        ),
        terminal=Terminal("KSK-0001", "张家港市民中心一楼 3号机"),
        card=CardHolder("3205820012345678", "刘龑"),
        signer=signer,
        language="zh-Hans",
    )


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    fn()  # warm caches (fonts, glyphs, imports)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _start_simulator(model: str, out: Path) -> tuple[subprocess.Popen[str], str]:
    cli = Path(sys.executable).with_name("civicard")
    proc = subprocess.Popen(
        [str(cli), "sim", "printer", "--model", model, "--port", "0", "--out", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, line.rsplit(" ", 1)[-1].strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    seed = 1
    identity = make_test_terminal_identity(sample_context(seed).terminal.terminal_id, seed=seed)
    signer = key_signer(identity.private_key)

    print(f"purchase receipt, median of {args.rounds} rounds")
    print(f"{'profile':<14} {'bytes':>7} {'build ms':>9} {'build+send ms':>14} {'render ms':>10}")
    for name, profile in PROFILES.items():

        def build(name: str = name) -> bytes:
            return Printer("file:///dev/null", PROFILES[name]).encode(_purchase(signer))

        build_ms = _median_ms(build, args.rounds)
        with tempfile.TemporaryDirectory() as tmp:
            proc, url = _start_simulator(name, Path(tmp))
            try:
                with Printer(url, profile, timeout=2.0) as printer:

                    def send(printer: Printer = printer) -> None:
                        printer.print_document(_purchase(signer))

                    send_ms = _median_ms(send, args.rounds)
            finally:
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.close()
                proc.wait(timeout=30)

        data = build()

        def render(name: str = name, data: bytes = data) -> None:
            interp = EscPosInterpreter(**MODELS[name])  # type: ignore[arg-type]
            interp.feed(data)
            interp.end_job()

        render_ms = _median_ms(render, args.rounds)
        print(f"{name:<14} {len(data):>7} {build_ms:>9.1f} {send_ms:>14.1f} {render_ms:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
