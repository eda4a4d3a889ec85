"""``civicard sim wallet ...``: make and list a wallet of TEST ONLY simulated cards."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from cardlib.crypto import Algorithm


def default_wallet_dir() -> Path:
    return Path(os.environ.get("CIVICARD_DATA", "var")) / "wallet"


def register_sim(sim_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sim_sub.add_parser("wallet", help="TEST ONLY issuer keys, demo citizens' cards, PSAMs")
    p.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="wallet folder (default: $CIVICARD_DATA/wallet or var/wallet)",
    )
    sub = p.add_subparsers(dest="wallet_command", metavar="ACTION")
    init = sub.add_parser("init", help="generate TEST ONLY keys and the demo cards")
    init.add_argument("--algorithm", choices=["3des", "sm4"], default="3des")
    init.add_argument(
        "--seed", type=int, default=None, help="seed for card numbers (keys stay random)"
    )
    init.add_argument("--force", action="store_true", help="replace an existing wallet")
    init.set_defaults(handler=_init)
    ls = sub.add_parser("list", help="show the cards in the wallet")
    ls.set_defaults(handler=_list)
    p.set_defaults(handler=_list)


def _init(args: argparse.Namespace) -> int:
    from simulators.wallet import Wallet

    root = args.dir or default_wallet_dir()
    if Wallet(root).exists():
        if not args.force:
            print(f"a wallet already exists in {root} (use --force to replace it)")
            return 1
        shutil.rmtree(root)
    alg = Algorithm.TDES if args.algorithm == "3des" else Algorithm.SM4
    wallet = Wallet.create(root, algorithm=alg, seed=args.seed)
    print(f"TEST ONLY wallet written to {root} ({alg.name})")
    return _list(argparse.Namespace(dir=wallet.root))


def _list(args: argparse.Namespace) -> int:
    from simulators.wallet import Wallet

    wallet = Wallet(args.dir or default_wallet_dir())
    for n, card in enumerate(wallet.cards(), start=1):
        c = wallet.open_card(card.asn)
        print(f"{n}. {card.name}\t{card.asn}\tbalance {c.balance / 100:.2f}\t{c.eeprom['status']}")
    return 0
