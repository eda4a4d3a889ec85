"""A bus validator on real devices, built from its config: the PSAM and the card
reader over PC/SC, its own outbox and downloads, the sync agent.

:meth:`ValidatorRuntime.run` serves taps one after the other (a card arrives, is
served, must leave before the next), syncing at start, every ``sync_interval``
seconds on its own thread, and once more when it stops — a bus that is offline all
day uploads at the depot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk.validator.config import ValidatorConfig, ValidatorConfigError
from kiosk.validator.core import BusValidator, Fare, Tap

__all__ = ["ValidatorRuntime", "build_validator"]

log = logging.getLogger(__name__)


@dataclass
class ValidatorRuntime:
    """The validator and what it owns; :meth:`close` releases it."""

    config: ValidatorConfig
    terminal_id: str
    validator: BusValidator
    agent: Any
    outbox: Any
    card_reader: str
    psam_conn: Any
    _stop: threading.Event = field(default_factory=threading.Event)
    _sync_lock: threading.Lock = field(default_factory=threading.Lock)

    def sync(self) -> Any:
        """One sync pass (records up, hotlist and documents down); never raises."""
        with self._sync_lock:
            report = self.agent.run_once()
        log.info("sync: acked %d, hotlist v%d", report.acked_seq, report.hotlist_version)
        return report

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.config.sync_interval):
            self.sync()

    def run(
        self,
        on_tap: Callable[[Tap], None],
        *,
        max_taps: int | None = None,
        stop: threading.Event | None = None,
        poll: float = 0.5,
    ) -> int:
        """Serve taps until ``stop`` is set (or ``max_taps`` were served); returns the
        number served. Syncs first, periodically, and last."""
        from cardlib.errors import DeviceError, NoCardError
        from drivers.pcsc import PcscConnection, wait_for_removal

        stop = stop or self._stop
        self.sync()
        syncer = threading.Thread(target=self._sync_loop, name="validator-sync", daemon=True)
        syncer.start()
        served = 0
        try:
            while not stop.is_set() and (max_taps is None or served < max_taps):
                try:
                    conn = PcscConnection.wait_for_card(self.card_reader, timeout=poll)
                except NoCardError:
                    continue
                except DeviceError as exc:
                    # The reader or pcscd went away: keep trying, a bus has no one
                    # to restart it (the card reader's own refusal is in the log).
                    log.warning("card reader: %s", exc)
                    stop.wait(poll)
                    continue
                try:
                    tap = self.validator.tap(conn)
                finally:
                    conn.close()
                served += 1
                on_tap(tap)
                self._await_removal(wait_for_removal, stop, poll)
        finally:
            self._stop.set()
            syncer.join(5)
            self.sync()
        return served

    def _await_removal(self, wait: Callable[[str, float], bool], stop: threading.Event,
                       poll: float) -> None:  # fmt: skip
        """One tap per presentation: the card must leave before the next."""
        from cardlib.errors import DeviceError

        while not stop.is_set():
            try:
                if wait(self.card_reader, poll):
                    return
            except DeviceError as exc:
                log.warning("card reader: %s", exc)
                stop.wait(poll)

    def close(self) -> None:
        self._stop.set()
        self.psam_conn.close()
        self.agent.client.close()
        self.outbox.close()


def build_validator(config: ValidatorConfig, *, psam_wait: float = 5.0) -> ValidatorRuntime:
    """Everything the validator needs; raises ValidatorConfigError naming the culprit."""
    from backend_sync import chain
    from backend_sync.terminal.agent import SyncAgent
    from backend_sync.terminal.client import CentralClient
    from backend_sync.terminal.downloads import DownloadStore
    from backend_sync.terminal.outbox import Outbox
    from cardlib.apdu import ApduSession
    from cardlib.errors import CardError, DeviceError
    from cardlib.psam import PsamClient
    from drivers.pcsc import PcscConnection, reader_atrs
    from drivers.pcsc_select import ReaderConfig, ReaderRule, choose_readers

    if not config.central_url or config.central_key is None or config.terminal_key is None:
        raise ValidatorConfigError("central.url", "a validator syncs with the central")
    try:
        central_key = chain.load_public_key(config.central_key.read_bytes())
    except (OSError, ValueError) as exc:
        raise ValidatorConfigError("central.central_key", str(exc)) from exc
    try:
        tkey = chain.load_private_key(config.terminal_key.read_bytes())
    except (OSError, ValueError) as exc:
        raise ValidatorConfigError("central.terminal_key", str(exc)) from exc
    roles = ReaderConfig(
        card=ReaderRule(config.card_reader or None, None),
        psam=ReaderRule(config.psam_reader or None, None),
        allow_virtual=config.allow_virtual_readers,
    )
    try:
        chosen = choose_readers(reader_atrs(), roles)
        psam_conn = PcscConnection.wait_for_card(chosen.psam, timeout=psam_wait)
    except DeviceError as exc:
        raise ValidatorConfigError("readers", str(exc)) from exc
    try:
        psam = PsamClient(ApduSession(psam_conn), two_level=config.psam_two_level)
    except CardError as exc:
        psam_conn.close()
        raise ValidatorConfigError("readers.psam_reader", f"no usable PSAM: {exc}") from exc
    terminal_id = psam.terminal_id.hex().upper()
    data = config.data_dir
    data.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(data / "outbox.db", terminal_id, max_unsent_age_s=config.max_unsent_age_s)
    client = CentralClient(config.central_url, terminal_id=terminal_id, key=tkey,
                           central_key=central_key, timeout=config.central_timeout)  # fmt: skip
    store = DownloadStore(data / "downloads", central_key)
    agent = SyncAgent(outbox, client, store, attempts=2)
    fare = Fare(config.fare_fen, config.payee, config.line, config.vehicle)
    validator = BusValidator(psam, outbox, store.hotlist, fare,
                             max_hotlist_age_s=config.max_hotlist_age_s,
                             repeat_window_s=config.repeat_window_s,
                             block_hotlisted=config.block_hotlisted)  # fmt: skip
    return ValidatorRuntime(config=config, terminal_id=terminal_id, validator=validator,
                            agent=agent, outbox=outbox, card_reader=chosen.card,
                            psam_conn=psam_conn)  # fmt: skip
