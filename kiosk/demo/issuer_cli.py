"""``civicard issue ...``: the TEST ONLY issuer: make a demo wallet, personalize a card."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
from pathlib import Path


def _wallet_dir(args: argparse.Namespace) -> Path:
    return args.dir or Path(os.environ.get("CIVICARD_DATA", "var")) / "wallet"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("issue", help="TEST ONLY issuer: demo wallet, personalize cards")
    p.add_argument(
        "--dir", type=Path, default=None, help="wallet folder (default: $CIVICARD_DATA/wallet)"
    )
    sub = p.add_subparsers(dest="issue_command", metavar="ACTION")
    w = sub.add_parser("wallet", help="new TEST ONLY issuer, PSAM and demo people's cards")
    w.add_argument("--algorithm", choices=["3des", "sm4"], default="3des")
    w.add_argument("--seed", type=int, default=None, help="seed for card numbers and serials")
    w.add_argument("--force", action="store_true", help="replace an existing wallet")
    w.set_defaults(handler=_wallet)
    c = sub.add_parser(
        "card", help="issue a blank card through the wallet's issuing central (PUK generated)"
    )
    c.add_argument("--name", required=True)
    c.add_argument("--id-masked", required=True, help="masked ID number, e.g. 320582********1234")
    c.add_argument("--birth", required=True, type=dt.date.fromisoformat, help="YYYY-MM-DD")
    c.add_argument("--pin", required=True, help="6 digits")
    c.add_argument(
        "--role", choices=["citizen", "clerk", "technician", "supervisor"], default="citizen"
    )
    c.add_argument("--balance", type=int, default=0, help="opening load in fen")
    c.set_defaults(handler=_card)

    def _help(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(handler=_help)


def _wallet(args: argparse.Namespace) -> int:
    from cardlib.crypto import Algorithm
    from kiosk.demo.issuer import create_demo_wallet
    from simulators.wallet import Wallet

    root = _wallet_dir(args)
    if Wallet(root).exists():
        if not args.force:
            print(f"a wallet already exists in {root} (use --force to replace it)")
            return 1
        shutil.rmtree(root)
    alg = Algorithm.TDES if args.algorithm == "3des" else Algorithm.SM4
    create_demo_wallet(root, algorithm=alg, seed=args.seed)
    print(f"TEST ONLY wallet written to {root} ({alg.name}); cards issued by its central:")
    for n, card in enumerate(Wallet(root).cards(), start=1):
        print(f"  {n}. {card.name} ({card.role}) {card.asn} PIN {card.pin}")
    return 0


def _card(args: argparse.Namespace) -> int:
    """Issue one card through the central's issuance path, as the demo wallet's are
    (kiosk.demo.issuing_desk), on the wallet's issuing central (``central.db``)."""
    import secrets

    from cardlib.apdu import ApduSession
    from cardlib.certs import Role
    from cardlib.errors import CardError
    from cardlib.layout import Holder
    from kiosk.demo.issuer import (
        ISSUER_TERMINAL,
        IssuanceError,
        Issuer,
        check_issuance,
        issuing_central,
    )
    from kiosk.demo.issuing_desk import DeskApplication, IssuingDesk
    from kiosk.opening_loads import record_opening_load
    from simulators.card import make_blank_card
    from simulators.transport import SimReader
    from simulators.wallet import Wallet

    try:  # everything the card would refuse halfway, refused before a card exists
        check_issuance(pin=args.pin, balance=args.balance)
        Holder(args.name, "0" * 20, args.id_masked, args.birth, services=0xFFFF).to_bytes()
    except (IssuanceError, ValueError) as exc:
        print(f"not issued: {exc}")
        return 2
    wallet = Wallet(_wallet_dir(args))
    issuer = Issuer.load(wallet.root)
    serial = secrets.token_bytes(8)
    path = wallet.root / "cards" / f"blank-{serial.hex().upper()}.json"
    central = issuing_central(wallet.root, issuer)
    app = DeskApplication(args.name, args.id_masked, args.birth, args.pin, Role(args.role))
    try:
        card = make_blank_card(issuer.keys, serial, path=path)
        reader = SimReader("issuing desk")
        reader.insert(card)
        with IssuingDesk(central, ISSUER_TERMINAL.hex()) as desk:
            issued = desk.issue(ApduSession(reader), app)
        reader.remove()
        card_path = path.with_name(f"{issued.asn}.json")
        path.rename(card_path)
        wallet.add_card(name=args.name, asn=issued.asn, file=f"cards/{card_path.name}",
                        role=args.role, pin=args.pin, puk=issued.puk)  # fmt: skip
        if args.balance:
            # Issue 12 item 5: the opening balance goes through the central's load
            # path (the next demo world credits it from the demo's funding account),
            # never a load with the issuer's own key that the ledger would not see.
            record_opening_load(wallet.root, issued.asn, args.balance, "demo")
    except BaseException as exc:
        # A card the wallet does not list is a card nobody can use or account for:
        # a failed issuance destroys it, as a counter shreds a spoilt card (its
        # application stays unfinished at the issuing central, in its audit).
        for leftover in (path, path.with_name(path.name + ".tmp")):
            leftover.unlink(missing_ok=True)
        if isinstance(exc, CardError):
            print(f"not issued: the card refused: {exc}")
            return 1
        raise
    finally:
        central.engine.dispose()
    print(f"issued {args.name} ({args.role}) card {issued.asn} through the wallet's "
          f"issuing central -> {card_path}")  # fmt: skip
    print(f"PUK {issued.puk} (TEST ONLY: from the central's sealed-mailer queue)")
    if args.balance:
        print(
            f"opening balance {args.balance} fen pending: credited through the central's "
            "load path when the demo world next starts (docs/sync.md, opening balances)"
        )
    return 0
