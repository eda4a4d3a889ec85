"""A kiosk process for the SIGKILL test: settles, sells, syncs, and is killed by a
seeded plan at one point (in the outbox, between card commands, inside the card's
EEPROM write, or in the middle of a sync).

    python -m tests.backend_sync.kiosk_proc WORKDIR URL SEED [--no-kill] [--card-absent]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from backend_sync import chain
from backend_sync.terminal.agent import SyncAgent
from backend_sync.terminal.client import CentralClient
from backend_sync.terminal.downloads import DownloadStore
from backend_sync.terminal.outbox import Outbox
from backend_sync.terminal.settle import prove_unsettled, settle_unfinished
from cardlib.apdu import ApduSession
from cardlib.errors import CardError
from cardlib.identity import Identity
from cardlib.psam import PsamClient
from cardlib.purse import DebitOutcomeUnknown, Purse
from simulators.card import CitizenCard
from simulators.transport import SimReader
from simulators.wallet import Wallet
from tests.backend_sync.kiosk_flow import CATALOG_VERSION, PRICES, load, purchase

POINTS = ("before_intent", "after_intent", "card", "after_debit", "after_complete", "sync")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_at_write(k: int) -> Callable[[str], bool]:
    """Die at the k-th EEPROM write point of the card's debit (a power cut mid-write)."""
    left = [k]

    def at(name: str) -> bool:
        if name.startswith("purchase") or name.startswith("debit"):
            left[0] -= 1
            if left[0] < 0:
                _die()
        return False

    return at


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("work", type=Path)
    ap.add_argument("url")
    ap.add_argument("seed", type=int)
    ap.add_argument("--no-kill", action="store_true")
    ap.add_argument("--card-absent", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    wallet = Wallet(args.work / "wallet")
    psam_reader, card_reader = SimReader("psam"), SimReader("card")
    psam_reader.insert(wallet.open_psam())
    psam = PsamClient(ApduSession(psam_reader))
    tid = psam.terminal_id.hex().upper()
    outbox = Outbox(args.work / "outbox.db", tid)
    key = chain.load_private_key((args.work / "terminal-key.pem").read_bytes())
    central_key = chain.load_public_key((args.work / "central.pub.pem").read_bytes())
    client = CentralClient(args.url, terminal_id=tid, key=key, central_key=central_key, timeout=5)
    agent = SyncAgent(outbox, client, DownloadStore(args.work / "dl", central_key),
                      batch_size=3, attempts=3, backoff_initial=0.01, backoff_max=0.05)  # fmt: skip
    cards = [c for c in wallet.cards() if c.role == "citizen"]

    def insert(n: int) -> Purse:
        card_reader.insert(wallet.open_card(cards[n].asn))
        session = ApduSession(card_reader)
        purse = Purse(session)
        # The PIN verified at the start of the session, as the kiosk does.
        Identity(session, purse.asn).verify_pin(cards[n].pin)
        return purse

    # Start-up: settle what a previous life left open, against the card if present.
    first = rng.randrange(len(cards))
    purse = None if args.card_absent else insert(first)
    log = open(args.work / "kiosk.log", "a")  # noqa: SIM115
    print(f"life seed={args.seed} first={first} absent={args.card_absent}", file=log, flush=True)
    print(" settled", settle_unfinished(outbox, [purse] if purse else []), file=log, flush=True)
    if purse is not None:
        print(" proved", prove_unsettled(outbox, purse), file=log, flush=True)
    kill_at = None if args.no_kill else (rng.randrange(4), rng.choice(POINTS))
    for n in range(4):
        which = rng.randrange(len(cards))
        purse = insert(which)
        print(f" insert {which} proved", prove_unsettled(outbox, purse), file=log, flush=True)
        if purse.balance() < 500:
            # Long campaigns drain the cards: top up online (MAC2 from the central).
            load(purse, psam.terminal_id, outbox, client, 20_000)
            print(f" loaded card {which}", file=log, flush=True)
        print(f" kill plan {kill_at} n={n}", file=log, flush=True)
        point = kill_at[1] if kill_at and kill_at[0] == n else None

        def hook(p: str, point: str | None = point) -> None:
            if p == point:
                _die()

        if point == "card":
            device = card_reader.device
            assert isinstance(device, CitizenCard)
            device.eeprom.arm_tear(_kill_at_write(rng.randrange(6)))
        try:
            sid = rng.choice(sorted(PRICES))
            purchase(purse, psam, outbox, PRICES[sid], hook=hook,
                     catalog_version=CATALOG_VERSION, service_id=sid)  # fmt: skip
        except DebitOutcomeUnknown:
            purse = insert(which)
            settle_unfinished(outbox, [purse])
        except CardError as exc:
            print(f"purchase {n} refused: {exc!r}", file=sys.stderr)
        if point == "sync":
            threading.Timer(rng.random() * 0.05, _die).start()
            agent.upload_pending()
            time.sleep(1)
        elif rng.random() < 0.4:
            agent.run_once()
        card_reader.remove()
    if args.no_kill:
        for n in range(len(cards)):
            prove_unsettled(outbox, insert(n))
        report = agent.run_once()
        print(outbox.status().acked_seq, outbox.status().unacked, len(report.problems))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
