"""A bounded fuzz of the ESC/POS interpreter: random streams and mutated real receipts.

Every input must be interpreted without an exception, within a generous time guard
(only a hang or a runaway allocation reaches it: it is not a benchmark), with what
the interpreter holds bounded by its limits. Inputs this found are regression cases
in test_hostile_input.py. ``pytest --slow`` runs a longer campaign.
"""

from __future__ import annotations

import functools
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.printer.printer import Printer
from drivers.printer.profiles import PROFILES
from kiosk.receipts.layouts import key_signer
from kiosk.receipts.samples import sample_documents
from kiosk.receipts.signing import make_test_terminal_identity
from simulators.printer.interpreter import EscPosInterpreter
from simulators.printer.server import MODELS

GUARD_S = 5.0
MODEL_NAMES = sorted(MODELS)

# Command heads worth splicing in: they carry lengths and modes that random bytes
# rarely hit.
HEADS = [
    b"\x1b@", b"\x1b!", b"\x1b3", b"\x1bd", b"\x1bJ", b"\x1b*!", b"\x1b*\x00", b"\x1bt",
    b"\x1d!", b"\x1dV", b"\x1dv0\x00", b"\x1d(L", b"\x1d8L", b"\x1d(k", b"\x1d(H",
    b"\x1dk\x04", b"\x1dkI", b"\x1c&", b"\x1c.", b"\x10\x04", b"\x10\x14\x08", b"\x1d(k\x03\x001Q0",
]  # fmt: skip


@functools.cache
def _receipts() -> dict[tuple[str, str], bytes]:
    """The bytes of real receipts, per (model, kind): what mutations start from."""
    identity = make_test_terminal_identity("KSK-FUZZ", seed=3)
    docs = sample_documents(3, key_signer(identity.private_key), language="zh-Hans")
    return {
        (name, kind): Printer("file:///dev/null", PROFILES[name]).encode(doc)
        for name in MODEL_NAMES
        for kind, doc in docs.items()
    }


def _check(model: str, data: bytes, chunks: list[int]) -> None:
    interp = EscPosInterpreter(**MODELS[model])  # type: ignore[arg-type]
    start = time.monotonic()
    pos = 0
    for size in [*chunks, len(data)]:
        interp.feed(data[pos : pos + size], "fuzz")
        pos += size
    interp.close_link("fuzz")
    interp.end_job()
    assert time.monotonic() - start < GUARD_S, "interpreter took too long: a hang?"
    limits = interp.limits
    assert interp._held_bytes <= limits.receive_buffer
    for job in interp.jobs:
        assert job.image.height <= limits.job_dots + 16
        assert job.image.width == interp.dots + 16


@st.composite
def _mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    model, kind = draw(st.sampled_from(sorted(_receipts())))
    data = bytearray(_receipts()[(model, kind)])
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "head", "delete", "truncate", "repeat"]))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(max_size=64))
        elif op == "head":
            data[at:at] = draw(st.sampled_from(HEADS)) + draw(st.binary(max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif op == "truncate":
            del data[at:]
        elif op == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 64))] * draw(st.integers(2, 20))
    return model, bytes(data)


_random_stream = st.lists(
    st.one_of(st.binary(max_size=256), st.sampled_from(HEADS)), max_size=24
).map(b"".join)
_chunks = st.lists(st.integers(1, 512), max_size=6)
_fuzz = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_fuzz
@given(model=st.sampled_from(MODEL_NAMES), data=_random_stream, chunks=_chunks)
def test_random_streams(model: str, data: bytes, chunks: list[int]) -> None:
    _check(model, data, chunks)


@_fuzz
@given(case=_mutated(), chunks=_chunks)
def test_mutated_receipts(case: tuple[str, bytes], chunks: list[int]) -> None:
    _check(case[0], case[1], chunks)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(model=st.sampled_from(MODEL_NAMES), data=_random_stream, case=_mutated(), chunks=_chunks)
def test_long_campaign(model: str, data: bytes, case: tuple[str, bytes], chunks: list[int]) -> None:
    _check(model, data, chunks)
    _check(case[0], case[1], chunks)
