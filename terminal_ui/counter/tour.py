"""The counter's tour on a fresh demo world: what the test checks and the screenshots show.

TEST ONLY (the demo world, its people and PINs). The window must be prepared by the
caller (:func:`terminal_ui.env.prepare`) before this module is imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["tour"]


def _id_of(cw: Any) -> str:
    """A full ID number whose mask is the holder's of the card in the citizen reader."""
    from cardlib.apdu import ApduSession
    from cardlib.purse import Purse

    masked: str = Purse(ApduSession(cw.citizen_reader)).holder().id_masked
    return masked.replace("********", "19900101")


def _ledger(cw: Any, asn: str) -> int | None:
    balances: dict[str, int] = cw.world.ledger_balances()
    return balances.get(f"card:{asn.upper()}", balances.get(f"card:{asn.lower()}"))


def _restarted(cw: Any) -> Any:
    """New ports on a new station core over the same devices, journal and central: what
    a restarted station process builds (nothing of the old one's memory kept)."""
    from kiosk.counter import CounterStation
    from kiosk.counter.ports_adapter import CounterPortsAdapter
    from terminal_ui.i18n import load_catalog

    old = cw.station
    core = CounterStation(old.devices, central=old.central, outbox=old.outbox,
                          trusted=old.trusted, drawer=old.drawer, receipt_key=old.receipt_key,
                          journal=old.journal.path, upload=old.upload)  # fmt: skip
    return CounterPortsAdapter(core, id_reader=cw.id_reader, printer=cw.printer,
                               translate=load_catalog("zh-Hans").gettext)  # fmt: skip


def tour(work: Path, shots: Path | None) -> dict[str, Any]:
    """A clerk's shift on a world in ``work``; pictures in ``shots`` (and then all three
    languages checked and the name typed by pinyin too). Returns what happened."""
    from kiosk.demo.counter_world import CounterWorld
    from kiosk.demo.issuer import create_demo_wallet
    from terminal_ui.counter.demo import make_counter_app
    from terminal_ui.counter.harness import CounterDriver
    from terminal_ui.counter.scripted import Shift

    create_demo_wallet(work / "world" / "wallet", seed=17)
    cw = CounterWorld.build(work / "world")
    try:
        d = CounterDriver(make_counter_app(cw, cw.ports()))
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
        new_card = dict(walk.replace(card, "320582200809150330"))
        card = new_card["卡号"]
        by_name = walk.lookup_by_name("孙浩然", "sunhaoran")  # the old card and the new
        # Above the refund limit (with the deposit): a top-up on the new card, off screen.
        d.root.station._ports.top_up(15_000, "135790")
        refunded = dict(walk.refund_with_supervisor("320582200809150330"))
        other = next(c for c in cw.wallet.cards() if c.role == "citizen")
        cw.insert_citizen(other.asn)
        other_id = _id_of(cw)
        renew = walk.renew_not_due(other.asn, other_id)
        walk.report_loss(other.asn, other_id)
        third = [c for c in cw.wallet.cards() if c.role == "citizen"][1]
        cw.insert_citizen(third.asn)
        resumed = walk.resume_after_restart(third.asn, _id_of(cw), lambda: _restarted(cw))
        closed = dict(walk.close_shift("510"))
        cw.world.sync()
        import sqlalchemy as sa

        from backend_sync.central.models import cards
        from backend_sync.central.reconcile import reconcile

        with cw.central.engine.connect() as conn:
            status = conn.execute(sa.select(cards.c.status)
                                  .where(cards.c.asn == card.upper())).scalar()  # fmt: skip
            lost = conn.execute(sa.select(cards.c.status)
                                .where(cards.c.asn == other.asn.upper())).scalar()  # fmt: skip
        rec = reconcile(cw.central)
        out: dict[str, Any] = {
            "issued": issued, "refused": refused, "topped": topped, "closed": closed,
            "replaced": new_card, "by_name": by_name, "resumed": resumed,
            "refunded": refunded, "renew": renew, "lost_status": lost,
            "card_status": status, "ledger": _ledger(cw, card),
            "receipts": len(cw.world.printer_sim.jobs),
            "receipt_text": [j.text for j in cw.world.printer_sim.jobs],
            "mismatches": len(rec.mismatches), "ledger_ok": rec.ledger_ok,
            "checked": walk.checked, "findings": walk.findings,
            "pictures": [str(p) for p in walk.pictures],
        }  # fmt: skip
        return out
    finally:
        cw.close()
