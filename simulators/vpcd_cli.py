"""``civicard sim card --vpcd HOST:PORT --card FILE``: a simulated card behind pcscd.

Serves the card on vpcd port PORT (the reader's first slot) and, with ``--psam``, the
PSAM on PORT+1 (second slot), until interrupted. While it runs, lines on standard
input move cards like a hand at the reader::

    remove            pull the card out
    insert [CARD]     put a card in (default: the last one)
    swap CARD         pull the card and insert another
    status            what is in each slot
    quit

CARD is a card file, or a citizen of the wallet (name, ASN or number, see
``civicard sim wallet``). Cards persist in their files: a purchase made through
pcscd is on the card the next process loads.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulators.card import CitizenCard
    from simulators.sam import Psam
    from simulators.vpcd import VpcdBridge

__all__ = ["register_sim"]


def register_sim(sim_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``civicard sim card``."""
    p = sim_sub.add_parser(
        "card", help="serve a simulated card (and PSAM) on a vpcd virtual reader via pcscd"
    )
    p.add_argument(
        "--vpcd",
        required=True,
        metavar="HOST:PORT",
        help="vpcd's address; card on PORT, PSAM on PORT+1 (vpcd's default port is 35963)",
    )
    p.add_argument("--card", metavar="CARD", help="card file, or wallet citizen (name/ASN/number)")
    p.add_argument(
        "--psam",
        nargs="?",
        const="",
        default=None,
        metavar="PSAM",
        help="also serve a PSAM: a PSAM file, or a terminal id in the wallet (default: its first)",
    )
    p.add_argument("--wallet", type=Path, default=None, help="wallet folder (default: var/wallet)")
    p.add_argument("--no-stdin", action="store_true", help="ignore standard input commands")
    p.set_defaults(handler=_run)


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65535:
        raise ValueError(f"--vpcd wants HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _wallet_dir(args: argparse.Namespace) -> Path:
    from simulators.wallet_cli import default_wallet_dir

    return Path(args.wallet) if args.wallet else default_wallet_dir()


def _open_card(args: argparse.Namespace, which: str) -> CitizenCard:
    from simulators.card import CitizenCard
    from simulators.wallet import Wallet

    path = Path(which)
    if path.is_file():
        return CitizenCard.load(path)
    return Wallet(_wallet_dir(args)).open_card(which)


def _open_psam(args: argparse.Namespace, which: str) -> Psam:
    from simulators.sam import Psam
    from simulators.wallet import Wallet

    path = Path(which)
    if which and path.is_file():
        return Psam.load(path)
    return Wallet(_wallet_dir(args)).open_psam(which or None)


def _run(args: argparse.Namespace) -> int:
    from simulators.vpcd import VpcdBridge

    try:
        host, port = _address(args.vpcd)
    except ValueError as exc:
        print(f"civicard sim card: {exc}", file=sys.stderr)
        return 2
    if args.card is None and args.psam is None:
        print("civicard sim card: give --card and/or --psam", file=sys.stderr)
        return 2
    done = threading.Event()

    def stop(_sig: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    bridge = VpcdBridge(host, port)
    last_card = args.card
    try:
        if args.psam is not None:
            bridge.psam.insert(_open_psam(args, args.psam), wait=None)
            print(f"PSAM in slot 2 ({host}:{port + 1})", flush=True)
        if args.card is not None:
            bridge.card.insert(_open_card(args, args.card), wait=None)
            print(f"card {args.card} in slot 1 ({host}:{port})", flush=True)
        if not args.no_stdin:
            threading.Thread(
                target=_commands, args=(args, bridge, last_card, done), daemon=True
            ).start()
        while not done.wait(0.5):
            pass
    except (KeyError, FileNotFoundError, ValueError) as exc:
        print(f"civicard sim card: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        bridge.close()
    return 0


def _commands(
    args: argparse.Namespace, bridge: VpcdBridge, last: str | None, done: threading.Event
) -> None:
    for line in sys.stdin:
        word, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        try:
            if word == "remove":
                bridge.card.remove()
                print("card removed", flush=True)
            elif word in ("insert", "swap"):
                which = rest or last
                if which is None:
                    print("which card?", flush=True)
                    continue
                card = _open_card(args, which)
                if bridge.card.inserted:
                    bridge.card.swap(card)
                else:
                    bridge.card.insert(card, wait=None)
                last = which
                print(f"card {which} inserted", flush=True)
            elif word == "status":
                for slot in (bridge.card, bridge.psam):
                    state = "in" if slot.inserted else "empty"
                    print(f"{slot.name} slot ({slot.port}): {state}", flush=True)
            elif word in ("quit", "exit"):
                done.set()
                return
            elif word:
                print("commands: remove | insert [CARD] | swap CARD | status | quit", flush=True)
        except (KeyError, FileNotFoundError, ValueError, RuntimeError) as exc:
            print(f"error: {exc}", flush=True)
    # End of input (e.g. started with </dev/null): keep serving until a signal.
