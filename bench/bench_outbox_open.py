"""How long a kiosk takes to open its outbox at start-up, now that every open checks
the file (SQLite header, length, ``PRAGMA quick_check``, schema, marker) before
trusting it: median of a few opens of outboxes holding N unsent records.

    python bench/bench_outbox_open.py [--sizes 1000,10000,100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

# Run as a script (make bench): its sibling is importable as a top-level module.
from bench_catchup import TID, fill, records  # type: ignore[import-not-found]

from backend_sync.terminal.outbox import Outbox
from cardlib.crypto import Algorithm
from cardlib.keys import IssuerKeys


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    keys = IssuerKeys.generate(Algorithm.TDES)
    for n in (int(x) for x in args.sizes.split(",")):
        recs = records(keys, n)
        with tempfile.TemporaryDirectory() as tmp_s:
            path = Path(tmp_s) / "outbox.db"
            ob = Outbox(path, TID)
            fill(ob, recs)
            ob.close()
            times = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                Outbox(path, TID).close()
                times.append(time.perf_counter() - t0)
            size = path.stat().st_size / 1e6
        ms = statistics.median(times) * 1000
        print(f"{n:>7} records ({size:6.1f} MB): open median {ms:7.1f} ms")


if __name__ == "__main__":
    main()
