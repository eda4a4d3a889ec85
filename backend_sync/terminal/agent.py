"""The sync agent: uploads the outbox, refreshes downloads, watches the clock.

Runs on its own thread in the kiosk (:meth:`SyncAgent.run_forever`) or once on
demand (:meth:`SyncAgent.run_once`, the technician's "force sync"). Network
failures are retried with exponential backoff and jitter (tenacity); a refusal
from the central is not retried blindly but reported.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from backend_sync.terminal.client import CentralClient, CentralRefused, CentralUnavailable
from backend_sync.terminal.downloads import DownloadStore
from backend_sync.terminal.outbox import Outbox, OutboxError

__all__ = ["SyncAgent", "SyncReport"]

log = logging.getLogger(__name__)
T = TypeVar("T")

DOCUMENTS = ("catalog", "fees", "config")


@dataclass
class SyncReport:
    """What one pass did; ``problems`` are for the technician screen."""

    uploaded: int = 0
    acked_seq: int = 0
    pruned: int = 0
    hotlist_version: int = 0
    documents: dict[str, int] = field(default_factory=dict)
    skew_ms: int | None = None
    clock_alarm: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class SyncAgent:
    """Moves records up and signed documents down for one terminal."""

    def __init__(
        self,
        outbox: Outbox,
        client: CentralClient,
        store: DownloadStore,
        *,
        batch_size: int = 500,
        attempts: int = 6,
        backoff_initial: float = 0.5,
        backoff_max: float = 60.0,
        max_skew_ms: int = 120_000,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.store = store
        self.batch_size = batch_size
        self.max_skew_ms = max_skew_ms
        self._retrying = Retrying(
            retry=retry_if_exception_type(CentralUnavailable),
            wait=wait_exponential_jitter(
                multiplier=backoff_initial, max=backoff_max, jitter=backoff_initial
            ),
            stop=stop_after_attempt(attempts),
            reraise=True,
        )

    def _retry(self, fn: Callable[[], T]) -> T:
        return self._retrying(fn)

    # -- uploads ----------------------------------------------------------------------

    def upload_pending(self, report: SyncReport | None = None) -> SyncReport:
        """Upload every closed record after the last ack, batch by batch, resuming
        from what the central answers; prune what it acknowledged."""
        report = report or SyncReport()
        while True:
            prev, recs = self.outbox.pending(self.batch_size)
            if not recs:
                break
            body = self.client.build_batch(
                prev, [r.seq for r in recs], [r.body for r in recs], recs[-1].hash
            )
            ack = self._retry(lambda body=body: self.client.upload(body))  # type: ignore[misc]
            before = self.outbox.status().acked_seq
            self.outbox.acknowledge(ack.acked)
            report.acked_seq = max(before, ack.acked)
            report.uploaded += max(0, ack.acked - before)
            if ack.status != "ok":
                report.problems.append(f"upload {ack.status}: {ack.detail}")
                break
            if ack.acked < recs[-1].seq:
                report.problems.append(f"central acknowledged {ack.acked} of {recs[-1].seq}")
                break
        report.pruned += self.outbox.prune()
        return report

    # -- downloads --------------------------------------------------------------------

    def refresh_downloads(self, report: SyncReport | None = None) -> SyncReport:
        """Hotlist (delta from our version, or the snapshot the central decides to
        send), documents, and a clock sample. Keeps last good copies on failure."""
        report = report or SyncReport()
        hl = self.store.hotlist()
        try:
            sd = self._retry(lambda: self.client.hotlist(hl.version))
            fetched = CentralClient._now_ms()
            try:
                hl = hl.apply(sd.payload, fetched)
            except ValueError:
                sd = self._retry(lambda: self.client.hotlist(0))
                hl = hl.apply(sd.payload, fetched)
            self.store.save_hotlist(hl)
        except (CentralUnavailable, CentralRefused) as exc:
            report.problems.append(f"hotlist: {exc}")
        report.hotlist_version = hl.version
        for name in DOCUMENTS:
            try:
                doc = self._retry(lambda name=name: self.client.document(name))  # type: ignore[misc]
                have = self.store.document(name)
                if have is None or have.version != doc.version:
                    self.store.save_document(doc)
                report.documents[name] = doc.version
            except CentralRefused as exc:
                if exc.reason != "not_published":
                    report.problems.append(f"{name}: {exc}")
            except CentralUnavailable as exc:
                report.problems.append(f"{name}: {exc}")
        self._refresh_feedback_categories(report)
        try:
            sample = self._retry(self.client.time_sample)
            report.skew_ms = sample.skew_ms
            # Skew is reported, never corrected here: setting the clock is an
            # operator's decision (card dates and receipts depend on it).
            if abs(sample.skew_ms) > self.max_skew_ms:
                report.clock_alarm = True
                report.problems.append(f"clock off by {sample.skew_ms} ms")
        except (CentralUnavailable, CentralRefused) as exc:
            report.problems.append(f"time: {exc}")
        return report

    def _refresh_feedback_categories(self, report: SyncReport) -> None:
        """The feedback form's category list (signed like the catalog, its own route)."""
        from backend_sync.terminal.feedback import categories

        try:
            doc = self._retry(lambda: categories(self.client))
            if doc.version == 0:
                return  # the city has no category list yet
            have = self.store.document(doc.name)
            if have is None or have.version != doc.version:
                self.store.save_document(doc)
            report.documents[doc.name] = doc.version
        except CentralRefused as exc:
            report.problems.append(f"feedback_categories: {exc}")
        except CentralUnavailable as exc:
            report.problems.append(f"feedback_categories: {exc}")

    # -- loops --------------------------------------------------------------------------

    def run_once(self) -> SyncReport:
        """One full pass: uploads, then downloads. Never raises for network trouble."""
        report = SyncReport()
        try:
            # Before anything else: is the central ahead of this outbox (a lost or
            # restored outbox)? Then sales stop. One try: offline, the upload's own
            # retries are enough.
            acked, head = self.client.terminal_head()
            self.outbox.check_central_head(acked, head)
        except (CentralUnavailable, CentralRefused) as exc:
            report.problems.append(f"head: {exc}")
        except OutboxError as exc:
            report.problems.append(f"outbox and central disagree: {exc}")
        try:
            self.upload_pending(report)
        except (CentralUnavailable, CentralRefused) as exc:
            report.problems.append(f"upload: {exc}")
        except OutboxError as exc:
            # The central holds more than this outbox ever wrote (a restored disk?):
            # for a technician, never papered over.
            report.problems.append(f"outbox and central disagree: {exc}")
        self.refresh_downloads(report)
        for p in report.problems:
            log.warning("sync: %s", p)
        return report

    def run_forever(self, stop: threading.Event, interval: float = 30.0) -> None:
        """Pass after pass until ``stop`` is set."""
        while not stop.is_set():
            self.run_once()
            stop.wait(interval)
