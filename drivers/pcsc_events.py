"""Reader and card events from PC/SC, as typed values, from a worker the caller owns.

:class:`PcscMonitor` runs one thread that blocks in ``SCardGetStatusChange`` (never a
sleep loop) on every reader plus the ``\\\\?PnP?\\Notification`` pseudo-reader, so a
reader appearing or vanishing wakes it as a card does. It emits, in order:

- :class:`ReaderAdded` / :class:`ReaderRemoved` as readers come and go;
- :class:`CardInserted` (with the ATR) / :class:`CardRemoved`; a card pulled and put
  back between two wake-ups is still reported as a removal then an insertion (pcsc-lite
  counts events per reader in the high 16 bits of the state);
- :class:`ServiceLost` when pcscd stops or restarts (after removing every card and
  reader it knew, so the listener's picture stays consistent), then, once a new
  context can be established, :class:`ServiceRestored` and the readers and cards of
  the new daemon.

Unlike pyscard's CardMonitor (a process-wide singleton polling in a loop), a monitor
is an ordinary object: ``start()``, ``stop()``, or a ``with`` block.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smartcard import scard as _scard

from drivers.pcsc import PNP_NOTIFICATION

__all__ = [
    "CardInserted",
    "CardRemoved",
    "PcscEvent",
    "PcscMonitor",
    "ReaderAdded",
    "ReaderRemoved",
    "ServiceLost",
    "ServiceRestored",
]

_log = logging.getLogger(__name__)
_U32 = 0xFFFFFFFF


@dataclass(frozen=True)
class ReaderAdded:
    """A reader appeared."""

    reader: str


@dataclass(frozen=True)
class ReaderRemoved:
    """A reader went away (unplugged, or its driver or pcscd stopped)."""

    reader: str


@dataclass(frozen=True)
class CardInserted:
    """A card is in ``reader``; ``atr`` is its answer to reset."""

    reader: str
    atr: bytes


@dataclass(frozen=True)
class CardRemoved:
    """The card left ``reader``."""

    reader: str


@dataclass(frozen=True)
class ServiceLost:
    """pcscd is gone (stopped, crashed or restarting); ``reason`` says what PC/SC reported."""

    reason: str


@dataclass(frozen=True)
class ServiceRestored:
    """pcscd answers again; reader and card events of the new daemon follow."""


PcscEvent = ReaderAdded | ReaderRemoved | CardInserted | CardRemoved | ServiceLost | ServiceRestored


def _c(name: str) -> int:
    return int(getattr(_scard, name)) & _U32


_SUCCESS = _c("SCARD_S_SUCCESS")
_TIMEOUT = _c("SCARD_E_TIMEOUT")
_CANCELLED = _c("SCARD_E_CANCELLED")
_NO_READERS = _c("SCARD_E_NO_READERS_AVAILABLE")
_READER_CHURN = {_c("SCARD_E_UNKNOWN_READER"), _c("SCARD_E_READER_UNAVAILABLE")}
_SERVICE_GONE = {
    _c("SCARD_E_NO_SERVICE"),
    _c("SCARD_E_SERVICE_STOPPED"),
    _c("SCARD_E_INVALID_HANDLE"),
    _c("SCARD_F_COMM_ERROR"),
}
_PRESENT = int(_scard.SCARD_STATE_PRESENT)
_UNKNOWN = int(_scard.SCARD_STATE_UNKNOWN)
_UNAVAILABLE = int(_scard.SCARD_STATE_UNAVAILABLE)
_CHANGED = int(_scard.SCARD_STATE_CHANGED)
_UNAWARE = int(_scard.SCARD_STATE_UNAWARE)
_INFINITE = int(_scard.INFINITE)


@dataclass
class _Reader:
    state: int = _UNAWARE  # last event state, given back as the current state
    present: bool = False


class PcscMonitor:
    """Watch PC/SC readers and cards on a worker thread; hand typed events to ``on_event``.

    ``on_event`` runs on the worker thread: keep it short (put the event on a queue,
    or schedule it on the UI clock). ``reader_filter`` limits the readers watched.
    ``retry_interval`` is how long to wait between attempts to reach pcscd while it is
    down (there is nothing to block on then).
    """

    def __init__(
        self,
        on_event: Callable[[PcscEvent], None],
        *,
        reader_filter: Callable[[str], bool] | None = None,
        retry_interval: float = 0.1,
        api: Any = None,
    ) -> None:
        self._on_event = on_event
        self._filter = reader_filter or (lambda _name: True)
        self._retry = retry_interval
        self._api: Any = api if api is not None else _scard
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx_lock = threading.Lock()
        self._ctx: int | None = None
        self._readers: dict[str, _Reader] = {}
        self._service_up: bool | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker (once)."""
        if self._thread is not None:
            raise RuntimeError("monitor already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pcsc-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker: cancel its blocking wait and join it."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline:
            # A cancel that lands while the worker is between two waits is lost, so
            # cancel again until the worker has seen the stop flag.
            with self._ctx_lock:
                if self._ctx is not None:
                    self._api.SCardCancel(self._ctx)
            thread.join(0.05)
        if thread.is_alive():
            raise RuntimeError("PC/SC monitor did not stop")

    @property
    def running(self) -> bool:
        """The worker is alive."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> PcscMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the worker --------------------------------------------------------------------

    def _emit(self, event: PcscEvent) -> None:
        _log.debug("PC/SC event: %s", event)
        try:
            self._on_event(event)
        except Exception:
            # A listener's bug must not stop card events for everyone else.
            _log.exception("PC/SC event listener failed on %s", event)

    def _run(self) -> None:
        while not self._stop.is_set():
            hresult, ctx = self._api.SCardEstablishContext(_scard.SCARD_SCOPE_USER)
            if hresult & _U32 != _SUCCESS:
                self._service_down(str(self._api.SCardGetErrorMessage(hresult)))
                self._stop.wait(self._retry)
                continue
            with self._ctx_lock:
                self._ctx = int(ctx)
            try:
                if self._service_up is False:
                    self._emit(ServiceRestored())
                self._service_up = True
                reason = self._watch(int(ctx))
            finally:
                with self._ctx_lock:
                    self._ctx = None
                self._api.SCardReleaseContext(ctx)
            if reason is not None:
                self._service_down(reason)
                self._stop.wait(self._retry)
        # Stopping is not a removal: the listener keeps its picture of readers and cards.

    def _service_down(self, reason: str) -> None:
        if self._service_up is False:
            return
        for name in list(self._readers):
            self._drop_reader(name)
        self._service_up = False
        self._emit(ServiceLost(reason))

    def _drop_reader(self, name: str) -> None:
        reader = self._readers.pop(name)
        if reader.present:
            self._emit(CardRemoved(name))
        self._emit(ReaderRemoved(name))

    def _list(self, ctx: int) -> tuple[int, list[str]]:
        hresult, names = self._api.SCardListReaders(ctx, [])
        code = hresult & _U32
        if code == _NO_READERS:
            return _SUCCESS, []
        return code, [str(n) for n in names if str(n) != PNP_NOTIFICATION and self._filter(n)]

    def _watch(self, ctx: int) -> str | None:
        """Wait for changes on one context; return why the service was lost, or None on stop."""
        pnp_state: int | None = _UNAWARE
        while not self._stop.is_set():
            code, names = self._list(ctx)
            if code in _SERVICE_GONE:
                return str(self._api.SCardGetErrorMessage(code))
            if code != _SUCCESS:
                _log.warning("SCardListReaders: %s", self._api.SCardGetErrorMessage(code))
                self._stop.wait(self._retry)
                continue
            for name in [n for n in self._readers if n not in names]:
                self._drop_reader(name)
            for name in names:
                if name not in self._readers:
                    self._readers[name] = _Reader()
                    self._emit(ReaderAdded(name))

            states = [(name, self._readers[name].state) for name in names]
            if pnp_state is not None:
                states.append((PNP_NOTIFICATION, pnp_state))
            # Without the PnP pseudo-reader nothing wakes us when a reader appears, so
            # wake up now and then to list readers again.
            timeout = _INFINITE if pnp_state is not None else int(self._retry * 10_000)
            if not states:
                self._stop.wait(self._retry)
                continue
            hresult, new_states = self._api.SCardGetStatusChange(ctx, timeout, states)
            code = hresult & _U32
            if code in (_CANCELLED, _TIMEOUT):
                continue
            if code in _SERVICE_GONE:
                return str(self._api.SCardGetErrorMessage(code))
            if code in _READER_CHURN:
                continue  # a reader left between listing and waiting: list again
            if code != _SUCCESS:
                _log.warning("SCardGetStatusChange: %s", self._api.SCardGetErrorMessage(code))
                self._stop.wait(self._retry)
                continue
            for name, event_state, atr in new_states:
                event_state = int(event_state) & _U32
                if name == PNP_NOTIFICATION:
                    if event_state & int(_scard.SCARD_STATE_UNKNOWN):
                        _log.info("no PnP notification reader here: re-listing periodically")
                        pnp_state = None
                    else:
                        pnp_state = event_state & ~_CHANGED
                    continue
                self._update(str(name), event_state, bytes(atr))
        return None

    def _update(self, name: str, event_state: int, atr: bytes) -> None:
        reader = self._readers.get(name)
        if reader is None:
            return
        if event_state & _UNKNOWN:
            # The reader vanished between listing and waiting: it is gone.
            self._drop_reader(name)
            return
        # A listed reader whose state is unavailable (driver trouble) holds no usable
        # card; keep waiting on it rather than dropping and re-adding it in a loop.
        present = bool(event_state & _PRESENT) and not event_state & _UNAVAILABLE
        first = reader.state == _UNAWARE
        # pcsc-lite keeps a per-reader event counter in the high 16 bits; more than one
        # step while the card still looks present means it was pulled and reinserted.
        events = ((event_state >> 16) - (reader.state >> 16)) & 0xFFFF
        if present and reader.present and not first and events >= 2:
            self._emit(CardRemoved(name))
            self._emit(CardInserted(name, atr))
        elif present and not reader.present:
            self._emit(CardInserted(name, atr))
        elif not present and reader.present:
            self._emit(CardRemoved(name))
        reader.present = present
        reader.state = event_state & ~_CHANGED
