"""PC/SC transport cost: pyscard -> pcscd -> vpcd -> simulator, against in-process.

Prints medians: one APDU's round trip (GET BALANCE) over the real PC/SC stack and
in-process, and one full purchase (INITIALIZE, PSAM 80 70, DEBIT, PSAM 80 72 under a
PC/SC transaction on both slots) the same two ways, with the ratio.

Usage: .venv/bin/python bench/bench_pcsc.py [--apdus 2000] [--purchases 300]
Starts its own pcscd (no other pcscd may be running).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from pathlib import Path

from cardlib.apdu import ApduSession, Connection
from cardlib.crypto import Algorithm
from cardlib.identity import Identity
from cardlib.keys import IssuerKeys
from cardlib.layout import Holder
from cardlib.psam import PsamClient
from cardlib.purse import PurchaseIntent, Purse
from drivers.pcsc import PcscConnection, transaction, wait_for_removal
from simulators.card import CitizenCard, make_card
from simulators.private_pcscd import PrivatePcscd
from simulators.sam import Psam, make_psam
from simulators.transport import SimReader
from simulators.vpcd import VpcdBridge

ASN = bytes.fromhex("32150000000000000099")
TERMINAL = bytes.fromhex("320500000099")
GET_BALANCE = bytes.fromhex("805C000204")
PIN = "123456"


def _chips(keys: IssuerKeys) -> tuple[CitizenCard, Psam]:
    # In memory (no file): the EEPROM's fsync would dominate both sides and hide the
    # transport, which is what this measures.
    holder = Holder("测试", ASN.hex(), "320582********0000", date(1990, 1, 1))
    card = CitizenCard(make_card(keys, ASN, holder, balance=100_000, max_balance=100_000, pin=PIN))
    return card, Psam(make_psam(keys, TERMINAL))


def _median_ms(n: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _discard(_intent: PurchaseIntent) -> None:
    """The benchmark keeps no journal (the kiosk's outbox is measured elsewhere)."""


def _measure(
    card: Connection,
    sam: Connection,
    apdus: int,
    purchases: int,
    hold: Callable[[], AbstractContextManager[object]],
) -> tuple[float, float]:
    purse = Purse(ApduSession(card))
    Identity.of(purse).verify_pin(PIN)  # as the kiosk does at the start of a session
    psam = PsamClient(ApduSession(sam))
    rtt = _median_ms(apdus, lambda: card.send_and_receive(GET_BALANCE))

    def purchase() -> None:
        with hold():
            purse.purchase(psam, 1, on_intent=_discard)

    return rtt, _median_ms(purchases, purchase)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apdus", type=int, default=2000)
    parser.add_argument("--purchases", type=int, default=300)
    parser.add_argument("--plain", type=int, default=40, help="round trips without TCP tuning")
    args = parser.parse_args()
    keys = IssuerKeys.generate(Algorithm.TDES)

    card_reader, psam_reader = SimReader("card"), SimReader("psam")
    card, psam = _chips(keys)
    card_reader.insert(card)
    psam_reader.insert(psam)
    # In-process there is nothing to hold.
    local_rtt, local_buy = _measure(
        card_reader, psam_reader, args.apdus, args.purchases, nullcontext
    )

    with tempfile.TemporaryDirectory() as tmp, PrivatePcscd(Path(tmp)) as pcscd:
        card_slot, psam_slot = pcscd.slot_names()
        with VpcdBridge("127.0.0.1", pcscd.port) as bridge:
            card, psam = _chips(keys)
            bridge.card.insert(card)
            bridge.psam.insert(psam)
            with (
                PcscConnection.wait_for_card(card_slot, 5.0) as pc_card,
                PcscConnection.wait_for_card(psam_slot, 5.0) as pc_sam,
            ):
                pcsc_rtt, pcsc_buy = _measure(
                    pc_card,
                    pc_sam,
                    args.apdus,
                    args.purchases,
                    lambda: transaction(pc_card, pc_sam),
                )

        # The same without TCP_NODELAY / TCP_QUICKACK on the simulator's side: few
        # rounds, each costs a delayed ACK.
        wait_for_removal(card_slot, 5.0)
        with VpcdBridge("127.0.0.1", pcscd.port, low_latency=False) as slow:
            card, _ = _chips(keys)
            slow.card.insert(card)
            with PcscConnection.wait_for_card(card_slot, 5.0) as pc_card:
                plain_rtt = _median_ms(args.plain, lambda: pc_card.send_and_receive(GET_BALANCE))

    print(f"APDU round trip (GET BALANCE), median of {args.apdus}:")
    print(f"  pcscd+vpcd  {pcsc_rtt:8.3f} ms")
    print(f"  in-process  {local_rtt:8.3f} ms")
    print(f"  pcscd+vpcd without TCP_NODELAY/QUICKACK: {plain_rtt:.3f} ms (median of {args.plain})")
    print(f"purchase (card INITIALIZE+DEBIT, PSAM 80 70+80 72), median of {args.purchases}:")
    print(f"  pcscd+vpcd  {pcsc_buy:8.3f} ms  (with SCardBeginTransaction on both slots)")
    print(f"  in-process  {local_buy:8.3f} ms")
    print(f"  ratio       {pcsc_buy / local_buy:8.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
