"""The identity card reader simulator: a SAM module answering the framed protocol on a pty.

It implements the reader's side of :mod:`cardlib.idcard`: a request must be a whole,
well-checked frame (a bad check is answered with status 10, a length out of range
with 11, an unknown command with 21, as the SAM does); FIND CARD answers 9F when a
card lies on the reader and 80 when none does; READ BASIC needs a SELECT CARD after
the last FIND, as the contactless card's anti-collision needs; a card taken away
between the steps fails them (41 / 81). Faults for tests: a SAM that stays silent,
and answers with a corrupted check byte.

``IdCardSimulator().start_pty()`` returns the path a serial client opens.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
import tty

from cardlib.idcard import (
    ChecksumError,
    Command,
    FrameDecoder,
    FrameError,
    IdentityDocument,
    Request,
    Response,
    Status,
    encode_basic_info,
)

__all__ = ["IdCardSimulator"]

log = logging.getLogger(__name__)

SAM_ID = bytes.fromhex("0501000020230917000000010000AB01")  # TEST ONLY


class IdCardSimulator:
    """One simulated reader; :meth:`place` and :meth:`take` move a document on and off it."""

    def __init__(self, *, read_timeout: float = 1.0) -> None:
        self.read_timeout = read_timeout
        self._lock = threading.Lock()
        self._doc: IdentityDocument | None = None
        self._selected = False
        self._found = False
        self.mute = False  # the SAM stops answering
        self.corrupt_answers = 0  # the next N answers go out with a wrong check byte
        self.requests: list[int] = []  # commands received, for tests
        self._stop = threading.Event()
        self._pty: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None
        self.pty_path: str | None = None

    # -- the card on the reader --------------------------------------------------------
    def place(self, doc: IdentityDocument) -> None:
        """Lay ``doc`` on the reader (a new card: it must be found and selected again)."""
        with self._lock:
            self._doc, self._found, self._selected = doc, False, False

    def take(self) -> None:
        """Take the card off the reader."""
        with self._lock:
            self._doc, self._found, self._selected = None, False, False

    @property
    def document(self) -> IdentityDocument | None:
        return self._doc

    # -- the protocol ------------------------------------------------------------------
    def answer(self, payload: bytes) -> Response:
        """The SAM's answer to one request payload (the frame already checked)."""
        try:
            req = Request.parse(payload)
        except FrameError:
            return Response(Status.LENGTH)
        with self._lock:
            self.requests.append(req.command)
            return self._dispatch(req)

    def _dispatch(self, req: Request) -> Response:
        if req.data:
            return Response(Status.LENGTH)  # none of these commands takes data
        match req.command:
            case Command.SAM_RESET | Command.SAM_STATUS:
                return Response(Status.OK)
            case Command.SAM_ID:
                return Response(Status.OK, SAM_ID)
            case Command.FIND_CARD:
                self._selected = False
                self._found = self._doc is not None
                if not self._found:
                    return Response(Status.NO_CARD)
                return Response(Status.FIND_OK, bytes(4))
            case Command.SELECT_CARD:
                if self._doc is None or not self._found:
                    return Response(Status.SELECT_FAILED)
                self._selected = True
                return Response(Status.OK, bytes(8))  # the card's serial, not kept
            case Command.READ_BASIC:
                if self._doc is None or not self._selected:
                    return Response(Status.READ_FAILED)
                return Response(Status.OK, encode_basic_info(self._doc))
        return Response(Status.COMMAND)

    def _reply_frame(self, answer: Response) -> bytes:
        frame = bytearray(answer.encode())
        if self.corrupt_answers > 0:
            self.corrupt_answers -= 1
            frame[-1] ^= 0x5A
        return bytes(frame)

    # -- the pty -------------------------------------------------------------------------
    def start_pty(self) -> str:
        """Open a pseudo-terminal and serve it; returns the path a serial client opens."""
        master, slave = os.openpty()
        tty.setraw(slave)  # a plain 8-bit line: no echo, no CR/LF translation
        os.set_blocking(master, False)
        self._pty = (master, slave)
        self.pty_path = os.ttyname(slave)
        self._thread = threading.Thread(target=self._loop, name="idcard-sim", daemon=True)
        self._thread.start()
        return self.pty_path

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._pty is not None:
            for fd in self._pty:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._pty = None

    def __enter__(self) -> IdCardSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        assert self._pty is not None
        master = self._pty[0]
        decoder = FrameDecoder()
        last = time.monotonic()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
            except (OSError, ValueError):
                return
            if not ready:
                if decoder.pending and time.monotonic() - last > self.read_timeout:
                    decoder = FrameDecoder()  # a request left half sent is dropped
                continue
            try:
                data = os.read(master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            last = time.monotonic()
            decoder.feed(data)
            while True:
                try:
                    payload = decoder.next()
                except FrameError as exc:
                    log.info("idcard sim: %s", exc)
                    bad = Status.CHECKSUM if isinstance(exc, ChecksumError) else Status.LENGTH
                    self._send(master, Response(bad))
                    continue
                if payload is None:
                    break
                self._send(master, self.answer(payload))

    def _send(self, fd: int, answer: Response) -> None:
        if self.mute:
            return
        view = memoryview(self._reply_frame(answer))
        deadline = time.monotonic() + 0.5  # a client that does not read loses the answer
        while view and time.monotonic() < deadline:
            _, ready, _ = select.select([], [fd], [], 0.05)
            if ready:
                with contextlib.suppress(BlockingIOError):
                    view = view[os.write(fd, view) :]
