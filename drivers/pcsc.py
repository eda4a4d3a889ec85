"""PC/SC through pyscard: cardlib ``Connection`` for a card reader or PSAM slot.

This module (with its ``drivers/pcsc_*`` siblings) is the only code that imports
``smartcard``. It uses pyscard's thin ``smartcard.scard`` layer (the PC/SC calls
themselves) rather than its object layer, so that every field workaround is ours and
visible: shared connect with a retry while another process holds the card
exclusively, T=0/T=1 negotiation with a fallback, a card reset by another process,
and a context gone stale when pcscd restarts.

Every PC/SC failure becomes one of cardlib's typed device errors in
:func:`raise_for_pcsc` and nowhere else; the original code rides along as the
``__cause__`` (:class:`PcscError`).

The PC/SC API is reached through one seam, ``api`` (default: ``smartcard.scard``),
so the adapter can be tested with a fake that records the exact bytes sent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, Final

from smartcard import scard as _scard

from cardlib.errors import (
    CardRemovedError,
    DeviceError,
    NoCardError,
    PcscServiceError,
    ReaderGoneError,
)

__all__ = [
    "PNP_NOTIFICATION",
    "CardBusyError",
    "CardMuteError",
    "CardResetError",
    "PcscConnection",
    "PcscContext",
    "PcscError",
    "Protocol",
    "ShareMode",
    "list_readers",
    "raise_for_pcsc",
    "reader_atrs",
    "transaction",
    "wait_for_card",
    "wait_for_removal",
]

_log = logging.getLogger(__name__)

#: The pseudo-reader whose state changes when readers appear or disappear (pcsc-lite, Windows).
PNP_NOTIFICATION: Final = "\\\\?PnP?\\Notification"

# Re-exported PC/SC constants, so callers and tests need not import smartcard.
SCARD_S_SUCCESS: Final[int] = _scard.SCARD_S_SUCCESS
SCARD_PROTOCOL_T0: Final[int] = _scard.SCARD_PROTOCOL_T0
SCARD_PROTOCOL_T1: Final[int] = _scard.SCARD_PROTOCOL_T1
SCARD_SHARE_SHARED: Final[int] = _scard.SCARD_SHARE_SHARED
SCARD_SHARE_EXCLUSIVE: Final[int] = _scard.SCARD_SHARE_EXCLUSIVE
SCARD_LEAVE_CARD: Final[int] = _scard.SCARD_LEAVE_CARD
SCARD_RESET_CARD: Final[int] = _scard.SCARD_RESET_CARD

_U32 = 0xFFFFFFFF


def _code(name: str) -> int:
    return int(getattr(_scard, name)) & _U32


_NO_CARD = {_code("SCARD_E_NO_SMARTCARD")}
_REMOVED = {_code("SCARD_W_REMOVED_CARD")}
_RESET = {_code("SCARD_W_RESET_CARD")}
_READER_GONE = {
    _code("SCARD_E_UNKNOWN_READER"),
    _code("SCARD_E_READER_UNAVAILABLE"),
    _code("SCARD_E_NO_READERS_AVAILABLE"),
}
# After pcscd restarts, every handle and context of the old daemon is invalid: the
# client library reports "no service" / "service stopped", or an invalid handle.
_SERVICE = {
    _code("SCARD_E_NO_SERVICE"),
    _code("SCARD_E_SERVICE_STOPPED"),
    _code("SCARD_E_INVALID_HANDLE"),
}
_BUSY = {_code("SCARD_E_SHARING_VIOLATION")}
_MUTE = {_code("SCARD_W_UNRESPONSIVE_CARD"), _code("SCARD_W_UNPOWERED_CARD")}
_PROTO_MISMATCH = {_code("SCARD_E_PROTO_MISMATCH")}
# A transmit that failed on the wire: vpcd and real readers report this when the card
# leaves mid-command, before pcscd's poll has noticed the removal.
_NOT_TRANSACTED = {_code("SCARD_E_NOT_TRANSACTED"), _code("SCARD_F_COMM_ERROR")}


class PcscError(DeviceError):
    """A PC/SC call failed with ``code`` (an SCARD_E_* / SCARD_W_* value)."""

    def __init__(self, operation: str, code: int, message: str | None = None) -> None:
        self.operation = operation
        self.code = code & _U32
        text = message or _scard.SCardGetErrorMessage(code)
        super().__init__(f"{operation}: {text.rstrip('.')} (0x{self.code:08X})")


class CardResetError(CardRemovedError):
    """Another process reset the card: the session state (selection, PIN) is gone."""


class CardBusyError(PcscError):
    """Another process holds the card exclusively."""


class CardMuteError(PcscError):
    """A card is in the reader but does not answer (mute, unpowered, inserted backwards)."""


def raise_for_pcsc(operation: str, hresult: int) -> None:
    """Raise the typed error for a PC/SC result code; return on success.

    The one place PC/SC codes become cardlib device errors. The raw code is kept as
    the ``__cause__`` for logs.
    """
    code = hresult & _U32
    if code == SCARD_S_SUCCESS:
        return
    cause = PcscError(operation, code)
    text = str(cause)
    if code in _NO_CARD:
        raise NoCardError(text) from cause
    if code in _RESET:
        raise CardResetError(text) from cause
    if code in _REMOVED:
        raise CardRemovedError(text) from cause
    if code in _READER_GONE:
        raise ReaderGoneError(text) from cause
    if code in _SERVICE:
        raise PcscServiceError(text) from cause
    if code in _BUSY:
        raise CardBusyError(operation, code)
    if code in _MUTE:
        raise CardMuteError(operation, code)
    raise cause


class ShareMode:
    """How a connection shares the card with other processes."""

    SHARED: Final = SCARD_SHARE_SHARED
    EXCLUSIVE: Final = SCARD_SHARE_EXCLUSIVE


class Protocol:
    """Transmission protocols (bit mask, as PC/SC has them)."""

    T0: Final = SCARD_PROTOCOL_T0
    T1: Final = SCARD_PROTOCOL_T1
    ANY: Final = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1

    @staticmethod
    def name(protocol: int) -> str:
        """``"T=0"``, ``"T=1"`` or the raw value."""
        return {SCARD_PROTOCOL_T0: "T=0", SCARD_PROTOCOL_T1: "T=1"}.get(protocol, f"0x{protocol:X}")


class PcscContext:
    """A PC/SC resource-manager context that re-establishes itself when it went stale.

    pcscd restarting invalidates every context of the old daemon; :meth:`handle`
    checks the context (``SCardIsValidContext``) and establishes a new one when needed.
    """

    def __init__(self, api: Any = None) -> None:
        self.api: Any = api if api is not None else _scard
        self._handle: int | None = None
        self._lock = threading.Lock()

    def handle(self) -> int:
        """A valid context handle; raise :class:`PcscServiceError` when pcscd is not there."""
        with self._lock:
            if self._handle is not None:
                if self.api.SCardIsValidContext(self._handle) & _U32 == SCARD_S_SUCCESS:
                    return self._handle
                _log.info("PC/SC context went stale (pcscd restarted?): establishing a new one")
                self._release_locked()
            hresult, handle = self.api.SCardEstablishContext(_scard.SCARD_SCOPE_USER)
            raise_for_pcsc("SCardEstablishContext", hresult)
            self._handle = int(handle)
            return self._handle

    def invalidate(self) -> None:
        """Drop the context (after a service error), so the next use establishes a new one."""
        with self._lock:
            self._release_locked()

    def _release_locked(self) -> None:
        if self._handle is not None:
            # Releasing a context of a dead daemon fails; nothing to do about it.
            self.api.SCardReleaseContext(self._handle)
            self._handle = None

    def close(self) -> None:
        """Release the context."""
        self.invalidate()

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def list_readers(context: PcscContext | None = None) -> list[str]:
    """Names of the readers pcscd knows (empty when there are none)."""
    ctx = context or PcscContext()
    try:
        hresult, readers = ctx.api.SCardListReaders(ctx.handle(), [])
        if hresult & _U32 in _SERVICE:
            # pcsc-lite checks a context on the client side only, so a context of a
            # restarted daemon looks valid until used: establish a new one, once.
            ctx.invalidate()
            hresult, readers = ctx.api.SCardListReaders(ctx.handle(), [])
        if hresult & _U32 == _code("SCARD_E_NO_READERS_AVAILABLE"):
            return []
        if hresult & _U32 in _SERVICE:
            ctx.invalidate()
        raise_for_pcsc("SCardListReaders", hresult)
        return [str(r) for r in readers]
    finally:
        if context is None:
            ctx.close()


def reader_atrs(context: PcscContext | None = None) -> dict[str, bytes | None]:
    """Each reader with the ATR of the card in it (None when empty), without connecting."""
    ctx = context or PcscContext()
    try:
        names = list_readers(ctx)
        if not names:
            return {}
        hresult, states = ctx.api.SCardGetStatusChange(
            ctx.handle(), 0, [(name, _scard.SCARD_STATE_UNAWARE) for name in names]
        )
        raise_for_pcsc("SCardGetStatusChange", hresult)
        out: dict[str, bytes | None] = {}
        for name, event_state, atr in states:
            present = bool(event_state & _scard.SCARD_STATE_PRESENT)
            out[str(name)] = bytes(atr) if present and atr else None
        return out
    finally:
        if context is None:
            ctx.close()


def wait_for_card(reader: str, timeout: float, context: PcscContext | None = None) -> bytes:
    """Block until a card is in ``reader`` (waiting on ``SCardGetStatusChange``); return its ATR.

    Raises :class:`NoCardError` when none arrives within ``timeout`` seconds.
    """
    return _wait_state(reader, timeout, context, present=True) or b""


def wait_for_removal(reader: str, timeout: float, context: PcscContext | None = None) -> bool:
    """Block until ``reader`` is empty (e.g. "take your card"); False on timeout."""
    try:
        _wait_state(reader, timeout, context, present=False)
    except _StillThere:
        return False
    return True


class _StillThere(Exception):
    pass


def _wait_state(
    reader: str, timeout: float, context: PcscContext | None, *, present: bool
) -> bytes | None:
    ctx = context or PcscContext()
    unaware = _scard.SCARD_STATE_UNAWARE

    def timed_out() -> Exception:
        if present:
            return NoCardError(f"no card in {reader} within {timeout} s")
        return _StillThere()

    try:
        deadline = time.monotonic() + timeout
        current = unaware
        while True:
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            hresult, states = ctx.api.SCardGetStatusChange(
                ctx.handle(), 0 if current == unaware else remaining, [(reader, current)]
            )
            if hresult & _U32 == _code("SCARD_E_TIMEOUT"):
                raise timed_out()
            raise_for_pcsc(f"SCardGetStatusChange({reader})", hresult)
            _name, state, atr = states[0]
            if state & _scard.SCARD_STATE_UNKNOWN:
                raise ReaderGoneError(f"no reader named {reader!r}")
            card_in = bool(state & _scard.SCARD_STATE_PRESENT)
            if present and card_in and not state & _scard.SCARD_STATE_MUTE:
                return bytes(atr)
            if not present and not card_in:
                return None
            if remaining == 0 and current != unaware:
                raise timed_out()
            current = state & ~_scard.SCARD_STATE_CHANGED
    finally:
        if context is None:
            ctx.close()


class PcscConnection:
    """cardlib ``Connection`` over one PC/SC reader (card or PSAM slot).

    Connects in shared mode by default (a technician tool may look at the same reader);
    while another process holds the card exclusively, connecting is retried until
    ``busy_timeout`` expires. The protocol is negotiated from ``protocols``; when the
    reader refuses the combination, T=1 then T=0 alone are tried.

    Use :meth:`transaction` (or :func:`transaction` for card and PSAM together) to hold
    the card exclusively across a multi-command operation such as a purchase.
    """

    def __init__(
        self,
        reader: str,
        *,
        share: int = ShareMode.SHARED,
        protocols: int = Protocol.ANY,
        busy_timeout: float = 2.0,
        api: Any = None,
        context: PcscContext | None = None,
    ) -> None:
        self.reader = reader
        self._own_context = context is None
        self._context = context or PcscContext(api)
        self._api: Any = self._context.api
        self._share = share
        self._lock = threading.RLock()
        self._card: int | None = None
        self.protocol = 0
        self.atr = b""
        try:
            self._connect(protocols, busy_timeout)
        except BaseException:
            if self._own_context:
                self._context.close()
            raise

    @classmethod
    def wait_for_card(cls, reader: str, timeout: float, **kwargs: Any) -> PcscConnection:
        """Wait up to ``timeout`` seconds for a card in ``reader``, then connect to it."""
        context = kwargs.get("context")
        if context is not None:
            wait_for_card(reader, timeout, context)
        else:
            with PcscContext(kwargs.get("api")) as own:
                wait_for_card(reader, timeout, own)
        return cls(reader, **kwargs)

    # -- connecting -------------------------------------------------------------------

    def _connect(self, protocols: int, busy_timeout: float) -> None:
        deadline = time.monotonic() + busy_timeout
        candidates = [protocols]
        if protocols == Protocol.ANY:
            candidates += [Protocol.T1, Protocol.T0]
        delay = 0.02
        while True:
            hresult, card, active = self._try_protocols(candidates)
            code = hresult & _U32
            if code in _BUSY and time.monotonic() < deadline:
                # Another process has it exclusively (or is mid-transaction): back off briefly.
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
                continue
            if code in _SERVICE:
                self._context.invalidate()
            raise_for_pcsc(f"SCardConnect({self.reader})", hresult)
            break
        self._card = int(card)
        self.protocol = int(active)
        self.atr = self._status_atr()
        _log.debug(
            "connected to %s (%s), ATR %s",
            self.reader,
            Protocol.name(self.protocol),
            self.atr.hex(),
        )

    def _try_protocols(self, candidates: Sequence[int]) -> tuple[int, int, int]:
        hresult, card, active = 0, 0, 0
        for proto in candidates:
            hresult, card, active = self._api.SCardConnect(
                self._context.handle(), self.reader, self._share, proto
            )
            if hresult & _U32 not in _PROTO_MISMATCH:
                break
        return hresult, card, active

    def _status_atr(self) -> bytes:
        hresult, _reader, _state, _proto, atr = self._api.SCardStatus(self._handle())
        self._check("SCardStatus", hresult)
        return bytes(atr)

    def _handle(self) -> int:
        if self._card is None:
            raise NoCardError(f"connection to {self.reader} is closed")
        return self._card

    def _check(self, operation: str, hresult: int) -> None:
        code = hresult & _U32
        if code == SCARD_S_SUCCESS:
            return
        if code in _SERVICE:
            # The handle belongs to a daemon that is gone: it cannot be used again.
            self._card = None
            self._context.invalidate()
        elif code in _NOT_TRANSACTED and not self._card_present():
            raise CardRemovedError(
                f"{operation} on {self.reader}: the card left during the command"
            ) from PcscError(operation, code)
        raise_for_pcsc(f"{operation}({self.reader})", hresult)

    def _card_present(self, settle: float = 1.5) -> bool:
        """Whether a card is still in the reader, asked of pcscd without our handle.

        pcscd notices a removal on its next slot poll (vpcd: ~400 ms), so a card that is
        still reported present is watched for up to ``settle`` seconds, waiting on
        ``SCardGetStatusChange`` rather than sleeping.
        """
        deadline = time.monotonic() + settle
        current = _scard.SCARD_STATE_UNAWARE
        while True:
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            try:
                hresult, states = self._api.SCardGetStatusChange(
                    self._context.handle(),
                    0 if current == 0 else remaining,
                    [(self.reader, current)],
                )
            except DeviceError:
                return False
            code = hresult & _U32
            if code == _code("SCARD_E_TIMEOUT"):
                return True
            if code != SCARD_S_SUCCESS or not states:
                return False
            state = int(states[0][1])
            if not state & _scard.SCARD_STATE_PRESENT:
                return False
            if remaining == 0 and current != 0:
                return True
            current = state & ~_scard.SCARD_STATE_CHANGED

    # -- the Connection protocol -------------------------------------------------------

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one command APDU, return (response data, SW1SW2)."""
        with self._lock:
            hresult, response = self._api.SCardTransmit(self._handle(), self.protocol, list(apdu))
            self._check("SCardTransmit", hresult)
        raw = bytes(response)
        if len(raw) < 2:
            # vpcd (and some readers) report success with no bytes when the card left
            # mid-command: the command may or may not have reached the chip.
            if not self._card_present():
                raise CardRemovedError(
                    f"SCardTransmit on {self.reader}: the card left during the command"
                )
            raise PcscError("SCardTransmit", _code("SCARD_F_COMM_ERROR"), "answer without SW")
        return raw[:-2], int.from_bytes(raw[-2:], "big")

    # -- holding the card --------------------------------------------------------------

    def begin_transaction(self) -> None:
        """Take the card exclusively (``SCardBeginTransaction``); blocks while another holds it."""
        with self._lock:
            self._check("SCardBeginTransaction", self._api.SCardBeginTransaction(self._handle()))

    def end_transaction(self, disposition: int = SCARD_LEAVE_CARD) -> None:
        """Release the card (``SCardEndTransaction``)."""
        with self._lock:
            self._check(
                "SCardEndTransaction", self._api.SCardEndTransaction(self._handle(), disposition)
            )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PcscConnection]:
        """Hold this card exclusively for the duration of the ``with`` block."""
        with transaction(self):
            yield self

    def reconnect(self, *, reset: bool = False) -> bytes:
        """Reconnect the handle (after another process reset the card); return the ATR."""
        with self._lock:
            init = SCARD_RESET_CARD if reset else SCARD_LEAVE_CARD
            hresult, active = self._api.SCardReconnect(
                self._handle(), self._share, Protocol.ANY, init
            )
            self._check("SCardReconnect", hresult)
            self.protocol = int(active)
            self.atr = self._status_atr()
            return self.atr

    def close(self, disposition: int = SCARD_LEAVE_CARD) -> None:
        """Disconnect (leaving the card powered by default) and release an owned context."""
        with self._lock:
            if self._card is not None:
                # A card already gone or a daemon restarted: nothing left to release.
                self._api.SCardDisconnect(self._card, disposition)
                self._card = None
            if self._own_context:
                self._context.close()

    @property
    def closed(self) -> bool:
        """True once closed, or once the handle died with the PC/SC service."""
        return self._card is None

    def __enter__(self) -> PcscConnection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PcscConnection({self.reader!r}, {Protocol.name(self.protocol)})"


@contextlib.contextmanager
def transaction(*connections: PcscConnection) -> Iterator[None]:
    """Hold every connection's card exclusively across the block (card, then PSAM).

    Transactions are taken in the order given and released in reverse, so two
    terminals' processes taking the same pair in the same order cannot deadlock. A
    card that left during the block cannot be released; that is logged, not raised,
    so the error that ended the block is the one the caller sees.
    """
    begun: list[PcscConnection] = []
    try:
        for conn in connections:
            conn.begin_transaction()
            begun.append(conn)
        yield
    finally:
        for conn in reversed(begun):
            try:
                conn.end_transaction()
            except DeviceError as exc:
                _log.info("transaction on %s not released: %s", conn.reader, exc)
