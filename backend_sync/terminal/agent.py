"""The sync agent: uploads the outbox, refreshes downloads, watches the clock.

Runs on its own thread in the kiosk (:meth:`SyncAgent.run_forever`) or once on
demand (:meth:`SyncAgent.run_once`, the technician's "force sync"). Network
failures are retried with exponential backoff and jitter (tenacity); a refusal
from the central is not retried blindly but reported.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
from backend_sync.terminal.outbox import CentralBehind, Outbox, OutboxError, PendingRecord
from backend_sync.wire import Ack

__all__ = ["RETAIN_ACKED_S", "SyncAgent", "SyncReport"]

log = logging.getLogger(__name__)
T = TypeVar("T")

DOCUMENTS = ("catalog", "fees", "config")
# How long a terminal keeps records the central acknowledged (its runtimes pass
# it): a day covers a failover to a standby restored or lagging behind its last
# acknowledgements, and costs a day of records on disk (docs/scale.md).
RETAIN_ACKED_S = 24 * 3600.0


@dataclass
class SyncReport:
    """What one pass did; ``problems`` are for the technician screen."""

    uploaded: int = 0
    acked_seq: int = 0
    pruned: int = 0
    resent: int = 0  # records made pending again: the central's head went back
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
        retain_s: float = 0.0,
        pipeline: int = 1,
    ) -> None:
        """``retain_s``: acknowledged records are kept that long before they are
        pruned, to be sent again should the central's head go back (a failover
        to a database without its last commits, a restore; docs/scale.md).
        ``pipeline``: batches in flight at once (1: each waits for its answer)."""
        self.outbox = outbox
        self.retain_ms = int(retain_s * 1000)
        self.pipeline = max(1, pipeline)
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
        # A copy per call: uploads in flight retry on their own threads.
        return self._retrying.copy()(fn)

    # -- uploads ----------------------------------------------------------------------

    def upload_pending(self, report: SyncReport | None = None) -> SyncReport:
        """Upload every closed record after the last ack, batch by batch, resuming
        from what the central answers; prune what it acknowledged.

        With ``pipeline`` > 1, batches are sent ahead while the answer to the one
        before is awaited, so this terminal's reading and signing overlap the
        central's work. The central still takes a terminal's batches one at a
        time (its lock on the terminal's row): one that overtakes its predecessor
        waits for it there when both are in the same API process, and is answered
        ``gap`` and sent again otherwise. The default is 1: on a machine with no
        free core the overlap gains nothing (docs/scale.md)."""
        report = report or SyncReport()
        gaps = 0
        with ThreadPoolExecutor(max_workers=self.pipeline, thread_name_prefix="upload") as pool:
            inflight: deque[tuple[list[PendingRecord], Future[Ack]]] = deque()
            after, prev = self.outbox.acked_head()
            try:
                while True:
                    while len(inflight) < self.pipeline:
                        recs = self.outbox.closed_after(after, self.batch_size)
                        if not recs:
                            break
                        body = self.client.build_batch(
                            prev, [r.seq for r in recs], [r.body for r in recs], recs[-1].hash
                        )
                        fut = pool.submit(self._retry, functools.partial(self.client.upload, body))
                        inflight.append((recs, fut))
                        prev, after = recs[-1].hash, recs[-1].seq
                    if not inflight:
                        break
                    recs, fut = inflight.popleft()
                    ack = fut.result()
                    before = self.outbox.acked_seq()
                    self.outbox.acknowledge(ack.acked)
                    report.acked_seq = max(before, ack.acked)
                    report.uploaded += max(0, ack.acked - before)
                    if ack.status == "gap" and gaps < 3:
                        # Either a batch sent ahead was taken before its predecessor,
                        # or the central's head went back (a failover, a restore).
                        # Once the batches in flight are in, its signed head decides.
                        gaps += 1
                        _settle(inflight)
                        report.resent += self._resume_from_central()
                        after, prev = self.outbox.acked_head()
                        continue
                    if ack.status != "ok":
                        report.problems.append(f"upload {ack.status}: {ack.detail}")
                        break
                    if ack.acked < recs[-1].seq:
                        report.problems.append(
                            f"central acknowledged {ack.acked} of {recs[-1].seq}"
                        )
                        break
                    gaps = 0
            finally:
                _settle(inflight)
        report.pruned += self.outbox.prune(self.retain_ms)
        return report

    def _resume_from_central(self) -> int:
        """Align the outbox's acknowledgement with the central's signed head: ahead
        of ours, acknowledge up to it; behind ours, make the records after it
        pending again (:meth:`Outbox.rewind`). Returns how many will be re-sent."""
        acked, head = self._retry(self.client.terminal_head)
        self.outbox.check_central_head(acked, head)
        if acked < self.outbox.acked_seq():
            return self.outbox.rewind(acked, head)
        self.outbox.acknowledge(acked)
        return 0

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
            report.resent += self.outbox.rewind(acked, head)
        except (CentralUnavailable, CentralRefused) as exc:
            report.problems.append(f"head: {exc}")
        except CentralBehind as exc:
            report.problems.append(f"central lost records: {exc}")
        except OutboxError as exc:
            report.problems.append(f"outbox and central disagree: {exc}")
        try:
            self.upload_pending(report)
        except (CentralUnavailable, CentralRefused) as exc:
            report.problems.append(f"upload: {exc}")
        except CentralBehind as exc:
            report.problems.append(f"central lost records: {exc}")
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


def _settle(inflight: deque[tuple[list[PendingRecord], Future[Ack]]]) -> None:
    """Wait for the uploads in flight and drop them: what they stored, the central's
    next answer acknowledges (its head is the truth, not these answers)."""
    while inflight:
        _, fut = inflight.popleft()
        with contextlib.suppress(Exception):  # their outcome is read back from the central
            fut.result()
