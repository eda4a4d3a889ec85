"""``civicard demo``: the README's main job.

Until the kiosk UI lands this is a scripted card session in the terminal: the
simulated PSAM and a demo citizen's card are inserted in-process, the card is read,
a purchase is made in DESIGN.md's order (the intent persisted before DEBIT), and
the card's own transaction log is shown.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime
from pathlib import Path

from kiosk.money import format_fen


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("demo", help="scripted citizen card session on simulators")
    p.add_argument(
        "--data", type=Path, default=None, help="data folder (default: $CIVICARD_DATA or var)"
    )
    p.add_argument("--card", default="1", help="demo citizen: name, ASN or number (default 1)")
    p.add_argument("--amount", type=int, default=350, help="purchase amount in fen (default 350)")
    p.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from cardlib.apdu import ApduSession
    from cardlib.bcd import CARD_TZ, unpack_datetime
    from cardlib.errors import CardError
    from cardlib.identity import Identity
    from cardlib.psam import PsamClient
    from cardlib.purse import DebitOutcomeUnknown, PurchaseIntent, Purse
    from kiosk.issuer import Issuer, create_demo_wallet
    from simulators.transport import SimReader
    from simulators.wallet import Wallet

    data = args.data or Path(os.environ.get("CIVICARD_DATA", "var"))
    data.mkdir(parents=True, exist_ok=True)
    wallet = Wallet(data / "wallet")
    print("civicard demo: a scripted card session on simulated devices")
    if not wallet.exists():
        create_demo_wallet(wallet.root)
        print(f"  created a TEST ONLY wallet in {wallet.root}: issuer keys and CA, a PSAM,")
        print("  and demo people's cards, each personalized through the card's own commands")
    else:
        print(f"  using the TEST ONLY wallet in {wallet.root}")

    psam_reader, card_reader = SimReader("PSAM slot"), SimReader("card reader")
    psam_reader.insert(wallet.open_psam())
    psam = PsamClient(ApduSession(psam_reader))
    print(f"[1] PSAM ready: terminal {psam.terminal_id.hex().upper()}")

    entry = next(c for c in wallet.cards() if wallet.root / c.file == wallet.card_path(args.card))
    card = wallet.open_card(args.card)
    atr = card_reader.insert(card)
    purse = Purse(ApduSession(card_reader))
    info, holder = purse.public_info(), purse.holder()
    print(f"[2] card inserted (ATR {atr.hex().upper()})")
    print(f"    card number {info.card_number}, holder {holder.name} ({holder.id_masked})")
    print(f"    valid {info.start} to {info.expiry}; balance {format_fen(purse.balance())}")
    identity = Identity.of(purse)
    trusted = [Issuer.load(wallet.root).ca_cert]
    cert = identity.authenticate(trusted=trusted, now=datetime.now(CARD_TZ), role=None)
    print(f"    genuine {cert.role.value} card: certificate chains to the issuer CA and the card")
    print("    signed a fresh challenge with its own key")
    print(f"    PIN tries left {identity.pin_tries()}; entering the PIN (TEST ONLY {entry.pin})")
    identity.verify_pin(entry.pin)

    journal = data / "intents.jsonl"

    def persist(intent: PurchaseIntent) -> None:
        # The intent must be on disk before DEBIT: it is what settles a torn purchase.
        with open(journal, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(_intent_json(intent)) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    steps = "INITIALIZE -> PSAM MAC1 -> intent -> DEBIT -> MAC2"
    print(f"[3] purchase {format_fen(args.amount)}: {steps}")
    try:
        result = purse.purchase(psam, args.amount, on_intent=persist)
    except DebitOutcomeUnknown as exc:
        print(f"    the card left before answering; settle on next insertion: {exc}")
        return 1
    except CardError as exc:
        print(f"    refused by the card: {exc}")
        return 1
    it = result.intent
    print(
        f"    TTC {it.ttc}, ATC {it.offline_atc}, TAC {result.tac.hex().upper()}, "
        f"MAC2 {'verified by the PSAM' if result.mac2_verified else 'REJECTED by the PSAM'}"
    )
    print(
        f"    balance {format_fen(it.balance_before)} -> {format_fen(result.balance_after)} "
        f"(card says {format_fen(purse.balance())})"
    )
    print("[4] the card's transaction log (newest first):")
    for rec in purse.log():
        kind = {6: "purchase", 2: "load"}.get(rec.ttype, f"type {rec.ttype:02X}")
        when = unpack_datetime(rec.date, rec.time).strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"    ATC {rec.atc:5d}  {when}  {kind:8s} {format_fen(rec.amount):>10s}  "
            f"terminal {rec.terminal_id.hex().upper()}"
        )
    card_reader.remove()
    print("[5] card removed. Intents journal:", journal)
    return 0


def _intent_json(intent: object) -> dict[str, object]:
    from dataclasses import asdict

    out: dict[str, object] = {}
    for key, value in asdict(intent).items():  # type: ignore[call-overload]
        out[key] = value.hex().upper() if isinstance(value, bytes) else int(value)
    return out
