"""``civicard central ...``: run and administer the central service.

    civicard central keygen --out signing-key.pem
    civicard central migrate --db sqlite:///central.db
    civicard central serve --db URL --issuer-keys keys.json --signing-key PEM [--port 8600]
    civicard central terminal-ca --out DIR                  # TEST ONLY terminal CA
    civicard central terminal-cert --ca DIR --terminal-id 320500000001 --key key.pem \
        --out terminal.crt
    civicard central enroll --db URL ... --terminal-ca terminal-ca.crt \
        --terminal-id 320500000001 --cert terminal.crt
    civicard central revoke-terminal --db URL ... --terminal-id 320500000001 --reason stolen
    civicard central register-card --db URL --asn ... --algorithm 0 --key-version 1
    civicard central card-status --db URL --asn ... --status blocked
    civicard central void-loads / expire-holds / reconcile --db URL ...
    civicard central partitions --db URL                    # month partitions ahead
    civicard central archive --db URL --before 2026-01 --out DIR --archive-key PEM
    civicard central restore --db URL DIR/ledger-2025-12.archive --archive-key PEM
    civicard central poll create | list | close | results --db URL ...   (poll_cli.py)

``reconcile`` prints one JSON document and exits 0 when clean, 1 when money
disagrees (card balances, broken chains, the ledger), 3 when only flags or
counter gaps wait for the ledger auditor.

The admin token for the HTTP admin endpoints comes from CIVICARD_ADMIN_TOKEN.
Heavy imports happen inside the handlers.
"""

from __future__ import annotations

import argparse
import gc
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
        max_body_bytes=getattr(args, "max_body", None) or Settings.max_body_bytes,
        terminal_ca_files=tuple(Path(p) for p in args.terminal_ca or ()),
        card_issuer_dir=Path(args.card_issuer) if getattr(args, "card_issuer", None) else None,
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


def _terminal_ca(args: argparse.Namespace) -> int:
    import datetime as dt

    from backend_sync.terminal_certs import make_test_terminal_ca, save_test_terminal_ca

    out = Path(args.out)
    if (out / "terminal-ca.key").exists():
        print(f"{out / 'terminal-ca.key'} exists: not overwritten")
        return 1
    crt, key = save_test_terminal_ca(out, *make_test_terminal_ca(dt.datetime.now(dt.UTC)))
    print(f"wrote {crt} (give it to the central: --terminal-ca) and {key} (TEST ONLY)")
    return 0


