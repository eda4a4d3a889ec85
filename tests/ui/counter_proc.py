"""Run by test_counter.py in its own process (its own 1920x1080 Kivy window): a clerk's
shift through the counter station's real widgets on the demo world (clerk card, ID
reader on a pty, blank card, central on uvicorn, printer simulator), every page
checked for layout in three languages. Prints one JSON line with what happened."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from terminal_ui.env import prepare


def main(shots: Path | None) -> int:
    work = Path(tempfile.mkdtemp(prefix="civicard-counter-"))
    # Walked at 960x540 (the same layout at a quarter of the pixels: software GL draws
    # it four times faster); every page's layout is checked at 1920x1080.
    prepare(home=work / "kivy", size=(960, 540) if shots is None else (1920, 1080),
            offscreen=True)  # fmt: skip
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
        out = {
            "issued": issued, "refused": refused, "topped": topped, "closed": closed,
            "card_status": status, "ledger": cw.world.ledger_balances().get(f"card:{card.lower()}"),
            "chip_balance": cw.world.card_balance(card), "receipts": len(cw.world.printer_sim.jobs),
            "receipt_text": [j.text for j in cw.world.printer_sim.jobs],
            "mismatches": len(rec.mismatches), "ledger_ok": rec.ledger_ok,
            "checked": walk.checked, "findings": walk.findings,
            "pictures": [str(p) for p in walk.pictures],
        }  # fmt: skip
        print("COUNTER " + json.dumps(out, ensure_ascii=False))
    finally:
        cw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
