"""A simulated bus validator beside a demo world: a TEST ONLY PSAM of its own, an
enrolled key, its outbox and downloads, an in-process card reader and a settable
clock. ``civicard validator-sim`` plays a day of rides with it; tests use it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.validator.core import BusValidator, Fare, Tap

__all__ = ["SimulatedBus", "simulated_bus"]


@dataclass
class SimulatedBus:
    """The validator and its parts; :meth:`tap` presents a card object to it."""

    validator: BusValidator
    agent: Any
    outbox: Any
    reader: Any
    clock: list[datetime] = field(default_factory=list)

    def tap(self, card: Any, *, at: datetime | None = None, pull: bool | None = None) -> Tap:
        """``card`` (a simulated chip) is presented, at ``at`` on the validator's clock;
        ``pull``: taken away just before (False) or after (True) the DEBIT reaches it."""
        from cardlib.layout import Ins

        if at is not None:
            self.clock[0] = at
        self.reader.insert(card)
        if pull is not None:
            self.reader.arm_pull(Ins.DEBIT_FOR_PURCHASE, after=pull)
        try:
            return self.validator.tap(self.reader)
        finally:
            if self.reader.present:
                self.reader.remove()

    def close(self) -> None:
        self.agent.client.close()
        self.outbox.close()


def simulated_bus(
    *,
    keys: Any,
    central: Any,
    central_url: str,
    root: Path,
    ca_root: Path,
    terminal_id: str,
    fare: Fare,
    start: datetime,
    **validator_kw: Any,
) -> SimulatedBus:
    """A validator with a fresh PSAM made from the issuer's TEST ONLY ``keys``, its key
    enrolled at ``central`` (as the central's operator would enroll it)."""
    from backend_sync import chain
    from backend_sync.central import registry
    from backend_sync.terminal.agent import SyncAgent
    from backend_sync.terminal.client import CentralClient
    from backend_sync.terminal.downloads import DownloadStore
    from backend_sync.terminal.outbox import Outbox
    from backend_sync.terminal_certs import load_test_terminal_ca, terminal_cert_pem_for
    from cardlib.apdu import ApduSession
    from cardlib.psam import PsamClient
    from simulators.sam import Psam, make_psam
    from simulators.transport import SimReader

    root.mkdir(parents=True, exist_ok=True)
    psam_reader = SimReader("bus PSAM")
    psam_reader.insert(Psam(make_psam(keys, bytes.fromhex(terminal_id), ttc=500,
                                      path=root / "bus-psam.json")))  # fmt: skip
    psam = PsamClient(ApduSession(psam_reader))
    key = chain.generate_key()
    # Issued by the demo world's TEST ONLY terminal CA (the central trusts only it).
    cert = terminal_cert_pem_for(load_test_terminal_ca(ca_root), terminal_id, key)
    registry.enroll_terminal(central, terminal_id=terminal_id, cert_pem=cert)
    outbox = Outbox(root / "bus-outbox.db", terminal_id)
    central_key = central.signing_key.public_key()
    client = CentralClient(central_url, terminal_id=terminal_id, key=key,
                           central_key=central_key, timeout=5)  # fmt: skip
    store = DownloadStore(root / "bus-downloads", central_key)
    agent = SyncAgent(outbox, client, store, attempts=2, backoff_initial=0.05, backoff_max=0.2)
    clock = [start]
    validator = BusValidator(psam, outbox, store.hotlist, fare, now=lambda: clock[0],
                             **validator_kw)  # fmt: skip
    return SimulatedBus(validator, agent, outbox, SimReader("bus card"), clock)
