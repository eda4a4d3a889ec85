"""``civicard sim wallet``: list the simulated cards in a wallet folder."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def default_wallet_dir() -> Path:
    return Path(os.environ.get("CIVICARD_DATA", "var")) / "wallet"


def register_sim(sim_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sim_sub.add_parser("wallet", help="show the simulated cards in a wallet")
    p.add_argument(
        "--dir", type=Path, default=None, help="wallet folder (default: $CIVICARD_DATA/wallet)"
    )
    p.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    from simulators.card import CitizenCard
    from simulators.wallet import Wallet

    wallet = Wallet(args.dir or default_wallet_dir())
    for n, card in enumerate(wallet.cards(), start=1):
        chip = CitizenCard.load(wallet.root / card.file)
        balance = chip.eeprom.get("balance", 0)
        print(
            f"{n}. {card.name}\t{card.role}\t{card.asn}\t¥{balance / 100:.2f}\t"
            f"{chip.eeprom['status']}\tPIN {card.pin or '-'} (TEST ONLY)"
        )
    return 0
