"""``civicard sim departments``: the department systems as a separate HTTP process."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

__all__ = ["register_sim"]


def register_sim(sim_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``departments`` to the ``civicard sim`` group."""
    p = sim_sub.add_parser(
        "departments",
        help="department systems (social security, fund, utilities, traffic, hall, bus) on HTTP",
        description=__doc__,
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8700)
    p.add_argument("--db", type=Path, default=Path("out/departments.db"), help="SQLite file")
    p.add_argument("--wallet", type=Path, help="seed the people of this wallet folder first")
    p.add_argument(
        "--person",
        action="append",
        default=[],
        metavar="ASN=NAME",
        help="seed this citizen first (repeatable)",
    )
    p.add_argument("--extra", type=int, default=3000, help="generated citizens (default 3000)")
    p.add_argument("--seed", type=int, default=18, help="generator seed")
    p.add_argument("--today", type=dt.date.fromisoformat, help="seed relative to this day")
    p.set_defaults(handler=_run)


def _people(args: argparse.Namespace) -> list[tuple[str, str]]:
    people: list[tuple[str, str]] = []
    if args.wallet is not None:
        from simulators.wallet import Wallet

        people += [(c.name, c.asn) for c in Wallet(args.wallet).cards() if c.role == "citizen"]
    for item in args.person:
        asn, _, name = item.partition("=")
        people.append((name or asn, asn))
    return people


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from simulators.departments.app import create_app
    from simulators.departments.seed import seed
    from simulators.departments.store import DepartmentStore

    args.db.parent.mkdir(parents=True, exist_ok=True)
    store = DepartmentStore(args.db)
    today = args.today or dt.date.today()
    if seed(store, _people(args), extra=args.extra, seed=args.seed, today=today):
        print(f"seeded {args.db}", flush=True)
    print(f"departments on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(create_app(store), host=args.host, port=args.port, log_level="warning")
    store.close()
    return 0
