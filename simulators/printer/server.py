"""The printer simulator as a device: TCP (port 9100 or any) and a pseudo-terminal.

Both transports feed one :class:`EscPosInterpreter` (one printer, two cables), so
python-escpos's own ``Network`` and ``Serial`` printers drive it. Each finished job
is written to the output folder as ``job-NNNN.png``, ``job-NNNN.txt`` and
``job-NNNN.json`` (unknown commands, unprintable characters, QR payloads).
"""

from __future__ import annotations

import contextlib
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
    PaperState,
)

log = logging.getLogger(__name__)


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
    ) -> None:
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.idle_end = idle_end
        self._lock = threading.Condition()
        self._interp = EscPosInterpreter(
            dots=dots,
            chinese=chinese,
            native_qr=native_qr,
            cutter=cutter,
            process_id=process_id,
            on_job=self._save,
        )
        self._reply: Callable[[bytes], None] | None = None  # the link that spoke last
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
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
        srv.listen(4)
        srv.settimeout(0.2)
        self._server = srv
        self.tcp_port = srv.getsockname()[1]
        self._spawn(self._accept_loop, "printer-sim-tcp")
        return self.tcp_port

    def start_pty(self) -> str:
        """Open a pseudo-terminal; returns the path a serial client opens."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: a plain 8-bit line
        self._pty = (master, slave)
        self.pty_path = os.ttyname(slave)
        self._spawn(self._pty_loop, "printer-sim-pty")
        return self.pty_path

    def stop(self) -> None:
        """Stop listening, finish the current job, close everything."""
        self._stop.set()
        for t in self._threads:
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

    def wait_for_jobs(self, count: int, timeout: float = 10.0) -> list[Job]:
        """Block until at least ``count`` jobs finished; ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._interp.jobs) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._interp.jobs)} of {count} jobs printed")
                self._lock.wait(min(left, 0.05))
                self._idle_check()
            return list(self._interp.jobs)

    def end_job(self) -> Job | None:
        """Finish the job in progress now (as if the data stopped)."""
        with self._lock:
            return self._interp.end_job()

    # -- internals --------------------------------------------------------------------
    def _spawn(self, target: object, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        t.start()
        self._threads.append(t)

    def _receive(self, data: bytes, reply: Callable[[bytes], None]) -> bytes:
        with self._lock:
            self._reply = reply
            self._last_rx = time.monotonic()
            answer = self._interp.feed(data)
            self._lock.notify_all()
            return answer

    def _idle_check(self) -> None:
        # Called with the lock held: a printer without a cut ends a job when data stops.
        if self.idle_end > 0 and self._last_rx and time.monotonic() - self._last_rx > self.idle_end:
            self._last_rx = 0.0
            self._interp.end_job()

    def _accept_loop(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                with self._lock:
                    self._idle_check()
                continue
            except OSError:
                return
            self._spawn(lambda c=conn: self._serve_tcp(c), "printer-sim-conn")

    def _serve_tcp(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(0.2)
        with conn:
            while not self._stop.is_set():
                # Linux turns quick ACK off again after use: re-arm it before each read,
                # or a client that has not disabled Nagle waits ~40 ms per small write.
                if hasattr(socket, "TCP_QUICKACK"):
                    with contextlib.suppress(OSError):
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                answer = self._receive(data, conn.sendall)
                if answer:
                    try:
                        conn.sendall(answer)
                    except OSError:
                        break
        with self._lock:
            if self._reply == conn.sendall:
                self._reply = None
            self._interp.end_job()  # the connection closed: the job is over
            self._lock.notify_all()

    def _pty_loop(self) -> None:
        assert self._pty is not None
        master = self._pty[0]
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not ready:
                with self._lock:
                    self._idle_check()
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            answer = self._receive(data, lambda b: _write_all(master, b))
            if answer:
                with contextlib.suppress(OSError):
                    _write_all(master, answer)

    def _save(self, job: Job) -> None:
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem = self.out_dir / f"job-{job.number:04d}"
        job.image.save(stem.with_suffix(".png"))
        stem.with_suffix(".txt").write_text(job.text, encoding="utf-8")
        report = {
            "complete": job.complete,
            "unknown_commands": dict(job.unknown),
            "unprintable_characters": job.unprintable,
            "qr_payloads": [p.decode("utf-8", errors="replace") for p in job.qr_payloads],
        }
        stem.with_suffix(".json").write_text(
            json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        if job.unknown:
            log.warning("job %d: unknown commands %s", job.number, dict(job.unknown))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
