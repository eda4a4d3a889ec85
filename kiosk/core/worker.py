"""One worker thread for the kiosk's blocking jobs (card, network, printer).

Jobs run one at a time, in order: a card and its PSAM take one command at a time
anyway. The caller never blocks: :meth:`Worker.submit` returns a :class:`Job`
whose result is handed to ``on_done`` on the worker thread (the session machine
puts it on its own queue). Each job gets a cancel event and a progress callback.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Cancelled", "Job", "JobContext", "Worker"]

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The job saw its cancel event before doing anything irreversible."""


@dataclass
class JobContext:
    """Handed to each job: a cancel event and a progress callback."""

    cancel: threading.Event
    progress: Callable[[str, float | None], None]

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancel was asked. Jobs call it between steps,
        and never after the point of no return (the purchase intent)."""
        if self.cancel.is_set():
            raise Cancelled()


@dataclass
class Job:
    """A submitted job; ``cancel()`` asks it to stop at its next check."""

    name: str
    fn: Callable[[JobContext], Any]
    on_done: Callable[[Job, Any, BaseException | None], None]
    on_progress: Callable[[str, float | None], None]
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


class Worker:
    """A daemon thread running :class:`Job`s in submission order."""

    def __init__(self, name: str = "kiosk-worker") -> None:
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False
        self._idle = threading.Event()
        self._idle.set()

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the running job, then stop."""
        if self._started:
            self._queue.put(None)
            self._thread.join(timeout)

    def submit(
        self,
        name: str,
        fn: Callable[[JobContext], Any],
        on_done: Callable[[Job, Any, BaseException | None], None],
        on_progress: Callable[[str, float | None], None],
    ) -> Job:
        job = Job(name, fn, on_done, on_progress)
        self._idle.clear()
        self._queue.put(job)
        self.start()
        return job

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once no job is queued or running (tests, shutdown)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            ctx = JobContext(job.cancel_event, job.on_progress)
            result: Any = None
            error: BaseException | None = None
            try:
                result = job.fn(ctx)
            except Exception as exc:
                error = exc
            try:
                job.on_done(job, result, error)
            except Exception:  # a broken listener must not kill the worker
                log.exception("job %s: on_done failed", job.name)
            if self._queue.empty():
                self._idle.set()
