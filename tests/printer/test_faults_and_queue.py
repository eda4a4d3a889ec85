"""Status with timeouts, fault injection, and the print queue's reprint rule."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from escpos.printer import Serial

from drivers.printer.document import Document, Text
from drivers.printer.errors import PrintFailed
from drivers.printer.printer import Printer
from drivers.printer.profiles import PROFILES
from drivers.printer.queue import REPRINT_MARK, JobState, PrintQueue
from drivers.printer.status import PaperLevel
from kiosk.receipts.layouts import ReceiptKind, key_signer
from kiosk.receipts.samples import sample_documents
from kiosk.receipts.signing import TerminalIdentity
from simulators.printer.interpreter import PaperState
from simulators.printer.server import PrinterSimulator

PROFILE = PROFILES["gb18030-80mm"]


def _url(sim: PrinterSimulator) -> str:
    return f"tcp://127.0.0.1:{sim.tcp_port}"


def _purchase(identity: TerminalIdentity, seed: int = 3) -> Document:
    return sample_documents(seed, key_signer(identity.private_key), language="zh-Hans")[
        ReceiptKind.PURCHASE
    ]


def test_status_reports_each_fault(sim: PrinterSimulator) -> None:
    with Printer(_url(sim), PROFILE, timeout=1.0) as printer:
        assert printer.status().ready
        sim.set_faults(paper=PaperState.NEAR_END)
        s = printer.status()
        assert s.ready and s.paper is PaperLevel.NEAR_END
        sim.set_faults(paper=PaperState.OUT)
        s = printer.status()
        assert not s.ready and s.paper is PaperLevel.OUT and s.problems() == ["paper_out"]
        sim.set_faults(paper=PaperState.ADEQUATE, cover_open=True)
        s = printer.status()
        assert not s.ready and not s.online and s.problems() == ["cover_open"]
        sim.set_faults(cover_open=False, offline=True)
        assert printer.status().problems() == ["offline"]


def test_silent_printer_is_offline_not_paper_fine(sim: PrinterSimulator) -> None:
    sim.set_faults(mute=True)
    start = time.monotonic()
    with Printer(_url(sim), PROFILE, timeout=0.3) as printer:
        s = printer.status()
    assert time.monotonic() - start < 5  # the 60 s python-escpos default is not used
    assert not s.answered and not s.online and s.paper is PaperLevel.UNKNOWN
    assert s.problems() == ["no_answer"]
    # python-escpos alone calls the same silence "paper adequate" (2) over serial.
    path = sim.start_pty()
    raw = Serial(devfile=path, timeout=0.3, dsrdtr=False)
    raw.open()
    try:
        assert raw.paper_status() == 2
    finally:
        raw.close()
    with Printer(f"serial://{path}", PROFILE, timeout=0.3) as printer:
        assert printer.status().problems() == ["no_answer"]


def test_nothing_listening_is_offline() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Printer(f"tcp://127.0.0.1:{port}", PROFILE, timeout=0.3) as printer:
        status = printer.status()
        assert not status.answered and not status.ready
        with pytest.raises(PrintFailed) as err:
            printer.print_document(_doc())
        assert not err.value.sent


def _doc() -> Document:
    return Document("note", "N1", "en", (Text("hello"),))


def test_not_ready_printer_gets_nothing(sim: PrinterSimulator, identity: TerminalIdentity) -> None:
    sim.set_faults(cover_open=True)
    with Printer(_url(sim), PROFILE) as printer, pytest.raises(PrintFailed) as err:
        printer.print_document(_purchase(identity))
    assert not err.value.sent and err.value.status.cover_open
    sim.set_faults(cover_open=False)
    assert sim.end_job() is None  # not a dot was printed


def test_answers_stopping_mid_job_fail_the_job(
    sim: PrinterSimulator, identity: TerminalIdentity
) -> None:
    sim.set_faults(mute_after_answers=3)  # the status before the job, then silence
    with Printer(_url(sim), PROFILE, timeout=0.3) as printer, pytest.raises(PrintFailed) as err:
        printer.print_document(_purchase(identity))
    assert err.value.sent and err.value.status.problems() == ["no_answer"]


def test_paper_out_mid_job_is_kept_and_reprinted_once_marked(
    sim: PrinterSimulator, identity: TerminalIdentity, tmp_path: Path
) -> None:
    doc = _purchase(identity)
    queue = PrintQueue(tmp_path / "queue.sqlite")
    job_id = queue.submit(doc)
    sim.set_faults(paper_out_after_lines=6)
    with Printer(_url(sim), PROFILE) as printer:
        [failed] = queue.run(printer)
        assert failed.id == job_id and failed.state is JobState.FAILED
        assert failed.last_problem == "paper_out"
        assert sim.faults.paper is PaperState.OUT

        # Still no paper: the job stays failed, nothing is sent.
        [still] = queue.run(printer)
        assert still.state is JobState.FAILED and still.failures == 2

        sim.load_paper()
        [done] = queue.run(printer)
        assert done.state is JobState.DONE and done.reprinted
        assert queue.run(printer) == []  # printed once, never again

    partial, reprint = sim.wait_for_jobs(2)
    assert not partial.complete and REPRINT_MARK not in partial.text
    assert doc.reference not in partial.text  # the rest of the failed job was dropped
    assert reprint.complete and reprint.text.startswith(REPRINT_MARK)
    assert doc.reference in reprint.text
    assert len(sim.jobs) == 2
    queue.close()


def test_buffered_rest_prints_if_the_driver_did_not_clear_it(sim: PrinterSimulator) -> None:
    """The simulator holds data while out of paper, as a real printer does; the driver's
    buffer clear is what keeps a failed job from finishing unmarked later."""
    with socket.create_connection(("127.0.0.1", sim.tcp_port)) as conn:
        sim.set_faults(paper_out_after_lines=1)
        conn.sendall(b"\x1b@line one\nline two\nline three\n\x1dV\x00")
        time.sleep(0.2)
        sim.load_paper()
        [job] = sim.wait_for_jobs(1)
    assert job.text.split() == ["line", "one", "line", "two", "line", "three"]


def test_interrupted_print_is_reprinted_marked(tmp_path: Path, identity: TerminalIdentity) -> None:
    path = tmp_path / "queue.sqlite"
    queue = PrintQueue(path)
    job_id = queue.submit(_purchase(identity))
    queue._begin(job_id)  # power cut while sending: state stays "printing"
    queue.close()
    reopened = PrintQueue(path)
    job = reopened.job(job_id)
    assert job.state is JobState.FAILED and job.last_problem == "interrupted while printing"
    reopened.close()


def test_usb_printer_that_is_not_there_is_offline() -> None:
    with Printer("usb://1234:5678", PROFILE, timeout=0.3) as printer:
        status = printer.status()
        assert not status.answered and not status.ready
        assert status.problems() == ["no_answer"]
        with pytest.raises(PrintFailed) as err:
            printer.print_document(_doc())
        assert not err.value.sent


def test_job_never_confirmed_printed_fails(tmp_path: Path) -> None:
    """A printer that takes the job and answers status but never confirms GS ( H."""
    deaf = PrinterSimulator(tmp_path, process_id=False, idle_end=0.2)
    deaf.start_tcp()
    try:
        printer = Printer(_url(deaf), PROFILE, timeout=0.2, print_timeout=0.6)
        with printer, pytest.raises(PrintFailed) as err:
            printer.print_document(_doc())
        assert err.value.sent and err.value.status.problems() == ["no_answer"]
        assert "not confirmed" in err.value.status.detail
    finally:
        deaf.stop()


def test_an_unexpected_error_keeps_the_job_due(tmp_path: Path) -> None:
    class Exploding(Printer):
        def print_document(self, document: Document):  # type: ignore[no-untyped-def]
            raise RuntimeError("bug")

    queue = PrintQueue(tmp_path / "q.sqlite")
    job_id = queue.submit(_doc())
    with pytest.raises(RuntimeError):
        queue.run(Exploding("file:///dev/null", PROFILE))
    job = queue.job(job_id)
    assert job.state is JobState.FAILED and job.last_problem == "error: RuntimeError"
    queue.close()
