"""Inputs that stopped the simulator (issue 15), each run under a time and memory guard.

Each case was found by a fuzz run or by reading the parser; before the printer-like
limits (docs/printing.md, "Limits") each hung, exhausted memory or raised out of
``feed``. The guard is generous: only a hang or a runaway allocation can hit it.
"""

from __future__ import annotations

import pytest

from simulators.printer.interpreter import EscPosInterpreter, Limits
from tests.printer.guard import run_guarded

CUT = b"\x1dV\x00"
MIB = 1024 * 1024


def _qr_store(data: bytes) -> bytes:
    body = b"1P0" + data
    return b"\x1d(k" + len(body).to_bytes(2, "little") + body


def _assert_survives(run_error: str | None, seconds: float, peak: float, *, limit_s: float,
                     limit_mib: float) -> None:  # fmt: skip
    assert run_error is None
    assert seconds < limit_s
    assert peak < limit_mib


def test_220_bytes_of_long_feeds_render_at_once() -> None:
    # ESC 3 255 then ESC d 255 x 72: 4.7 million dots of blank paper, once a full-width
    # image per feed (over 15 s and gigabytes for 220 bytes).
    data = b"\x1b3\xff" + b"\x1bd\xff" * 72 + b"\n"
    assert len(data) == 220
    run = run_guarded(data, timeout=60)
    _assert_survives(run.error, run.seconds, run.peak_mib, limit_s=3, limit_mib=300)
    [job] = run.jobs
    assert any("blank paper" in str(entry) for entry in job["log"])  # type: ignore[union-attr]


def test_megabytes_of_text_without_a_line_feed_stay_bounded() -> None:
    # 10 MB of text, no LF: once 45 s and 7.4 GiB. The line wraps at the paper width as
    # the firmware does; past the job length limit the rest is counted, not drawn.
    run = run_guarded(b"\x1b@" + b"ABCDEFGHIJ" * 1_000_000, timeout=120)
    _assert_survives(run.error, run.seconds, run.peak_mib, limit_s=60, limit_mib=400)
    [job] = run.jobs
    assert str(job["text"]).startswith("ABCDEFGHIJ" * 4 + "ABCDEFGH\n")  # 48 columns
    assert any("job length" in str(entry) for entry in job["log"])  # type: ignore[union-attr]


def test_gs_8_l_declaring_4_gb_is_read_and_discarded() -> None:
    # The parser once buffered everything after the header, waiting for 4 GB.
    header = b"\x1d8L" + (0xFFFFFFFF).to_bytes(4, "little") + b"0p"
    run = run_guarded(b"\x1b@hello\n" + header, zeros=768 * MIB, memory_mib=1024, timeout=120)
    _assert_survives(run.error, run.seconds, run.peak_mib, limit_s=60, limit_mib=300)
    [job] = run.jobs
    assert "hello" in str(job["text"])
    assert any("GS 8 L" in str(entry) for entry in job["log"])  # type: ignore[union-attr]


def test_oversized_qr_store_then_print_is_not_an_exception() -> None:
    # A 65,532-byte QR store and print once raised ValueError (qrcode's DataOverflowError)
    # out of feed. Too long to store: discarded. Stored but over the symbol's capacity
    # (byte mode, level L: 2,953 bytes): not printed. Both logged in the job.
    interp = EscPosInterpreter()
    interp.feed(b"\x1b@before\n" + _qr_store(b"x" * 65_532) + b"\x1d(k\x03\x001Q0")
    interp.feed(_qr_store(b"y" * 3_000) + b"\x1d(k\x03\x001Q0" + b"after\n" + CUT)
    [job] = interp.jobs
    assert job.text == "before\nafter\n" and job.qr_payloads == []
    assert any("QR data of 65532 bytes" in entry for entry in job.log)
    assert any("QR data of 3000 bytes" in entry for entry in job.log)


