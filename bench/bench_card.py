"""In-process card simulator speed: APDUs per second and the time of a full purchase.

For 3DES and SM4, and for chips whose EEPROM lives in memory (``path=None``) beside
chips that persist to a file (card and PSAM each write and fsync their image on
every commit, as a wallet card does), prints medians of:

- GET BALANCE APDUs/s: cardlib's ApduSession -> SimReader -> card OS; nothing written;
- mixed APDUs/s: a kiosk session's commands (SELECT, READ BINARY 15 and 16, GET
  BALANCE, READ RECORD of the log, VERIFY, then a purchase: INITIALIZE, PSAM 80 70,
  DEBIT, PSAM 80 72), counted on both readers;
- a full purchase: SELECT, READ BINARY 15 (the ASN), VERIFY (the kiosk asks it
  first), INITIALIZE FOR PURCHASE, PSAM MAC1 (80 70), DEBIT FOR PURCHASE, PSAM
  MAC2 check (80 72); median and p90.

Usage: .venv/bin/python bench/bench_card.py [--purchases 300] [--apdus 4000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cardlib.apdu import ApduSession
from cardlib.crypto import Algorithm
from cardlib.identity import Identity
from cardlib.keys import IssuerKeys, KeyRole
from cardlib.layout import Holder
from cardlib.psam import PsamClient
from cardlib.purse import PurchaseIntent, Purse
from simulators.card import CitizenCard, make_card
from simulators.sam import Psam, make_psam
from simulators.transport import SimReader

ASN = bytes.fromhex("32150000000000000077")
TERMINAL = bytes.fromhex("320500000077")
PLENTY = 100_000_000  # fen: enough balance for every purchase the benchmark makes
PIN = "123456"  # TEST ONLY, make_card's default


@dataclass
class Slots:
    """A card and a PSAM inserted in in-process readers."""

    card_reader: SimReader
    psam_reader: SimReader
    card_session: ApduSession
    psam: PsamClient

    @property
    def apdus(self) -> int:
        return self.card_reader.apdu_count + self.psam_reader.apdu_count


@dataclass(frozen=True)
class Result:
    alg: Algorithm
    storage: str
    get_balance_per_s: float
    mixed_per_s: float
    purchase_median_ms: float
    purchase_p90_ms: float
    purchase_apdus: int


def _keys(alg: Algorithm) -> IssuerKeys:
    """Fixed TEST ONLY master keys (generated keys would make runs differ for no reason)."""
    masters = {1: {role: bytes([0x11 * (i + 1)]) * 16 for i, role in enumerate(KeyRole)}}
    return IssuerKeys(alg, masters, test_only=True)


@contextmanager
def _slots(alg: Algorithm, folder: Path | None) -> Iterator[Slots]:
    keys = _keys(alg)
    holder = Holder("测试", ASN.hex(), "320582********0000", date(1990, 1, 1))
    card_path = folder / "card.json" if folder else None
    psam_path = folder / "psam.json" if folder else None
    eeprom = make_card(
        keys, ASN, holder, balance=PLENTY, max_balance=PLENTY, pin=PIN, path=card_path
    )
    card = CitizenCard(eeprom, rng=random.Random(1).randbytes)
    psam_chip = Psam(make_psam(keys, TERMINAL, path=psam_path))
    card_reader, psam_reader = SimReader("card"), SimReader("psam")
    card_reader.insert(card)
    psam_reader.insert(psam_chip)
    try:
        yield Slots(
            card_reader, psam_reader, ApduSession(card_reader), PsamClient(ApduSession(psam_reader))
        )
    finally:
        card_reader.remove()
        psam_reader.remove()


def _discard(_intent: PurchaseIntent) -> None:
    """No intent journal here: the kiosk's outbox is measured by its own benchmark."""


def _rate(rounds: int, batch: Callable[[], int]) -> float:
    """Median over ``rounds`` of (APDUs a batch sent) / (its wall time)."""
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        count = batch()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def _measure(alg: Algorithm, storage: str, args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-card-") as tmp:
        folder = Path(tmp) if storage == "file" else None
        with _slots(alg, folder) as slots:
            session = slots.card_session
            purse = Purse(session)

            n_apdus: int = args.apdus
            n_sessions: int = args.sessions

            def get_balance() -> int:
                for _ in range(n_apdus):
                    session.send_apdu(0x80, 0x5C, 0x00, 0x02, le=4)
                return n_apdus

            def mixed() -> int:
                before = slots.apdus
                for _ in range(n_sessions):
                    p = Purse(session)
                    p.public_info()
                    p.holder()
                    p.balance()
                    p.log()
                    Identity.of(p).verify_pin(PIN)
                    p.purchase(slots.psam, 1, on_intent=_discard)
                return slots.apdus - before

            get_balance_per_s = _rate(args.rounds, get_balance)
            mixed_per_s = _rate(args.rounds, mixed)

            times = []
            before = slots.apdus
            for _ in range(args.purchases):
                start = time.perf_counter()
                # A fresh Purse: SELECT, READ BINARY 15 and VERIFY are part of every purchase.
                p = Purse(session)
                Identity.of(p).verify_pin(PIN)
                p.purchase(slots.psam, 1, on_intent=_discard)
                times.append(time.perf_counter() - start)
            per_purchase = (slots.apdus - before) // args.purchases
            assert purse.balance() < PLENTY
    deciles = statistics.quantiles(times, n=10)
    return Result(
        alg=alg,
        storage=storage,
        get_balance_per_s=get_balance_per_s,
        mixed_per_s=mixed_per_s,
        purchase_median_ms=statistics.median(times) * 1000,
        purchase_p90_ms=deciles[-1] * 1000,
        purchase_apdus=per_purchase,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--purchases", type=int, default=300, help="timed purchases (>= 200)")
    parser.add_argument("--apdus", type=int, default=4000, help="GET BALANCE per round")
    parser.add_argument("--sessions", type=int, default=40, help="mixed sessions per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each rate (median)")
    args = parser.parse_args()
    if args.purchases < 200:
        parser.error("--purchases must be at least 200")

    print(
        f"civicard card simulator in-process: Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; medians; purchase = SELECT, READ BINARY 15, VERIFY, "
        "INITIALIZE, PSAM 80 70, DEBIT, PSAM 80 72"
    )
    print(
        f"{'alg':<5} {'EEPROM':<7} {'GET BALANCE/s':>14} {'mixed APDU/s':>13} "
        f"{'purchase ms':>12} {'p90 ms':>8} {'APDUs':>6}"
    )
    for alg in Algorithm:
        for storage in ("memory", "file"):
            r = _measure(alg, storage, args)
            print(
                f"{'3DES' if alg is Algorithm.TDES else 'SM4':<5} {storage:<7} "
                f"{r.get_balance_per_s:>14,.0f} {r.mixed_per_s:>13,.0f} "
                f"{r.purchase_median_ms:>12.3f} {r.purchase_p90_ms:>8.3f} {r.purchase_apdus:>6}"
            )
    print(
        f"({args.purchases} purchases, GET BALANCE {args.rounds}x{args.apdus}, mixed "
        f"{args.rounds}x{args.sessions} sessions; 'file' = card and PSAM images saved with "
        "fsync on every commit)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
