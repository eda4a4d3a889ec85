"""The driver against printers that misbehave: garbage status answers, a babbling line,
a printer that stalls mid-job, one that disconnects, one that closes an idle link.

Each is a real peer on loopback (a TCP socket or a pty) doing one wrong thing; the
driver must report a clear status within its configured timeouts, never hang, and
the kiosk's printer check must offer the no-receipt choice (``ready`` false).
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import struct
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.printer.document import Document, Text
from drivers.printer.errors import PrintFailed
from drivers.printer.printer import Printer
from drivers.printer.profiles import PROFILES
from drivers.printer.queue import PrintQueue
from kiosk.receipts.layouts import key_signer
from kiosk.receipts.signing import TerminalIdentity
from kiosk.services.printing import ReceiptDesk
from tests.printer.conftest import simulator_for

GB, NOCJK = PROFILES["gb18030-80mm"], PROFILES["nocjk-58mm"]
OK = 0x12  # a status byte: fixed bits, no fault


def _doc(lines: int = 3) -> Document:
    return Document("note", "N1", "en", tuple(Text(f"line {i} " + "x" * 30) for i in range(lines)))


class Peer:
    """A TCP printer that runs ``behave(conn)`` for each connection."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self._srv = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self._srv.getsockname()[1]}"
        self._behave = behave
        self._stop = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        self._srv.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self._behave(conn)

    def close(self) -> None:
        self._stop.set()
        self._srv.close()


@pytest.fixture
def peer() -> Iterator[Callable[[Callable[[socket.socket], None]], Peer]]:
    made: list[Peer] = []

    def make(behave: Callable[[socket.socket], None]) -> Peer:
        made.append(Peer(behave))
        return made[-1]

    yield make
    for p in made:
        p.close()


def _answer_queries(conn: socket.socket, answer: Callable[[], bytes], count: int | None) -> None:
    """Answer each DLE EOT n with ``answer()``, ``count`` times (None: for ever)."""
    buf = b""
    while count is None or count > 0:
        data = conn.recv(4096)
        if not data:
            return
        buf += data
        while (i := buf.find(b"\x10\x04")) >= 0 and len(buf) >= i + 3:
            buf = buf[i + 3 :]
            conn.sendall(answer())
            if count is not None:
                count -= 1
                if count == 0:
                    return


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.monotonic()
    try:
        result: object = fn()
    except PrintFailed as exc:
        result = exc
    return time.monotonic() - start, result


def _desk(printer: Printer, tmp_path: Path, identity: TerminalIdentity) -> ReceiptDesk:
    queue = PrintQueue(tmp_path / "queue.sqlite")
    return ReceiptDesk(printer, queue, key_signer(identity.private_key), "test")


def test_garbage_status_answers_are_no_answer_and_offer_no_receipt(
    peer: Callable[[Callable[[socket.socket], None]], Peer],
    tmp_path: Path,
    identity: TerminalIdentity,
) -> None:
    rng = random.Random(2)
    p = peer(lambda c: _answer_queries(c, lambda: bytes([rng.choice([0xFF, 0x00, 0x81])]), None))
    with Printer(p.url, GB, timeout=0.3) as printer:
        took, status = _timed(printer.status)
        assert took < 1.0
        assert status.problems() == ["no_answer"]  # type: ignore[attr-defined]
        assert "not a status byte" in status.detail  # type: ignore[attr-defined]
        check = _desk(printer, tmp_path, identity).check()
        assert not check.ready and check.problem == "no_answer"
        took, failed = _timed(lambda: printer.print_document(_doc()))
        assert isinstance(failed, PrintFailed) and not failed.sent and took < 1.0


def test_a_babbling_printer_is_no_answer_within_the_timeout(
    peer: Callable[[Callable[[socket.socket], None]], Peer],
) -> None:
    def babble(conn: socket.socket) -> None:
        while True:
            conn.sendall(bytes([OK]) * 1024)  # status-looking bytes, never stopping

    p = peer(babble)
    with Printer(p.url, GB, timeout=0.3) as printer:
        took, status = _timed(printer.status)
    assert took < 1.5
    assert status.problems() == ["no_answer"]  # type: ignore[attr-defined]
    assert "nobody asked for" in status.detail  # type: ignore[attr-defined]


def test_a_printer_that_stalls_after_taking_the_job_fails_it_in_time(
    peer: Callable[[Callable[[socket.socket], None]], Peer],
) -> None:
    def stall(conn: socket.socket) -> None:
        _answer_queries(conn, lambda: bytes([OK]), 3)  # ready before the job
        time.sleep(30)  # then neither reads nor answers

    for profile in (GB, NOCJK):  # with and without the GS ( H confirmation
        p = peer(stall)
        with Printer(p.url, profile, timeout=0.3, print_timeout=1.0) as printer:
            took, failed = _timed(lambda: printer.print_document(_doc()))
        assert isinstance(failed, PrintFailed) and failed.sent
        assert failed.status.problems() == ["no_answer"]
        assert took < 1.0 + 4 * 0.3 + 0.5, took


def test_a_stalled_serial_printer_cannot_block_the_write(tmp_path: Path) -> None:
    """pyserial writes block for ever by default: a pty nobody reads fills up."""
    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def printer_side() -> None:  # answers the status round, then never reads again
        seen = b""
        while seen.count(b"\x10\x04") < 3 and not stop.is_set():
            data = os.read(master, 64)
            os.write(master, bytes([OK]) * (data.count(b"\x10\x04")))
            seen += data
        stop.wait(30)

    threading.Thread(target=printer_side, daemon=True).start()
    try:
        url = f"serial://{os.ttyname(slave)}?baudrate=115200"
        with Printer(url, NOCJK, timeout=0.3, print_timeout=1.0) as printer:
            took, failed = _timed(lambda: printer.print_document(_doc(lines=3000)))
        assert isinstance(failed, PrintFailed) and failed.sent, failed
        assert took < 1.0 + 4 * 0.3 + 0.5, took
    finally:
        stop.set()
        os.close(master)
        os.close(slave)


def test_a_printer_that_disconnects_mid_job_fails_it_clearly(
    peer: Callable[[Callable[[socket.socket], None]], Peer],
    tmp_path: Path,
    identity: TerminalIdentity,
) -> None:
    def hang_up(conn: socket.socket) -> None:
        _answer_queries(conn, lambda: bytes([OK]), 3)
        conn.recv(100)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    p = peer(hang_up)
    with Printer(p.url, GB, timeout=0.3, print_timeout=1.0) as printer:
        took, failed = _timed(lambda: printer.print_document(_doc(lines=200)))
        assert isinstance(failed, PrintFailed) and failed.sent
        assert failed.status.problems() == ["no_answer"] and took < 2.5
        desk = _desk(printer, tmp_path, identity)
        job = desk.queue.submit(_doc())
        desk.queue.run(printer)
        assert desk.queue.job(job).state.value == "failed"  # kept, to reprint marked


def test_a_kept_connection_the_printer_closed_is_reopened(tmp_path: Path) -> None:
    sim = simulator_for(GB, tmp_path / "jobs")
    sim.read_timeout = 0.3  # the simulator closes idle connections, as network printers do
    sim.start_tcp()
    try:
        with Printer(f"tcp://127.0.0.1:{sim.tcp_port}", GB, timeout=0.5) as printer:
            assert printer.status().ready
            time.sleep(0.8)
            assert sim.clients == 0
            assert printer.status().ready  # not a false "no answer" after an idle spell
            printer.print_document(_doc())
        assert "line 0" in sim.wait_for_jobs(1)[-1].text
    finally:
        sim.stop()
