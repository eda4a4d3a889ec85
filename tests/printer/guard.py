"""Run the ESC/POS interpreter on one input in a child process, under a time and memory guard.

A hang or a runaway allocation in the child cannot take the test run (or the machine)
with it: the child has an address-space limit and a wall-clock timeout, and reports
its own peak RSS, the jobs it printed and any exception that escaped ``feed``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
limit = int(sys.argv[3]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from simulators.printer.interpreter import EscPosInterpreter
from simulators.printer.server import MODELS
data = open(sys.argv[1], "rb").read()
chunk = int(sys.argv[4])
zeros, filler = int(sys.argv[5]), bytes(chunk)
interp = EscPosInterpreter(**MODELS[sys.argv[2]])
start = time.perf_counter()
error = None
try:
    for i in range(0, len(data), chunk):
        interp.feed(data[i : i + chunk])
    for i in range(0, zeros, chunk):
        interp.feed(filler[: min(chunk, zeros - i)])
    interp.end_job()
except BaseException as exc:  # the report is the point: nothing may escape feed
    error = f"{type(exc).__name__}: {exc}"[:300]
report = {
    "seconds": time.perf_counter() - start,
    # VmHWM, this process's own peak: ru_maxrss keeps the high-water mark of the
    # (large) pytest process this child was forked from, across exec.
    "peak_mib": next(
        int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")
    ) / 1024,
    "error": error,
    "jobs": [
        {"text": j.text[:2000], "log": list(j.log), "height": j.image.height}
        for j in interp.jobs
    ],
}
print(json.dumps(report))
"""


@dataclass(frozen=True)
class GuardedRun:
    """What the child reported, or why it did not."""

    seconds: float
    peak_mib: float
    error: str | None
    jobs: list[dict[str, object]]


def run_guarded(
    data: bytes,
    *,
    model: str = "gb18030-80mm",
    timeout: float = 30.0,
    memory_mib: int = 1024,
    chunk: int = 65536,
    zeros: int = 0,
) -> GuardedRun:
    """Feed ``data`` (in ``chunk``-byte reads, as the TCP server does) in a child, then
    ``zeros`` NUL bytes made there (so a huge stream costs the test nothing to hold)."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(data)
        f.flush()
        try:
            res = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _CHILD,
                    f.name,
                    model,
                    str(memory_mib),
                    str(chunk),
                    str(zeros),
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return GuardedRun(timeout, 0.0, f"hang: no result within {timeout} s", [])
    if res.returncode != 0 or not res.stdout.strip():
        tail = res.stderr.strip().splitlines()[-1:] or [f"exit {res.returncode}"]
        return GuardedRun(0.0, 0.0, f"child died: {tail[0]}", [])
    report = json.loads(res.stdout.strip().splitlines()[-1])
    return GuardedRun(report["seconds"], report["peak_mib"], report["error"], report["jobs"])
