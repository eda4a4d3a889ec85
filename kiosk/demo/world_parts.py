"""Parts of the demo world's build (:mod:`kiosk.demo.world`): the department systems,
the PC/SC slots, the demo poll, the published catalog. TEST ONLY."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.core.clock import Clock

__all__ = [
    "copy_database",
    "demo_feedback_categories",
    "departments",
    "open_demo_poll",
    "pcsc_slots",
    "published",
]


def copy_database(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included), by SQLite's backup."""
    import sqlite3

    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


def departments(root: Path, citizens: list[Any], clock: Clock, process: bool) -> Any:
    from kiosk.demo.departments import DemoDepartments

    people = [(c.name, c.asn) for c in citizens]
    today = clock.now().date()
    return DemoDepartments(root / "departments.db", people, today=today, process=process).start()


def pcsc_slots(root: Path, wallet: Any, extra: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """A private pcscd with one vpcd reader; the bridge serves the card slot (port P)
    and the PSAM slot (P+1); the kiosk talks to both through pyscard."""
    from drivers.pcsc import PcscConnection
    from simulators.private_pcscd import PrivatePcscd
    from simulators.vpcd import VpcdBridge

    pcscd = PrivatePcscd(root / "pcscd")
    pcscd.start()
    extra["pcscd"] = pcscd
    bridge = VpcdBridge("127.0.0.1", pcscd.port)
    extra["bridge"] = bridge
    card_slot, psam_slot = pcscd.slot_names()
    bridge.psam.insert(wallet.open_psam())
    psam_conn = PcscConnection.wait_for_card(psam_slot, timeout=10.0)
    extra["psam_conn"] = psam_conn
    holder: dict[str, Any] = {}
    extra["card_conn"] = holder

    def open_card() -> Any:
        # A fresh connection per insertion, once pcscd has seen the card (it polls).
        old = holder.pop("conn", None)
        if old is not None:
            old.close()
        holder["conn"] = PcscConnection.wait_for_card(card_slot, timeout=5.0)
        return holder["conn"]

    return bridge.card, bridge.psam, open_card, (lambda: psam_conn)


def open_demo_poll(central: Any, clock: Clock) -> None:
    from backend_sync.central.polls import create_poll
    from backend_sync.central.service import Refused
    from kiosk.demo.catalog import demo_poll

    try:
        # 2048 bits, as in production: a smaller key would be refused by kiosks.
        create_poll(central, demo_poll(int(clock.now().timestamp() * 1000)))
    except Refused as exc:
        if exc.reason != "poll_exists":  # a world rebuilt in its folder keeps its poll
            raise


def published(central: Any) -> bool:
    from backend_sync.central import documents
    from backend_sync.central.service import Refused

    try:
        documents.signed_document(central, "catalog")
    except Refused:
        return False
    return True


def demo_feedback_categories(central: Any) -> None:
    """The demo city's feedback categories, once (a rebuilt world keeps its list)."""
    from backend_sync.central.feedback import rules
    from kiosk.demo.catalog import DEMO_FEEDBACK_CATEGORIES

    with central.engine.connect() as conn:
        have = rules.categories(conn)
    if not have:
        rules.set_categories(central, DEMO_FEEDBACK_CATEGORIES)
