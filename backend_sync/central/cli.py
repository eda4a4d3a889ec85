"""``civicard central ...``: run and administer the central service.

    civicard central keygen --out signing-key.pem
    civicard central migrate --db sqlite:///central.db
    civicard central serve --db URL --issuer-keys keys.json --signing-key PEM [--port 8600]
    civicard central enroll --db URL --terminal-id 320500000001 --cert terminal.pem
    civicard central register-card --db URL --asn ... --algorithm 0 --key-version 1
    civicard central card-status --db URL --asn ... --status blocked
    civicard central void-loads / reconcile --db URL ...
    civicard central poll create | list | close | results --db URL ...   (poll_cli.py)

The admin token for the HTTP admin endpoints comes from CIVICARD_ADMIN_TOKEN.
Heavy imports happen inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

DEFAULT_DB = "sqlite:///central.db"


def _central(args: argparse.Namespace) -> Any:
    from backend_sync.central.service import Central, Settings

    settings = Settings(
        db_url=args.db,
        issuer_key_files=tuple(Path(p) for p in args.issuer_keys),
        signing_key_file=Path(args.signing_key),
        admin_token=os.environ.get("CIVICARD_ADMIN_TOKEN", ""),
        production=args.production,
        issuer_ca_files=tuple(Path(p) for p in args.issuer_ca),
    )
    return Central.from_settings(settings)


def _keygen(args: argparse.Namespace) -> int:
    from backend_sync import chain

    out = Path(args.out)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    key = chain.generate_key()
    with os.fdopen(fd, "wb") as fh:
        fh.write(chain.private_key_pem(key))
    pub = out.with_suffix(".pub.pem")
    pub.write_bytes(chain.public_key_pem(key.public_key()))
    print(f"wrote {out} (private) and {pub} (give this one to the kiosks)")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from backend_sync.central.db import current_revision, make_engine, upgrade

    engine = make_engine(args.db)
    upgrade(engine)
    print(f"database at revision {current_revision(engine)}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from backend_sync.central.app import create_app
    from backend_sync.central.db import upgrade

    central = _central(args)
    if args.departments:
        from backend_sync.central.departments import Departments

        # The departments' gateway answers the city services and is the biller.
        central.departments = central.bills = Departments(args.departments)
    if not args.no_migrate:
        upgrade(central.engine)
    uvicorn.run(create_app(central), host=args.host, port=args.port, log_level="warning")
    return 0


def _admin(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from backend_sync.central import loads, reconcile, registry

    central = _central(args)
    if args.central_command == "enroll":
        cert = Path(args.cert).read_text(encoding="ascii")
        registry.enroll_terminal(central, terminal_id=args.terminal_id, cert_pem=cert)
        print(f"terminal {args.terminal_id.upper()} enrolled")
    elif args.central_command == "register-card":
        registry.register_card(
            central, asn=args.asn, algorithm=args.algorithm, key_version=args.key_version
        )
        print(f"card {args.asn.upper()} registered")
    elif args.central_command == "card-status":
        v = registry.set_card_status(central, asn=args.asn, status=args.status)
        print(f"card {args.asn.upper()} {args.status}; hotlist version {v}")
    elif args.central_command == "void-loads":
        print(f"voided {loads.void_expired(central)} load authorizations")
    elif args.central_command == "reconcile":
        print(json.dumps(asdict(reconcile.reconcile(central)), indent=2))
        print(json.dumps({"rejections": central.rejection_counts()}, indent=2))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``civicard central`` and its subcommands."""
    p = subparsers.add_parser("central", help="the central service: ledger, registry, sync API")
    sub = p.add_subparsers(dest="central_command", metavar="ACTION")

    def with_db(sp: argparse.ArgumentParser, keys: bool = True) -> argparse.ArgumentParser:
        sp.add_argument("--db", default=DEFAULT_DB, help=f"SQLAlchemy URL (default {DEFAULT_DB})")
        if keys:
            sp.add_argument(
                "--issuer-keys", action="append", required=True,
                help="issuer key file (its load and TAC keys are used); repeat per algorithm",
            )  # fmt: skip
            sp.add_argument("--signing-key", required=True, help="central ECDSA P-256 key (PEM)")
            sp.add_argument("--production", action="store_true", help="refuse TEST ONLY key files")
            sp.add_argument(
                "--issuer-ca", action="append", default=[],
                help="issuer CA certificate (PEM) that card certificates chain to; repeatable",
            )  # fmt: skip
        return sp

    kg = sub.add_parser("keygen", help="make the central's download signing key")
    kg.add_argument("--out", required=True)
    kg.set_defaults(handler=_keygen)
    with_db(sub.add_parser("migrate", help="create or upgrade the database"), keys=False)
    sub.choices["migrate"].set_defaults(handler=_migrate)
    sv = with_db(sub.add_parser("serve", help="serve the HTTP API (uvicorn)"))
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8600)
    sv.add_argument("--no-migrate", action="store_true")
    sv.add_argument(
        "--departments", metavar="URL", help="departments' systems (civicard sim departments)"
    )
    sv.set_defaults(handler=_serve)
    en = with_db(sub.add_parser("enroll", help="enroll a terminal's certificate"))
    en.add_argument("--terminal-id", required=True)
    en.add_argument("--cert", required=True)
    rc = with_db(sub.add_parser("register-card", help="register an issued card"))
    rc.add_argument("--asn", required=True)
    rc.add_argument("--algorithm", type=int, default=0)
    rc.add_argument("--key-version", type=int, default=1)
    cs = with_db(sub.add_parser("card-status", help="block, unblock or terminate a card"))
    cs.add_argument("--asn", required=True)
    cs.add_argument("--status", choices=["active", "blocked", "terminated"], required=True)
    with_db(sub.add_parser("void-loads", help="void load authorizations past the window"))
    with_db(sub.add_parser("reconcile", help="ledger and card reconciliation report"))
    for name in ("enroll", "register-card", "card-status", "void-loads", "reconcile"):
        sub.choices[name].set_defaults(handler=_admin)
    from backend_sync.central.poll_cli import register_poll

    register_poll(sub, with_db)
    from backend_sync.central.console.cli import register_staff

    register_staff(sub, with_db)

    def _help(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(handler=_help)
