"""The counter's tour on a fresh demo world: what the test checks and the screenshots show.

TEST ONLY (the demo world, its people and PINs). The window must be prepared by the
caller (:func:`terminal_ui.env.prepare`) before this module is imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["tour"]


def tour(work: Path, shots: Path | None) -> dict[str, Any]:
    """A clerk's shift on a world in ``work``; pictures in ``shots`` (and then all three
    languages checked and the name typed by pinyin too). Returns what happened."""
    from kiosk.demo.counter_station import DemoCounterPorts
    from kiosk.demo.counter_world import CounterWorld
    from kiosk.demo.issuer import create_demo_wallet
    from terminal_ui.counter.demo import make_counter_app
    from terminal_ui.counter.harness import CounterDriver
    from terminal_ui.counter.scripted import Shift

    create_demo_wallet(work / "world" / "wallet", seed=17)
    cw = CounterWorld.build(work / "world")
    try:
        d = CounterDriver(make_counter_app(cw, DemoCounterPorts(cw)))
        # The test checks the CJK and the Latin layouts; the pictures' run all three.
        langs = ("zh-Hans", "zh-Hant", "en") if shots is not None else ("zh-Hans", "en")
        walk = Shift(d, cw, shots, pinyin=shots is not None, languages=langs)
        # End to end through real taps: sign in, open the shift, issue a card.
        walk.sign_in()
        walk.open_shift("500")
        issued = dict(walk.issue("孙浩然", "50"))
        walk.taps = shots is not None  # the other pages: the station called directly
        refused = walk.typed_holder_refused()
        card = issued["卡号"]
        topped = dict(walk.top_up(card, "135790", "20"))
        walk.lookup(card)
        walk.report_loss(card, "320582200809150330")
        walk.not_yet("refund", "counter-18-refund-not-yet",
                     lambda: walk._type("320582200809150330"))  # fmt: skip
        closed = dict(walk.close_shift("560"))
        cw.world.sync()
        import sqlalchemy as sa

        from backend_sync.central.models import cards
        from backend_sync.central.reconcile import reconcile

        with cw.central.engine.connect() as conn:
            status = conn.execute(sa.select(cards.c.status)
                                  .where(cards.c.asn == card.lower())).scalar()  # fmt: skip
        rec = reconcile(cw.central)
        out: dict[str, Any] = {
            "issued": issued, "refused": refused, "topped": topped, "closed": closed,
            "card_status": status, "ledger": cw.world.ledger_balances().get(f"card:{card.lower()}"),
            "chip_balance": cw.world.card_balance(card), "receipts": len(cw.world.printer_sim.jobs),
            "receipt_text": [j.text for j in cw.world.printer_sim.jobs],
            "mismatches": len(rec.mismatches), "ledger_ok": rec.ledger_ok,
            "checked": walk.checked, "findings": walk.findings,
            "pictures": [str(p) for p in walk.pictures],
        }  # fmt: skip
        return out
    finally:
        cw.close()
