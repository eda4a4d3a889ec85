"""The SIGKILL campaign at scale: many kiosk lives killed at seeded points.

CI runs 30 lives (tests/backend_sync/test_kiosk_killed.py); this runs the same
test with more lives and several seeds, and prints how long a life takes. Every
campaign must pass: after restart and sync, cards, outbox and ledger agree.

    .venv/bin/python bench/bench_kiosk_kill.py [--runs 100] [--seeds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100, help="kiosk lives per campaign")
    ap.add_argument("--seeds", type=int, default=2, help="campaigns, each with its own seed")
    args = ap.parse_args()
    per_life = []
    failures = 0
    for k in range(args.seeds):
        seed = 7_000_000 + 1_000 * k
        env = {**os.environ, "CIVICARD_KILL_RUNS": str(args.runs), "CIVICARD_KILL_SEED": str(seed)}
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "tests/backend_sync/test_kiosk_killed.py", "--timeout", "3600"],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
        dt = time.perf_counter() - t0
        ok = res.returncode == 0
        failures += not ok
        per_life.append(dt / (args.runs + 1))
        last = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
        print(f"seed {seed}: {args.runs} lives killed at seeded points: "
              f"{'agree' if ok else 'DISAGREE'} ({dt:.0f} s; {last})")  # fmt: skip
        if not ok:
            print(res.stdout[-3000:])
    print(f"{args.seeds * args.runs} kiosk lives, {failures} failed campaigns; "
          f"median {statistics.median(per_life):.2f} s per life")  # fmt: skip
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