def _terminal_cert(args: argparse.Namespace) -> int:
    import datetime as dt

    from cryptography.hazmat.primitives import serialization

    from backend_sync import chain
    from backend_sync.terminal_certs import issue_terminal_certificate, load_test_terminal_ca

    ca_key, ca_cert = load_test_terminal_ca(Path(args.ca))
    pem = Path(args.key).read_bytes()
    public = (
        chain.load_private_key(pem).public_key()
        if b"PRIVATE KEY" in pem
        else chain.load_public_key(pem)
    )
    cert = issue_terminal_certificate(ca_key=ca_key, ca_cert=ca_cert, terminal_id=args.terminal_id,
                                      public_key=public, now=dt.datetime.now(dt.UTC))  # fmt: skip
    Path(args.out).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    print(f"wrote {args.out} for terminal {args.terminal_id.upper()}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from backend_sync.central.db import current_revision, make_engine, upgrade

    engine = make_engine(args.db)
    upgrade(engine)
    print(f"database at revision {current_revision(engine)}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from backend_sync.central.db import upgrade

    central = _central(args)
    if not args.no_migrate:
        upgrade(central.engine)
    from backend_sync.central import partitions

    partitions.ready(central, central.now_ms())  # this month's partitions and the next ones
    if args.workers > 1:
        # Several processes over one database, each a stateless central: a
        # terminal's batches are serialized by the database (its row locked for
        # the batch's transaction), so exactly-once does not depend on which
        # process takes a batch (docs/scale.md). Each worker builds its own
        # central from the same arguments (uvicorn starts them from an import string).
        central.engine.dispose()
        os.environ[_SERVE_ARGS] = json.dumps(vars(args), default=str)
        uvicorn.run("backend_sync.central.cli:app_from_environment", factory=True,
                    host=args.host, port=args.port, workers=args.workers,
                    log_level="warning")  # fmt: skip
        return 0
    uvicorn.run(_app(central, args), host=args.host, port=args.port, log_level="warning")
    return 0


_SERVE_ARGS = "CIVICARD_CENTRAL_SERVE_ARGS"


def _partitions(args: argparse.Namespace) -> int:
    """``partitions`` / ``archive`` / ``restore``: the ledger's monthly partitions."""
    import sys
    import time

    from backend_sync.central import partitions
    from backend_sync.central.db import make_engine

    engine = make_engine(args.db)
    now = int(time.time() * 1000)
    try:
        with engine.begin() as conn:
            if args.central_command == "partitions":
                made = partitions.ensure(conn, now, ahead=args.ahead)
                for p in (
                    partitions.list_partitions(conn) if conn.dialect.name == "postgresql" else []
                ):
                    print(f"{p.table} {p.month} {p.name}")
                print(f"created {len(made)} partitions" + (f": {', '.join(made)}" if made else ""))
            elif args.central_command == "archive":
                key = Path(args.archive_key).read_bytes()
                files = partitions.archive(conn, args.before, key, Path(args.out), now)
                for f in files:
                    print(f"archived {f}")
                print(f"{len(files)} months archived")
            else:
                key = Path(args.archive_key).read_bytes()
                for f in args.files:
                    print(f"restored {partitions.restore(conn, Path(f), key, now)} from {f}")
    except (partitions.ArchiveError, OSError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


# The serving process's cyclic garbage collector: a collection of the youngest
# objects after this many more allocations than deallocations (Python's default is
# 700), the older generations after 20 of the younger's (default 10).
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    """Tune the collector for serving: ingest allocates a model, a dict and a few
    tuples per record, and with the default thresholds the collector ran about
    1,800 times during a catch-up of 100,000 records, 12 of them full passes over
    every object of the process: 1.4 s of the central's 4.9 s of CPU
    (docs/scale.md). The objects made at start-up (modules, schemas, the app) are
    frozen out of every pass; the thresholds above leave a handful of collections.
    Reference cycles are still collected, later; nothing about durability changes."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _app(central: Any, args: argparse.Namespace) -> Any:
    from backend_sync.central.app import create_app

    if args.departments:
        from backend_sync.central.departments import Departments

        # The departments' gateway answers the city services and is the biller.
        central.departments = central.bills = Departments(args.departments)
    app = create_app(central)
    tune_gc()  # in each serving process (``--workers``: each worker builds its app here)
    return app


def app_from_environment() -> Any:
    """The app of one ``serve --workers N`` worker, from the serving command's arguments."""
    args = argparse.Namespace(**json.loads(os.environ[_SERVE_ARGS]))
    return _app(_central(args), args)


def _admin(args: argparse.Namespace) -> int:
    import sys

    from backend_sync.central.service import Refused

    try:
        return _admin_action(args)
    except Refused as exc:
        print(f"refused: {exc.reason}" + (f": {exc.detail}" if exc.detail else ""),
              file=sys.stderr)  # fmt: skip
        return 1


def _admin_action(args: argparse.Namespace) -> int:
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
    elif args.central_command == "revoke-terminal":
        seq = registry.revoke_terminal(central, terminal_id=args.terminal_id, reason=args.reason)
        print(f"terminal {args.terminal_id.upper()} revoked; records up to {seq} stay posted")
    elif args.central_command == "card-status":
        v = registry.set_card_status(central, asn=args.asn, status=args.status)
        print(f"card {args.asn.upper()} {args.status}; hotlist version {v}")
    elif args.central_command == "expire-holds":
        from backend_sync.central import orders

        print(f"expired {orders.expire_holds(central)} holds on bills")
    elif args.central_command == "void-loads":
        print(f"voided {loads.void_expired(central)} load authorizations")
    elif args.central_command == "reconcile":
        report = reconcile.reconcile(central, flags_since_ms=args.flags_since)
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        # For cron and monitoring: 1 when money disagrees (a card's balance, a
        # broken chain, the ledger itself), 3 when only flags or counter gaps wait.
        if not report.ledger_ok or report.mismatches or report.chain_breaks:
            return 1
        return 0 if report.clean else 3
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
            sp.add_argument(
                "--card-issuer", metavar="DIR",
                help="issue cards at counters with this issuer (issuer-keys.json, issuer-ca.*)",
            )  # fmt: skip
            sp.add_argument(
                "--terminal-ca", action="append",
                help="terminal CA certificate (PEM) that terminal certificates must chain to",
            )  # fmt: skip
        return sp

    kg = sub.add_parser("keygen", help="make the central's download signing key")
    kg.add_argument("--out", required=True)
    kg.set_defaults(handler=_keygen)
    tca = sub.add_parser("terminal-ca", help="make a TEST ONLY terminal CA (terminal-ca.crt/.key)")
    tca.add_argument("--out", required=True, help="folder")
    tca.set_defaults(handler=_terminal_ca)
    tc = sub.add_parser("terminal-cert", help="issue a terminal certificate (TEST ONLY CA)")
    tc.add_argument("--ca", required=True, help="folder of the terminal CA")
    tc.add_argument("--terminal-id", required=True)
    tc.add_argument("--key", required=True, help="the terminal's key (PEM, private or public)")
    tc.add_argument("--out", required=True)
    tc.set_defaults(handler=_terminal_cert)
    with_db(sub.add_parser("migrate", help="create or upgrade the database"), keys=False)
    sub.choices["migrate"].set_defaults(handler=_migrate)
    sv = with_db(sub.add_parser("serve", help="serve the HTTP API (uvicorn)"))
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8600)
    sv.add_argument("--no-migrate", action="store_true")
    sv.add_argument(
        "--max-body", type=int, metavar="BYTES",
        help="largest request body accepted (default 4 MiB); beyond it: 413",
    )  # fmt: skip
    sv.add_argument(
        "--departments", metavar="URL", help="departments' systems (civicard sim departments)"
    )
    sv.add_argument(
        "--workers", type=int, default=1,
        help="API processes over the one database (stateless; default 1)",
    )  # fmt: skip
    sv.set_defaults(handler=_serve)
    en = with_db(sub.add_parser("enroll", help="enroll a terminal's certificate"))
    en.add_argument("--terminal-id", required=True)
    en.add_argument("--cert", required=True)
    rc = with_db(sub.add_parser("register-card", help="register an issued card"))
    rc.add_argument("--asn", required=True)
    rc.add_argument("--algorithm", type=int, default=0)
    rc.add_argument("--key-version", type=int, default=1)
    rt = with_db(sub.add_parser("revoke-terminal", help="revoke a terminal (a stolen kiosk)"))
    rt.add_argument("--terminal-id", required=True)
    rt.add_argument("--reason", required=True)
    cs = with_db(sub.add_parser("card-status", help="block, unblock or terminate a card"))
    cs.add_argument("--asn", required=True)
    cs.add_argument("--status", choices=["active", "blocked", "terminated"], required=True)
    with_db(sub.add_parser("void-loads", help="void load authorizations past the window"))
    with_db(sub.add_parser("expire-holds", help="expire holds on bills past the window"))
    rp = with_db(sub.add_parser("reconcile", help="ledger and card reconciliation report"))
    rp.add_argument(
        "--flags-since", type=int, default=0, metavar="MS",
        help="count flags raised since this Unix time in ms (default: all)",
    )  # fmt: skip
    pt = with_db(sub.add_parser("partitions", help="create the ledger's month partitions ahead"),
                 keys=False)  # fmt: skip
    pt.add_argument("--ahead", type=int, default=2, help="months after this one (default 2)")
    ar = with_db(sub.add_parser("archive", help="detach past months to signed archive files"),
                 keys=False)  # fmt: skip
    ar.add_argument("--before", required=True, metavar="YYYY-MM",
                    help="archive every month that ends before this one starts")  # fmt: skip
    ar.add_argument("--out", required=True, help="folder for ledger-YYYY-MM.archive files")
    ar.add_argument(
        "--archive-key", required=True,
        help="archive signing key (ECDSA P-256 PEM, civicard central keygen)",
    )  # fmt: skip
    rs = with_db(sub.add_parser("restore", help="check and attach archived months back"),
                 keys=False)  # fmt: skip
    rs.add_argument("files", nargs="+", help="ledger-YYYY-MM.archive files")
    rs.add_argument("--archive-key", required=True,
                    help="the archive key (its public half is enough to check)")  # fmt: skip
    for name in ("partitions", "archive", "restore"):
        sub.choices[name].set_defaults(handler=_partitions)
    for name in (
        "enroll", "revoke-terminal", "register-card", "card-status", "void-loads",
        "expire-holds", "reconcile",
    ):  # fmt: skip
        sub.choices[name].set_defaults(handler=_admin)
    from backend_sync.central.poll_cli import register_poll

    register_poll(sub, with_db)
    from backend_sync.central.console.cli import register_staff

    register_staff(sub, with_db)
    from backend_sync.central.feedback.cli import register_feedback

    register_feedback(sub, with_db)

    def _help(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(handler=_help)
