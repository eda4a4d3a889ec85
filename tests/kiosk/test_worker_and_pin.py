"""The worker (order, cancel, progress, errors as results) and the PIN buffer."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kiosk.core.pinpad import PinBuffer
from kiosk.core.worker import Cancelled, Job, JobContext, Worker


def test_jobs_run_in_order_off_the_callers_thread_with_progress() -> None:
    w = Worker()
    caller = threading.get_ident()
    done: list[tuple[str, Any, BaseException | None]] = []
    steps: list[tuple[str, float | None]] = []

    def job(name: str) -> Any:
        def run(ctx: JobContext) -> int:
            assert threading.get_ident() != caller
            ctx.progress(name, 0.5)
            return len(name)

        return run

    def on_done(j: Job, result: Any, error: BaseException | None) -> None:
        done.append((j.name, result, error))

    for name in ("a", "bb", "ccc"):
        w.submit(name, job(name), on_done, lambda s, f: steps.append((s, f)))
    assert w.wait_idle(5)
    assert done == [("a", 1, None), ("bb", 2, None), ("ccc", 3, None)]
    assert steps == [("a", 0.5), ("bb", 0.5), ("ccc", 0.5)]
    w.stop()


def test_cancel_and_errors_come_back_as_results() -> None:
    w = Worker()
    gate = threading.Event()
    out: dict[str, BaseException | None] = {}

    def slow(ctx: JobContext) -> None:
        gate.wait(5)
        ctx.check()

    def boom(_ctx: JobContext) -> None:
        raise ValueError("card said no")

    def record(j: Job, _r: Any, e: BaseException | None) -> None:
        out[j.name] = e

    first = w.submit("slow", slow, record, lambda *_: None)
    w.submit("boom", boom, record, lambda *_: None)
    first.cancel()
    gate.set()
    assert w.wait_idle(5)
    assert isinstance(out["slow"], Cancelled) and isinstance(out["boom"], ValueError)
    w.stop()


def test_pin_buffer_holds_six_digits_and_wipes() -> None:
    b = PinBuffer(6)
    for d in (1, 2, 3, 4, 5, 6):
        assert b.add(d)
    assert not b.add(7) and b.complete and len(b) == 6
    b.delete()
    assert len(b) == 5 and not b.complete
    b.add(9)
    other = PinBuffer(6)
    for d in (1, 2, 3, 4, 5, 9):
        other.add(d)
    assert b.same_as(other)
    assert b.take() == "123459"
    assert len(b) == 0 and bytes(b._digits) == bytes(6)  # wiped, not just forgotten
    with pytest.raises(ValueError):
        b.add(10)
