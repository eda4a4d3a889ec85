"""The printer simulator as a device: TCP (port 9100 or any) and a pseudo-terminal.

Both transports feed one :class:`EscPosInterpreter` (one printer, two cables), so
python-escpos's own ``Network`` and ``Serial`` printers drive it. Each finished job
is written to the output folder as ``job-NNNN.png``, ``job-NNNN.txt`` and
``job-NNNN.json`` (unknown commands, unprintable characters, QR payloads, log).

Each TCP connection is served by its own thread with its own parser state, so no
client can block or corrupt another: a connection silent for ``read_timeout`` is
closed (as a network printer's port timeout does), one that does not read its
answers is dropped, more than ``max_clients`` at once wait in the backlog, and a
command left half sent is discarded when its connection closes (on the serial line,
after ``read_timeout`` of silence). The printer is locked only while 4 KB of one
connection's data is interpreted, which the interpreter's limits keep short.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from simulators.printer.interpreter import (
    ChineseSupport,
    EscPosInterpreter,
    Faults,
    Job,
    Limits,
    PaperState,
)

log = logging.getLogger(__name__)

_SLICE = 4096  # bytes interpreted per hold of the printer lock


MODELS: dict[str, dict[str, object]] = {
    # Printer models matching the driver's shipped profiles (docs/printing.md).
    "gb18030-80mm": {"dots": 576, "chinese": ChineseSupport.GB18030, "process_id": True},
    "nocjk-58mm": {"dots": 384, "chinese": ChineseSupport.NONE, "cutter": False},
    "noqr-80mm": {"dots": 576, "chinese": ChineseSupport.GBK, "native_qr": False},
}


class PrinterSimulator:
    """A simulated ESC/POS receipt printer with fault injection."""

    @classmethod
    def model(cls, name: str, out_dir: Path | str | None = None, **kw: float) -> PrinterSimulator:
        """A simulator configured as one of :data:`MODELS`."""
        return cls(out_dir, **MODELS[name], **kw)  # type: ignore[arg-type]

    def __init__(
        self,
        out_dir: Path | str | None = None,
        *,
        dots: int = 576,
        chinese: ChineseSupport = ChineseSupport.GB18030,
        native_qr: bool = True,
        cutter: bool = True,
        process_id: bool = False,
        idle_end: float = 1.0,
        read_timeout: float = 60.0,
        max_clients: int = 32,
        limits: Limits | None = None,
    ) -> None:
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.idle_end = idle_end
        self.read_timeout = read_timeout
        self.max_clients = max_clients
        self._lock = threading.Condition()
        self._interp = EscPosInterpreter(
            dots=dots,
            chinese=chinese,
            native_qr=native_qr,
            cutter=cutter,
            process_id=process_id,
            limits=limits,
            on_job=self._save,
        )
        self._reply: Callable[[bytes], None] | None = None  # the link that spoke last
        self._last_link: object = None  # whose job is on the paper
        self._stop = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._clients = 0
        self._next_link = 0
        self._server: socket.socket | None = None
        self._pty: tuple[int, int] | None = None
        self._last_rx = 0.0
        self.tcp_port: int | None = None
        self.pty_path: str | None = None

    # -- transports -------------------------------------------------------------------
    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0 = any free port); returns the bound port."""
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, port))
        srv.listen(64)
        srv.settimeout(0.2)
        self._server = srv
        self.tcp_port = srv.getsockname()[1]
        self._spawn(self._accept_loop, "printer-sim-tcp")
        return self.tcp_port

    def start_pty(self) -> str:
        """Open a pseudo-terminal; returns the path a serial client opens."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: a plain 8-bit line
        os.set_blocking(master, False)  # a client that stops reading never blocks us
        self._pty = (master, slave)
        self.pty_path = os.ttyname(slave)
        self._spawn(self._pty_loop, "printer-sim-pty")
        return self.pty_path

    def stop(self) -> None:
        """Stop listening, finish the current job, close everything."""
        self._stop.set()
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(timeout=2)
        if self._server is not None:
            self._server.close()
        if self._pty is not None:
            for fd in self._pty:
                with contextlib.suppress(OSError):
                    os.close(fd)
        with self._lock:
            self._interp.end_job()

    def __enter__(self) -> PrinterSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- fault injection and inspection (thread-safe) ---------------------------------
    def set_faults(self, **changes: object) -> None:
        """Change :class:`Faults` fields, e.g. ``set_faults(paper=PaperState.OUT)``."""
        with self._lock:
            for name, value in changes.items():
                if not hasattr(self._interp.faults, name):
                    raise AttributeError(f"no fault called {name}")
                setattr(self._interp.faults, name, value)
            answer = self._interp.resume()
            if answer and self._reply is not None:
                with contextlib.suppress(OSError):
                    self._reply(answer)

    def load_paper(self) -> None:
        """Paper loaded: the printer can print again (held data prints, if any)."""
        self.set_faults(paper=PaperState.ADEQUATE, paper_out_after_lines=None)

    @property
    def faults(self) -> Faults:
        with self._lock:
            return Faults(**vars(self._interp.faults))

    @property
    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._interp.jobs)

    @property
    def unknown_commands(self) -> dict[str, int]:
        with self._lock:
            return dict(self._interp.unknown)

    @property
    def job_count(self) -> int:
        """Jobs finished since start (:attr:`jobs` keeps only the latest)."""
        with self._lock:
            return self._interp.job_count

    @property
    def clients(self) -> int:
        """TCP connections open now."""
        with self._lock:
            return self._clients

    def wait_for_jobs(self, count: int, timeout: float = 10.0) -> list[Job]:
        """Block until at least ``count`` jobs finished; ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._interp.job_count < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self._interp.job_count} of {count} jobs printed")
                self._lock.wait(min(left, 0.05))
                self._idle_check()
            return list(self._interp.jobs)

    def end_job(self) -> Job | None:
        """Finish the job in progress now (as if the data stopped)."""
        with self._lock:
            return self._interp.end_job()

    # -- internals --------------------------------------------------------------------
    def _spawn(self, target: Callable[[], None], name: str) -> None:
        def run() -> None:
            try:
                target()
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        t = threading.Thread(target=run, name=name, daemon=True)
        with self._lock:
            self._threads.add(t)
        t.start()

    def _receive(self, data: bytes, reply: Callable[[bytes], None], link: object) -> bytes:
        # In slices, the lock released between them: a status query on another link
        # waits for one slice, never for a whole read of someone's hostile stream.
        answer = bytearray()
        for start in range(0, len(data), _SLICE):
            with self._lock:
                self._reply = reply
                self._last_rx = time.monotonic()
                self._last_link = link
                try:
                    answer += self._interp.feed(data[start : start + _SLICE], link)
                except Exception:  # a bug must not take the printer down: log, drop link
                    log.exception("printer simulator: input on %s not interpreted", link)
                    self._interp.close_link(link)
                self._lock.notify_all()
        return bytes(answer)

    def _link_closed(self, link: object, reply: Callable[[bytes], None] | None) -> None:
        with self._lock:
            if reply is not None and self._reply == reply:
                self._reply = None
            self._interp.close_link(link)
            if self._last_link == link:  # its job is over; another client's is not
                self._interp.end_job()
                self._last_link = None
            self._lock.notify_all()

    def _idle_check(self) -> None:
        # Called with the lock held: a printer without a cut ends a job when data stops.
        if self.idle_end > 0 and self._last_rx and time.monotonic() - self._last_rx > self.idle_end:
            self._last_rx = 0.0
            self._interp.end_job()

    def _accept_loop(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            with self._lock:
                if self._clients >= self.max_clients:
                    # Busy: later clients wait in the listen backlog, as at a printer
                    # that serves a few connections at a time.
                    self._lock.wait(0.05)
                    self._idle_check()
                    continue
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                with self._lock:
                    self._idle_check()
                continue
            except OSError:
                return
            with self._lock:
                self._clients += 1
                self._next_link += 1
                link = f"tcp-{self._next_link}"
            self._spawn(functools.partial(self._serve_tcp, conn, link), "printer-sim-conn")

    def _serve_tcp(self, conn: socket.socket, link: str) -> None:
        try:
            self._serve_connection(conn, link)
        finally:
            with contextlib.suppress(OSError):
                conn.close()
            self._link_closed(link, conn.sendall)
            with self._lock:
                self._clients -= 1
                self._lock.notify_all()

    def _serve_connection(self, conn: socket.socket, link: str) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            return  # reset before we got to it
        # Short reads, so stop() and the read timeout are noticed; answers that the
        # client does not read within the same time drop the connection.
        conn.settimeout(0.2)
        last = time.monotonic()
        while not self._stop.is_set():
            # Linux turns quick ACK off again after use: re-arm it before each read,
            # or a client that has not disabled Nagle waits ~40 ms per small write.
            if hasattr(socket, "TCP_QUICKACK"):
                with contextlib.suppress(OSError):
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            try:
                data = conn.recv(65536)
            except TimeoutError:
                if time.monotonic() - last > self.read_timeout:
                    log.info("printer simulator: %s silent, closed", link)
                    return
                continue
            except OSError:
                return
            if not data:
                return
            last = time.monotonic()
            answer = self._receive(data, conn.sendall, link)
            if answer:
                try:
                    conn.sendall(answer)
                except OSError:
                    return

    def _pty_loop(self) -> None:
        assert self._pty is not None
        master = self._pty[0]
        last = time.monotonic()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not ready:
                with self._lock:
                    self._idle_check()
                    if time.monotonic() - last > self.read_timeout:
                        # A serial line has no end: a command left half sent for this
                        # long is dropped, or it would swallow the next job.
                        if self._interp.close_link("pty"):
                            self._interp.end_job()  # the drop is logged in its own job
                        last = time.monotonic()
                continue
            try:
                data = os.read(master, 65536)
            except BlockingIOError:
                continue
            except OSError:
                return
            last = time.monotonic()
            answer = self._receive(data, self._pty_reply, "pty")
            if answer:
                with contextlib.suppress(OSError):
                    self._pty_reply(answer)

    def _pty_reply(self, data: bytes) -> None:
        if self._pty is not None:
            _write_pty(self._pty[0], data)

    def _save(self, job: Job) -> None:
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem = self.out_dir / f"job-{job.number:04d}"
        job.image.save(stem.with_suffix(".png"), compress_level=1)  # speed over size
        stem.with_suffix(".txt").write_text(job.text, encoding="utf-8")
        report = {
            "complete": job.complete,
            "unknown_commands": dict(job.unknown),
            "unprintable_characters": job.unprintable,
            "qr_payloads": [p.decode("utf-8", errors="replace") for p in job.qr_payloads],
            "log": job.log,
        }
        stem.with_suffix(".json").write_text(
            json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        if job.unknown:
            log.warning("job %d: unknown commands %s", job.number, dict(job.unknown))
        if job.log:
            log.warning("job %d: %s", job.number, "; ".join(job.log))


def _write_pty(fd: int, data: bytes, timeout: float = 0.5) -> None:
    """Write answers to the pty; a client that does not read them loses them."""
    view = memoryview(data)
    deadline = time.monotonic() + timeout
    while view and time.monotonic() < deadline:
        _, ready, _ = select.select([], [fd], [], max(deadline - time.monotonic(), 0))
        if ready:
            with contextlib.suppress(BlockingIOError):
                view = view[os.write(fd, view) :]