@pytest.mark.parametrize(
    "data",
    [
        # GS ( L store: a 65535 x 65535 header over 4 bytes of data (frombytes raised)
        b"\x1d(L\x0e\x000p0\x01\x011\xff\xff\xff\xff\x00\x00\x00\x00\x1d(L\x02\x0002",
        # GS v 0 declaring 65535 x 65535 bytes, then the stream ends
        b"\x1dv0\x00\xff\xff\xff\xff" + b"\xaa" * 100_000,
        # ESC * 65535 columns, then a receipt's worth of bytes swallowed as image data
        b"\x1b*!\xff\xff" + b"\x55" * 196_605 + b"\n",
        # GS k function A without its terminating NUL
        b"\x1dk\x04" + b"1" * 20_000,
        # a 4-byte GB18030 lead with no more bytes, at the end of a job
        b"\x1c&\x81\x30",
        # DEL (0x7F) outside Chinese mode: the parser made no progress, forever
        b"\x1b@A\x7fB\n",
    ],
    ids=[
        "gs-L-huge-header",
        "gs-v0-huge",
        "esc-star-wide",
        "gs-k-unterminated",
        "gb-tail",
        "del",
    ],
)
def test_found_inputs_are_bounded(data: bytes) -> None:
    # Arriving in 64-byte reads: a parser that rescans its buffer per read is quadratic.
    run = run_guarded(data, timeout=60, chunk=64)
    _assert_survives(run.error, run.seconds, run.peak_mib, limit_s=5, limit_mib=300)


def test_data_held_while_stopped_is_bounded_by_the_receive_buffer() -> None:
    interp = EscPosInterpreter(limits=Limits(receive_buffer=4096))
    interp.faults.cover_open = True
    line = b"0123456789" * 4 + b"\n"
    interp.feed(b"\x1b@" + line * 400)  # 16 KB while the cover is open
    assert interp.feed(b"\x10\x04\x01") == b"\x1a"  # real-time status still answers
    interp.faults.cover_open = False
    interp.resume()
    job = interp.end_job()
    assert job is not None
    kept = job.text.count("0123456789" * 4)
    assert 4096 - 2 * len(line) < kept * len(line) <= 4096
    assert any("receive buffer" in entry for entry in job.log)


def test_a_half_command_on_one_link_does_not_swallow_another_links_job() -> None:
    interp = EscPosInterpreter()
    interp.feed(b"\x1dv0\x00\x48\x00\x80\x00" + b"\xff" * 100, link="hostile")
    interp.feed(b"\x1b@receipt\n" + CUT, link="kiosk")
    interp.close_link("hostile")
    [job] = interp.jobs
    assert job.text == "receipt\n" and job.complete
    assert interp.feed(b"\x1b@next\n" + CUT, link="kiosk") == b""
    assert interp.jobs[-1].text == "next\n"
    interp.end_job()
    assert any("link closed inside a command" in e for e in interp.jobs[-1].log)


def test_lines_wrap_at_the_paper_width_of_each_model() -> None:
    for dots, columns in ((576, 48), (384, 32)):
        interp = EscPosInterpreter(dots=dots)
        interp.feed(b"\x1b@" + b"0123456789" * 10 + b"\n" + CUT)
        lines = [len(line) for line in interp.jobs[0].text.splitlines()]
        assert lines == [columns] * (100 // columns) + [100 % columns]


def test_a_qr_symbol_wider_than_the_paper_is_not_printed() -> None:
    interp = EscPosInterpreter(dots=384)
    size16 = b"\x1d(k\x03\x001C\x10"  # 16-dot modules: version 5 is 592 dots wide
    interp.feed(size16 + _qr_store(b"x" * 100) + b"\x1d(k\x03\x001Q0" + b"ok\n" + CUT)
    [job] = interp.jobs
    assert job.qr_payloads == [] and job.text == "ok\n"
    assert any("wider than the paper" in entry for entry in job.log)
