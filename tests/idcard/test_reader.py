"""The driver against the simulator on a real pty (pyserial), and against bad readers."""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Iterator

import pytest

from cardlib.idcard import PREAMBLE, Command, Response, Status
from drivers.idcard import (
    IdCardReader,
    NoIdCardError,
    ReaderProtocolError,
    ReaderStatusError,
    ReaderTimeout,
    ReaderUnreachable,
)
from simulators.idcard import DEMO_DOCUMENTS, IdCardSimulator, demo_document


@pytest.fixture
def sim() -> Iterator[IdCardSimulator]:
    with IdCardSimulator() as s:
        s.start_pty()
        yield s


@pytest.fixture
def reader(sim: IdCardSimulator) -> Iterator[IdCardReader]:
    assert sim.pty_path
    with IdCardReader.open(f"serial://{sim.pty_path}?baudrate=115200", timeout=0.5) as r:
        yield r


def test_reads_every_demo_document(sim: IdCardSimulator, reader: IdCardReader) -> None:
    reader.sam_status()
    assert len(reader.sam_id()) == 16
    for doc in DEMO_DOCUMENTS:
        sim.place(doc)
        got = reader.read_card()
        assert got == doc and len(got.photo) == 1024
    assert sim.requests[-3:] == [Command.FIND_CARD, Command.SELECT_CARD, Command.READ_BASIC]
    assert demo_document("赵䶮").name == "赵䶮"


def test_no_card_then_a_card(sim: IdCardSimulator, reader: IdCardReader) -> None:
    with pytest.raises(NoIdCardError) as info:
        reader.read_card()
    assert info.value.status == Status.NO_CARD
    sim.place(demo_document("1"))
    assert reader.read_card().number == "320582198503142717"
    sim.take()
    with pytest.raises(NoIdCardError):
        reader.read_card()


def test_the_simulator_refuses_bad_requests(sim: IdCardSimulator) -> None:
    sim.place(demo_document("2"))
    # READ without FIND/SELECT: the card's anti-collision was not done.
    assert sim.answer(bytes.fromhex("3001")).status == Status.READ_FAILED
    assert sim.answer(bytes.fromhex("2002")).status == Status.SELECT_FAILED
    assert sim.answer(bytes.fromhex("7777")).status == Status.COMMAND
    assert sim.answer(bytes.fromhex("200100")).status == Status.LENGTH
    assert sim.answer(b"\x20").status == Status.LENGTH


def test_a_bad_check_on_the_line_is_answered_10(sim: IdCardSimulator) -> None:
    assert sim.pty_path
    fd = os.open(sim.pty_path, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        os.write(fd, bytes.fromhex("AAAAAA9669000311FFEE"))  # check should be ED
        answer = _read_frame(fd)
        assert Response.parse(answer).status == Status.CHECKSUM
    finally:
        os.close(fd)


def _read_frame(fd: int) -> bytes:
    buf = b""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        buf += os.read(fd, 64)
        if len(buf) >= 7 and len(buf) >= 7 + int.from_bytes(buf[5:7], "big"):
            return buf[7:-1]
    raise AssertionError(f"no frame: {buf.hex()}")


def test_one_corrupted_answer_is_asked_again(sim: IdCardSimulator, reader: IdCardReader) -> None:
    sim.place(demo_document("3"))
    sim.corrupt_answers = 1
    assert reader.read_card().name == "王秀英"
    sim.corrupt_answers = 2
    with pytest.raises(ReaderProtocolError, match="checksum"):
        reader.read_card()


def test_a_silent_reader_times_out(sim: IdCardSimulator, reader: IdCardReader) -> None:
    sim.mute = True
    t0 = time.monotonic()
    with pytest.raises(ReaderTimeout):
        reader.sam_status()
    assert time.monotonic() - t0 < 3


def test_a_babbling_reader_times_out_and_never_grows() -> None:
    """A line that sends noise and preambles without end: a timeout, not a hang."""
    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def babble() -> None:
        while not stop.is_set():
            try:
                os.write(master, b"\x13\x37" * 100 + PREAMBLE + b"\x0f")
            except OSError:
                return
            time.sleep(0.001)

    t = threading.Thread(target=babble, daemon=True)
    t.start()
    try:
        with (
            IdCardReader.open(os.ttyname(slave), timeout=0.3) as r,
            pytest.raises((ReaderTimeout, ReaderProtocolError)),
        ):
            r.sam_status()
    finally:
        stop.set()
        t.join(1)
        os.close(master)
        os.close(slave)


def test_status_errors_name_the_command(sim: IdCardSimulator, reader: IdCardReader) -> None:
    err = ReaderStatusError(Status.SAM_SELF_TEST, Command.SAM_STATUS)
    assert "SAM_STATUS" in str(err) and "60" in str(err)
    assert "unknown" in str(ReaderStatusError(0x77, Command.FIND_CARD))


def test_an_absent_device_is_unreachable() -> None:
    with pytest.raises(ReaderUnreachable):
        IdCardReader.open("serial:///nonexistent/ttyX")
    with pytest.raises(ReaderUnreachable, match="scheme"):
        IdCardReader.open("tcp://127.0.0.1:1")
