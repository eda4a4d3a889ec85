"""The terminal machine: one journey at a time, pumped on one thread. It knows no journey.

Everything the machine does happens on the thread that calls :meth:`pump` (the
kiosk's core thread, or a test). :meth:`send` only *posts* an input and returns at
once, from any thread; the input runs at the next pump as the current journey's
``on_<input>`` handler. Blocking work goes to the :class:`~kiosk.core.worker.Worker`
(:meth:`start_job`) and its result comes back as another input, so no caller ever
waits on a device. Timeouts are read from the injected clock each time the machine
is pumped; every transition is checked against the journey's table and audited.

A journey's per-session data lives in the journey's own session object, never
here: the machine holds only what every journey shares (state, timer, job,
language, elder mode, notices, session number).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from kiosk.core.clock import Clock
from kiosk.core.journey import HomeJourney, Journey
from kiosk.core.timeouts import Timeouts
from kiosk.core.views import (
    KioskEvent,
    Language,
    Progress,
    Screen,
    ScreenChanged,
    TimeoutCleared,
    TimeoutWarning,
)
from kiosk.core.worker import Job, JobContext, Worker

__all__ = ["AuditSink", "IllegalTransition", "JobResult", "TerminalMachine"]

log = logging.getLogger(__name__)

AuditSink = Callable[[str, Mapping[str, object]], None]
JobResult = Callable[[Any, BaseException | None], None]


class IllegalTransition(RuntimeError):
    """A move not in the journey's table (a bug, never a citizen's)."""


def _no_audit(_event: str, _fields: Mapping[str, object]) -> None:
    pass


class TerminalMachine:
    """Pumps the current journey. Build it with the home journey (the one that owns
    the idle screen), :meth:`send` inputs, :meth:`pump` it (or :meth:`run` it on a
    thread); subscribe to get :data:`KioskEvent`s."""

    def __init__(
        self,
        home: HomeJourney,
        start_state: StrEnum,
        *,
        clock: Clock,
        timeouts: Timeouts | None = None,
        languages: tuple[Language, ...] = (Language.ZH_HANS, Language.ZH_HANT, Language.EN),
        audit: AuditSink = _no_audit,
        worker: Worker | None = None,
    ) -> None:
        if not languages:
            raise ValueError("at least one language")
        self.home = home
        self.journey: Journey = home
        self.clock = clock
        self.timeouts = timeouts or Timeouts()
        self.languages = languages
        self.audit = audit
        self.worker = worker or Worker()
        self._inbox: queue.Queue[Callable[[], None]] = queue.Queue()
        self._listeners: list[Callable[[KioskEvent], None]] = []
        self._session_ids = itertools.count(1)
        self._late: dict[int, JobResult] = {}  # abandoned jobs whose result is still news
        self._state: StrEnum = start_state
        self.job: Job | None = None
        self.session_id: int | None = None
        self.language = languages[0]
        self.elder_mode = False
        self.audio_mode = False  # spoken guidance (the headset key): longer timeouts
        self.notices: tuple[str, ...] = ()
        self.busy_step: str | None = None
        self._deadline: float | None = None
        self._warned = False

    # ------------------------------------------------------------------ inputs
    @property
    def state(self) -> StrEnum:
        return self._state

    def send(self, name: str, *args: Any) -> None:
        """Post the input ``name``: at the next pump the current journey's
        ``on_<name>`` runs (the machine's own for language, elder mode, more time).
        Safe from any thread."""
        self.post(lambda: self._dispatch(name, args))

    def _dispatch(self, name: str, args: tuple[Any, ...]) -> None:
        own: dict[str, Callable[..., None]] = {
            "more_time": self._on_more_time,
            "set_language": self._on_language,
            "set_elder_mode": self._on_elder,
            "set_audio_mode": self._on_audio,
        }
        if name in own:
            own[name](*args)
            return
        handler: Callable[..., None] | None = getattr(self.journey, f"on_{name}", None)
        if handler is None:
            self.record("input_ignored", input=name)
            return
        handler(self, *args)

    def post(self, fn: Callable[[], None]) -> None:
        """Queue ``fn``; it runs at the next :meth:`pump`. Safe from any thread."""
        self._inbox.put(fn)

    def subscribe(self, listener: Callable[[KioskEvent], None]) -> Callable[[], None]:
        """Call ``listener`` with every event (on the pumping thread); returns an
        unsubscribe function. A UI hands events to its own thread from here."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def pump(self, timeout: float = 0.0) -> int:
        """Handle queued inputs (waiting up to ``timeout`` s for the first) and the
        clock's timeouts; returns how many inputs were handled."""
        n = 0
        try:
            fn = self._inbox.get(timeout=timeout) if timeout > 0 else self._inbox.get_nowait()
            while True:
                self._guarded(fn)
                n += 1
                fn = self._inbox.get_nowait()
        except queue.Empty:
            pass
        self._guarded(self._check_timers)
        return n

    def quiet(self) -> bool:
        """No input waiting and no job queued or running (tests, scripted sessions)."""
        return self._inbox.empty() and self.worker.wait_idle(0)

    def run(self, stop: threading.Event, tick: float = 0.2) -> None:
        """Pump until ``stop`` is set (the kiosk's core thread)."""
        while not stop.is_set():
            self.pump(timeout=tick)

    def _guarded(self, fn: Callable[[], None]) -> None:
        # A bug in one input must not stop the kiosk's core thread: it is logged and
        # audited ("core_error"; tests assert there is none), and the journey ends the
        # session safely so the next citizen starts clean.
        try:
            fn()
        except Exception as exc:
            log.exception("kiosk core: input failed in %s", self._state.value)
            self.audit("core_error", {"state": self._state.value, "error": repr(exc)[:200]})
            self.cancel_job()
            try:
                self.journey.recover(self)
            except Exception:
                log.exception("kiosk core: cannot recover")

    # ------------------------------------------------------------------ journeys
    def switch(self, journey: Journey, state: StrEnum, *, notices: tuple[str, ...] = ()) -> None:
        """Hand the terminal to ``journey`` at ``state`` (audited). A journey ends by
        switching back to :attr:`home`."""
        if state not in journey.table.states:
            raise IllegalTransition(f"{journey.name} has no state {state.value}")
        self.record("journey", to=journey.name, at=state.value)
        self.journey = journey
        self._enter(state, notices)

    def new_session(self) -> int:
        """A card (or a citizen at the attract screen) starts a session."""
        self.session_id = next(self._session_ids)
        return self.session_id

    def end_session(self) -> None:
        """The session is over: the next one starts in the first language, elder and
        audio mode off."""
        self.session_id = None
        self.language = self.languages[0]
        self.elder_mode = False
        self.audio_mode = False

    # ------------------------------------------------------------------ transitions
    def go(self, to: StrEnum, *, notices: tuple[str, ...] = ()) -> None:
        """Move the current journey to ``to`` (refused unless in its table)."""
        frm = self._state
        if not self.journey.table.allows(frm, to):
            raise IllegalTransition(f"{self.journey.name}: {frm.value} -> {to.value}")
        if frm != to:
            self.record("transition", to=to.value)
        self._enter(to, notices)

    def force(self, to: StrEnum, *, notices: tuple[str, ...] = ()) -> None:
        """Move without the table (recovery after a failed input: the table describes
        correct runs)."""
        self.record("forced", to=to.value)
        self._enter(to, notices)

    def _enter(self, to: StrEnum, notices: tuple[str, ...]) -> None:
        self._state = to
        self.notices = notices
        self._clear_warning()
        seconds = self.seconds_for(to)
        self._deadline = None if seconds is None else self.clock.monotonic() + seconds
        if to not in self.journey.table.busy:
            self.busy_step = None
        self.show()

    def seconds_for(self, state: StrEnum) -> float | None:
        spec = self.journey.table.states.get(state)
        default = spec.seconds if spec else None
        return self.timeouts.for_state(state, default, self.elder_mode, self.audio_mode)

    def record(self, event: str, **fields: object) -> None:
        """Audit ``event`` with the session number and the current state."""
        self.audit(event, {"session": self.session_id, "state": self._state.value, **fields})

    # ------------------------------------------------------------------ timers
    def touch(self) -> None:
        """The citizen did something: the state's timer starts over."""
        seconds = self.seconds_for(self._state)
        if seconds is not None:
            self._deadline = self.clock.monotonic() + seconds
        self._clear_warning()

    def _clear_warning(self) -> None:
        if self._warned:
            self._warned = False
            self._emit(TimeoutCleared())

    def _check_timers(self) -> None:
        if self._deadline is None:
            return
        left = self._deadline - self.clock.monotonic()
        if left <= 0:
            self._deadline = None
            self._warned = False
            self._emit(TimeoutCleared())
            self.record("timeout")
            self.journey.on_timeout(self)
        elif left <= self.timeouts.warning and not self._warned:
            self._warned = True
            self._emit(TimeoutWarning(seconds_left=left))

    def _on_more_time(self) -> None:
        if self._deadline is not None:
            self.record("more_time")
            self.touch()

    def _on_language(self, language: Language | str) -> None:
        try:
            lang = Language(language)
        except ValueError:
            return
        if lang in self.languages:
            self.language = lang
            self.show()

    def _on_elder(self, on: bool) -> None:
        self.elder_mode = on
        self.touch()
        self.show()

    def _on_audio(self, on: bool) -> None:
        self.audio_mode = bool(on)
        self.touch()
        self.show()

    # ------------------------------------------------------------------ jobs
    def start_job(self, step: str, fn: Callable[[JobContext], Any], on_result: JobResult) -> None:
        """Run ``fn`` on the worker; ``on_result(result, error)`` runs on this thread
        when it ends, unless the job was cancelled or abandoned meanwhile."""
        self.busy_step = step

        def done(job: Job, result: Any, error: BaseException | None) -> None:
            self.post(lambda: self._job_done(job, result, error, on_result))

        def progress(name: str, fraction: float | None) -> None:
            self.post(lambda: self._emit(Progress(name, fraction)))

        self.job = self.worker.submit(step, fn, done, progress)

    def _job_done(
        self, job: Job, result: Any, error: BaseException | None, on_result: JobResult
    ) -> None:
        if job is not self.job:
            # A job of a session that already ended (card pulled, cancelled): dropped,
            # unless whoever abandoned it still wants to hear how it ended.
            late = self._late.pop(id(job), None)
            if late is not None:
                late(result, error)
            return
        self.job = None
        on_result(result, error)

    def cancel_job(self) -> bool:
        """Cancel the running job (it stops at its next check); True if there was one."""
        job, self.job = self.job, None
        if job is None:
            return False
        job.cancel()
        return True

    def abandon_job(self, on_late: JobResult | None = None) -> None:
        """Stop waiting for the running job (its session ended); ``on_late`` still gets
        its result (a payment that finished after the card left is news)."""
        job = self.job
        self.cancel_job()
        if job is not None and on_late is not None:
            self._late[id(job)] = on_late

    def forget_job(self) -> None:
        """Drop the running job's result without cancelling it (a device check
        overtaken by a card)."""
        self.job = None

    def background(self, name: str, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the worker, after whatever runs there now; no result."""

        def run(_ctx: JobContext) -> None:
            fn()

        self.worker.submit(name, run, lambda *_: None, lambda *_: None)

    # ------------------------------------------------------------------ screen
    def screen(self) -> Screen:
        """The current screen (also sent as :class:`ScreenChanged` on every change)."""
        table = self.journey.table
        s = self._state
        base = Screen(
            state=s,
            language=self.language,
            elder_mode=self.elder_mode,
            audio_mode=self.audio_mode,
            journey=self.journey.name,
            timeout_s=self.seconds_for(s),
            notices=self.notices,
            busy=self.busy_step if s in table.busy else None,
            cancellable=s in table.cancellable,
        )
        return self.journey.screen(self, base)

    def show(self) -> None:
        self._emit(ScreenChanged(self.screen()))

    def _emit(self, event: KioskEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken screen must not stop the kiosk
                log.exception("kiosk listener failed on %s", type(event).__name__)
