#!/usr/bin/env python3
"""Regenerate the sample receipt pictures in docs/ (seeded: same seed, same PNGs).

Each sample is built by kiosk.receipts, printed by the real driver over TCP to the
ESC/POS simulator configured as the matching printer model, and the simulator's
rendering is copied out. The terminal key is derived from the seed (TEST ONLY).

Usage: .venv/bin/python scripts/receipt_samples.py [--out docs/img/receipts] [--seed 1]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from drivers.printer.printer import Printer
from drivers.printer.profiles import PROFILES
from kiosk.receipts.layouts import ReceiptKind, key_signer
from kiosk.receipts.samples import sample_context, sample_documents
from kiosk.receipts.signing import make_test_terminal_identity
from simulators.printer.server import PrinterSimulator

# (profile, language, kinds): every kind in zh-Hans on the GB18030 printer, and a
# selection on the other two so each rendering path is shown.
PLAN: list[tuple[str, str, tuple[ReceiptKind, ...]]] = [
    ("gb18030-80mm", "zh-Hans", tuple(ReceiptKind)),
    ("gb18030-80mm", "en", (ReceiptKind.PURCHASE,)),
    ("nocjk-58mm", "zh-Hans", (ReceiptKind.PURCHASE, ReceiptKind.TEST_PAGE)),
    ("noqr-80mm", "zh-Hant", (ReceiptKind.FINE_PAYMENT, ReceiptKind.TEST_PAGE)),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img/receipts"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    identity = make_test_terminal_identity(
        sample_context(args.seed).terminal.terminal_id, seed=args.seed
    )
    signer = key_signer(identity.private_key)
    with tempfile.TemporaryDirectory() as tmp:
        for profile_name, language, kinds in PLAN:
            profile = PROFILES[profile_name]
            docs = sample_documents(args.seed, signer, language=language, profile_name=profile_name)
            jobs_dir = Path(tmp) / f"{profile_name}-{language}"
            with PrinterSimulator.model(profile_name, jobs_dir, idle_end=0.2) as sim:
                url = f"tcp://127.0.0.1:{sim.start_tcp()}"
                with Printer(url, profile, timeout=2.0) as printer:
                    for kind in kinds:
                        printer.print_document(docs[kind])
                jobs = sim.wait_for_jobs(len(kinds))
            for kind, job in zip(kinds, jobs, strict=True):
                target = args.out / f"{kind.value}-{language}-{profile_name}.png"
                shutil.copyfile(jobs_dir / f"job-{job.number:04d}.png", target)
                print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
