"""Receipt printing speed: build + send a purchase receipt, and render it in the simulator.

- build+send: lay out and sign a purchase receipt, encode it for the profile, check
  status, send over TCP, check status again, against the simulator running as a
  separate process (``civicard sim printer``), so its work does not share this
  process's interpreter lock.
- render: the simulator interpreting those bytes into a job picture and text.
- interpretation: the simulator fed 1 MB in 4 KB reads (as its server does), in a
  child process each, so the peak RSS is that workload's: bytes interpreted per
  second and peak memory (and the child's RSS before feeding) for
  ``receipts`` (purchase receipts back to back, every one drawn), ``one job``
  (the same receipt without cut or ESC @ repeated into one 1 MB job: drawn up to
  the job length limit, then counted), ``random`` (seeded random bytes) and
  ``worst`` (random Chinese characters at 8 x 8 size with 255-dot line spacing,
  a new job every 2 KB: the most pixels per byte a stream can ask for).

Usage: .venv/bin/python bench/bench_printer.py [--rounds 30] [--only-interpretation]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
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


MB = 1 << 20
WORKLOADS = ("receipts", "one job", "random", "worst")


def _workload(name: str, receipt: bytes) -> bytes:
    rng = random.Random(1)
    if name == "receipts":
        return (receipt * (MB // len(receipt) + 1))[:MB]
    if name == "one job":
        body = receipt.replace(b"\x1dV", b"").replace(b"\x1b@", b"")
        return b"\x1b@" + (body * (MB // len(body) + 1))[: MB - 2]
    if name == "random":
        return rng.randbytes(MB)
    out = bytearray()
    while len(out) < MB:  # worst: big glyphs, all different, tall lines
        out += b"\x1b@\x1d!\x77\x1b3\xff\x1c&"
        chars = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(800))
        out += chars.encode("gb18030") + b"\n"
    return bytes(out[:MB])


def _interpret_child(model: str, workload: str) -> None:
    """Run in a child: feed one workload, print its figures as JSON."""
    identity = make_test_terminal_identity("KSK-0001", seed=1)
    doc = _purchase(key_signer(identity.private_key))
    data = _workload(workload, Printer("file:///dev/null", PROFILES[model]).encode(doc))
    interp = EscPosInterpreter(**MODELS[model])  # type: ignore[arg-type]
    interp.feed(b"\x1b@warm\n\x1dV\x00")  # fonts loaded before the clock starts
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    for i in range(0, len(data), 4096):
        interp.feed(data[i : i + 4096])
    interp.end_job()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    paper_m = interp.printed_dots / 8 / 1000  # 8 dots per mm
    figures = {"rate": len(data) / seconds, "before": before, "peak": peak}
    print(json.dumps({**figures, "jobs": interp.job_count, "paper": paper_m / seconds}))


def _interpretation() -> None:
    print("\ninterpretation of 1 MB, 4 KB reads (simulator in a child process per row)")
    print("(paper m/s: paper drawn per second; a thermal receipt printer prints ~0.3 m/s)")
    head = ("profile", "workload", "KB/s", "RSS before", "peak MiB", "jobs", "paper m/s")
    row = "{:<14} {:<9} {:>8} {:>11} {:>9} {:>5} {:>10}"
    print(row.format(*head))
    for name in PROFILES:
        for workload in WORKLOADS:
            out = subprocess.run(
                [sys.executable, __file__, "--child", name, workload],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            cells = (f"{r['rate'] / 1000:.0f}", f"{r['before']:.0f}", f"{r['peak']:.0f}")
            print(row.format(name, workload, *cells, r["jobs"], f"{r['paper']:.1f}"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--only-interpretation", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _interpret_child(*args.child)
        return 0
    if args.only_interpretation:
        _interpretation()
        return 0
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
    _interpretation()
    return 0


if __name__ == "__main__":
    sys.exit(main())
