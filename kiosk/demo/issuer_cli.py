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
    c = sub.add_parser("card", help="personalize a new blank card with the wallet's issuer")
    c.add_argument("--name", required=True)
    c.add_argument("--id-masked", required=True, help="masked ID number, e.g. 320582********1234")
    c.add_argument("--birth", required=True, type=dt.date.fromisoformat, help="YYYY-MM-DD")
    c.add_argument("--pin", required=True, help="6 digits")
    c.add_argument("--puk", required=True, help="8 digits")
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
    print(f"TEST ONLY wallet written to {root} ({alg.name}); cards personalized on-card:")
    for n, card in enumerate(Wallet(root).cards(), start=1):
        print(f"  {n}. {card.name} ({card.role}) {card.asn} PIN {card.pin}")
    return 0


def _card(args: argparse.Namespace) -> int:
    import secrets

    from cardlib.apdu import ApduSession
    from cardlib.bcd import CARD_TZ
    from cardlib.certs import Role
    from cardlib.errors import CardError
    from cardlib.layout import Holder
    from kiosk.demo.issuer import IssuanceError, Issuer, check_issuance
    from kiosk.opening_loads import record_opening_load
    from simulators.card import make_blank_card
    from simulators.transport import SimReader
    from simulators.wallet import Wallet

    today = dt.datetime.now(CARD_TZ).date()
    asn = bytes.fromhex(f"3215{secrets.randbelow(10**16):016d}")
    try:  # everything the card would refuse halfway, refused before a card exists
        check_issuance(pin=args.pin, puk=args.puk, balance=args.balance)
        holder = Holder(args.name, asn.hex(), args.id_masked, args.birth, services=0xFFFF)
        holder.to_bytes()
    except (IssuanceError, ValueError) as exc:
        print(f"not issued: {exc}")
        return 2
    wallet = Wallet(_wallet_dir(args))
    issuer = Issuer.load(wallet.root)
    path = wallet.root / "cards" / f"{asn.hex().upper()}.json"
    try:
        card = make_blank_card(issuer.keys, secrets.token_bytes(8), path=path)
        reader = SimReader("issuing counter")
        reader.insert(card)
        issuer.personalize(
            ApduSession(reader), asn=asn, holder=holder, pin=args.pin, puk=args.puk,
            role=Role(args.role), start=today, expiry=today.replace(year=today.year + 10),
        )  # fmt: skip
        wallet.add_card(name=args.name, asn=asn.hex().upper(), file=f"cards/{path.name}",
                        role=args.role, pin=args.pin, puk=args.puk)  # fmt: skip
        if args.balance:
            # Issue 12 item 5: the opening balance goes through the central's load
            # path (the next demo world credits it from the demo's funding account),
            # never a load with the issuer's own key that the ledger would not see.
            record_opening_load(wallet.root, asn.hex(), args.balance, "demo")
    except BaseException as exc:
        # A card the wallet does not list is a card nobody can use or account for:
        # a failed issuance destroys it, as a counter shreds a spoilt card.
        for leftover in (path, path.with_name(path.name + ".tmp")):
            leftover.unlink(missing_ok=True)
        if isinstance(exc, CardError):
            print(f"not issued: the card refused: {exc}")
            return 1
        raise
    print(f"personalized {args.name} ({args.role}) card {asn.hex().upper()} -> {path}")
    if args.balance:
        print(
            f"opening balance {args.balance} fen pending: credited through the central's "
            "load path when the demo world next starts (docs/sync.md, opening balances)"
        )
    return 0
