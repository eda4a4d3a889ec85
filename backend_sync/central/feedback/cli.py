"""``civicard central feedback``: the category list, the rules, the periodic sweep.

    civicard central feedback categories --db URL categories.json
    civicard central feedback rules --db URL [--at-once-hours 2] [--max-skew-s 300] \
        [--rating-days 7]
    civicard central feedback sweep --db URL     # escalate overdue cases, close unrated ones

``categories.json`` is a list of {code, department, names: {zh-Hans, zh-Hant, en},
deadline_days, importance}; kiosks get the new list at their next download.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

__all__ = ["register_feedback"]


def _run(args: argparse.Namespace) -> int:
    from backend_sync.central.feedback import cases, rules
    from backend_sync.central.poll_cli import _central
    from backend_sync.central.service import Refused

    central = _central(args.db)
    try:
        if args.feedback_command == "categories":
            items = json.loads(Path(args.file).read_text(encoding="utf-8"))
            if not isinstance(items, list):
                print("refused: the file holds a JSON list of categories")
                return 1
            print(f"feedback categories version {rules.set_categories(central, items)}")
        elif args.feedback_command == "rules":
            values = {
                k: v
                for k, v in (("at_once_hours", args.at_once_hours),
                             ("max_skew_s", args.max_skew_s), ("rating_days", args.rating_days))
                if v is not None
            }  # fmt: skip
            rules.set_rules(central, **values)
            with central.engine.connect() as conn:
                r = rules.rules(conn)
            print(f"at_once_hours={r.at_once_hours} max_skew_s={r.max_skew_s} "
                  f"rating_days={r.rating_days}")  # fmt: skip
        else:
            print(f"escalated {cases.escalate_overdue(central)}, "
                  f"closed unrated {cases.close_unrated(central)}")  # fmt: skip
    except (Refused, ValueError, OSError) as exc:
        print(f"refused: {exc}")
        return 1
    finally:
        central.engine.dispose()
    return 0


def register_feedback(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    with_db: Callable[..., argparse.ArgumentParser],
) -> None:
    """Add ``civicard central feedback``."""
    p = sub.add_parser("feedback", help="feedback categories, rules and the overdue sweep")
    ps = p.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    cat = with_db(ps.add_parser("categories", help="publish the category list"), keys=False)
    cat.add_argument("file", help="JSON list of categories")
    ru = with_db(ps.add_parser("rules", help="set the feedback rules"), keys=False)
    ru.add_argument("--at-once-hours", type=int)
    ru.add_argument("--max-skew-s", type=int)
    ru.add_argument("--rating-days", type=int)
    with_db(ps.add_parser("sweep", help="escalate overdue, close unrated"), keys=False)
    for name in ("categories", "rules", "sweep"):
        ps.choices[name].set_defaults(handler=_run)
