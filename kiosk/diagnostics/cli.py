"""``civicard diagnose --config FILE``: the technician's status and self-tests at a shell.

Prints each device (ok / warning / fault, the facts, the next step) and each
self-test; the exit status is 1 when anything is faulty, 0 otherwise (warnings
included), 2 when the config itself is wrong. ``--json`` prints the same as JSON;
``--bundle DIR`` also writes (and uploads) a signed support bundle.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``civicard diagnose``."""
    p = subparsers.add_parser("diagnose", help="technician: device status and self-tests")
    p.add_argument("--config", type=Path, required=True, metavar="FILE", help="kiosk TOML config")
    p.add_argument("--no-tests", action="store_true", help="status only, no self-tests")
    p.add_argument("--no-print", action="store_true", help="skip the test print")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--bundle", type=Path, metavar="DIR", help="write a signed support bundle")
    p.set_defaults(handler=_diagnose)


def _fact(v: Any) -> str:
    return "-" if v is None else str(v).lower() if isinstance(v, bool) else str(v)


def _diagnose(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config
    from kiosk.diagnostics import Diagnostics, Health, SelfTestName
    from kiosk.diagnostics.bundle import BundleError
    from kiosk.diagnostics.model import STEP_TEXT, Code
    from kiosk.diagnostics.trace import ApduTrace, RecentLog
    from kiosk.diagnostics.wiring import devices_from_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"config: {exc}", file=sys.stderr)
        return 2
    devices = devices_from_config(config, config_file=args.config)
    trace, log = ApduTrace().attach(), RecentLog().attach()
    diag = Diagnostics(devices, trace=trace, log=log)
    try:
        report = diag.status()
        tests = []
        if not args.no_tests:
            names = [n for n in SelfTestName
                     if not (args.no_print and n is SelfTestName.TEST_PRINT)]  # fmt: skip
            tests = diag.self_tests(names)
        bundle = None
        if args.bundle is not None:
            try:
                bundle = diag.support_bundle(args.bundle, run_tests=False)
            except BundleError as exc:
                print(f"support bundle: {exc}", file=sys.stderr)
    finally:
        trace.detach()
        log.detach()
        if devices.outbox is not None:
            devices.outbox.close()
        if devices.client is not None:
            devices.client.close()
    faulty = report.health is Health.FAULT or any(not t.passed for t in tests)
    if args.json:
        out = {"status": report.to_dict(), "self_tests": [t.to_dict() for t in tests]}
        if bundle is not None:
            out["bundle"] = {
                "path": str(bundle.path),
                "sha256": bundle.sha256,
                "uploaded_id": bundle.uploaded_id,
                "upload_error": bundle.upload_error,
            }
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 1 if faulty else 0
    print(f"terminal {devices.terminal_id}  overall: {report.health.value.upper()}")
    for d in report.devices:
        facts = ", ".join(f"{k}={_fact(v)}" for k, v in d.facts.items())
        print(f"  {d.health.value.upper():7} {d.device.value:11} {d.code.value}")
        if facts:
            print(f"          {facts}")
        if d.health is not Health.OK:
            print(f"          next: {STEP_TEXT[d.next_step]}")
    if tests:
        print("self-tests:")
        for t in tests:
            # A test that could not run (nothing to test it with) neither passed nor
            # failed: SKIP, with its reason below.
            verdict = "SKIP" if t.code is Code.NOT_CONFIGURED else "PASS" if t.passed else "FAIL"
            facts = ", ".join(f"{k}={_fact(v)}" for k, v in t.facts.items())
            print(f"  {verdict} {t.name.value:10} {t.code.value} ({t.duration_ms} ms)")
            if facts:
                print(f"          {facts}")
            if t.health is not Health.OK:
                print(f"          next: {STEP_TEXT[t.next_step]}")
    if bundle is not None:
        where = f"uploaded as #{bundle.uploaded_id}" if bundle.uploaded_id else (
            f"not uploaded: {bundle.upload_error}")  # fmt: skip
        print(f"support bundle: {bundle.path} ({bundle.size} bytes, {where})")
    return 1 if faulty else 0
