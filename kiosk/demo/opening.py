"""The demo's issuing counter: it credits the wallet's pending opening balances
through the central's load path (kiosk.opening_loads), as a counter station would.
TEST ONLY tooling: the PINs it presents are the demo wallet's."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

__all__ = ["open_balances"]

log = logging.getLogger(__name__)


def open_balances(root: Path, wallet: Any, central: Any, url: str) -> int:
    """The issuing counter (its own terminal key, outbox and central client) credits
    the wallet's pending opening balances through the central's load path, then
    uploads its records (kiosk.opening_loads). Returns how many were loaded."""

    from backend_sync import chain
    from backend_sync.central import registry
    from backend_sync.terminal.agent import SyncAgent
    from backend_sync.terminal.client import CentralClient
    from backend_sync.terminal.downloads import DownloadStore
    from backend_sync.terminal.outbox import Outbox
    from backend_sync.terminal_certs import load_test_terminal_ca, terminal_cert_pem_for
    from cardlib.apdu import ApduSession
    from kiosk.demo.issuer import ISSUER_TERMINAL
    from kiosk.opening_loads import load_opening_balances, pending_opening_loads
    from simulators.transport import SimReader

    if not pending_opening_loads(wallet.root):
        return 0
    tid = ISSUER_TERMINAL.hex().upper()
    key_file = root / "counter-key.pem"
    if key_file.exists():
        key = chain.load_private_key(key_file.read_bytes())
    else:
        # Its certificate from the demo's TEST ONLY terminal CA, like the kiosk's.
        key = chain.generate_key()
        pem = terminal_cert_pem_for(load_test_terminal_ca(root), tid, key)
        registry.enroll_terminal(central, terminal_id=tid, cert_pem=pem)
        key_file.write_bytes(chain.private_key_pem(key))
    pub = central.signing_key.public_key()
    outbox = Outbox(root / "counter-outbox.db", tid)
    client = CentralClient(url, terminal_id=tid, key=key, central_key=pub, timeout=5)
    reader = SimReader("issuing counter")

    def open_session(asn: str) -> ApduSession:
        reader.insert(wallet.open_card(asn))
        return ApduSession(reader)

    try:
        pins = {c.asn: c.pin for c in wallet.cards()}  # TEST ONLY demo PINs
        n = load_opening_balances(wallet.root, open_session, outbox, client, pins.get)
        report = SyncAgent(outbox, client, DownloadStore(root / "counter-downloads", pub),
                           attempts=2, backoff_initial=0.05).upload_pending()  # fmt: skip
        if report.problems:
            log.warning("opening loads not all uploaded: %s", report.problems)
        return n
    finally:
        reader.remove()
        client.close()
        outbox.close()
