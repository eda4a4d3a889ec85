"""The identity card reader's frames: known bytes, the decoder on hostile streams."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardlib.idcard import (
    MAX_LENGTH,
    PREAMBLE,
    ChecksumError,
    Command,
    DocumentType,
    FrameDecoder,
    FrameError,
    IdCardProtocolError,
    Request,
    Response,
    Status,
    TextLayoutError,
    decode_basic_info,
    decode_text,
    encode_basic_info,
    encode_text,
)
from simulators.idcard import DEMO_DOCUMENTS


@pytest.mark.parametrize(
    ("frame", "hex_"),
    [
        # The frames printed in readers' manuals: SAM status, find, select, read.
        (Request(Command.SAM_STATUS), "AAAAAA9669000311FFED"),
        (Request(Command.FIND_CARD), "AAAAAA96690003200122"),
        (Request(Command.SELECT_CARD), "AAAAAA96690003200221"),
        (Request(Command.READ_BASIC), "AAAAAA96690003300132"),
        (Response(Status.OK), "AAAAAA96690004000090" + "94"),
        (Response(Status.FIND_OK, bytes(4)), "AAAAAA966900080000" + "9F0000000097"),
        (Response(Status.NO_CARD), "AAAAAA966900040000" + "8084"),
    ],
)
def test_known_frames(frame: Request | Response, hex_: str) -> None:
    assert frame.encode() == bytes.fromhex(hex_)
    dec = FrameDecoder()
    dec.feed(bytes.fromhex(hex_))
    payload = dec.next()
    assert payload is not None
    assert type(frame).parse(payload) == frame


def test_decoder_resynchronizes_after_noise_and_a_bad_frame() -> None:
    good = Response(Status.OK, b"\x01\x02").encode()
    bad = bytearray(good)
    bad[-1] ^= 1
    dec = FrameDecoder()
    dec.feed(b"\x00\xffnoise" + bytes(bad) + good)
    with pytest.raises(ChecksumError):
        dec.next()
    payload = dec.next()
    assert payload is not None and Response.parse(payload).data == b"\x01\x02"
    assert dec.next() is None and dec.pending == 0


def test_a_length_out_of_range_is_refused_at_once() -> None:
    dec = FrameDecoder()
    dec.feed(PREAMBLE + (MAX_LENGTH + 1).to_bytes(2, "big"))
    with pytest.raises(FrameError, match="out of range"):
        dec.next()
    dec.feed(PREAMBLE + b"\x00\x01")
    with pytest.raises(FrameError):
        dec.next()


def test_bytes_arriving_one_by_one_make_the_same_frame() -> None:
    frame = Response(Status.OK, encode_basic_info(DEMO_DOCUMENTS[0])).encode()
    dec = FrameDecoder()
    got = []
    for b in frame:
        dec.feed(bytes([b]))
        p = dec.next()
        if p is not None:
            got.append(p)
    assert len(got) == 1
    assert decode_basic_info(Response.parse(got[0]).data) == DEMO_DOCUMENTS[0]


@pytest.mark.parametrize("doc", DEMO_DOCUMENTS, ids=lambda d: d.number)
def test_every_demo_document_round_trips(doc: object) -> None:
    text = encode_text(doc)  # type: ignore[arg-type]
    assert len(text) == 256
    assert decode_text(text, doc.photo) == doc  # type: ignore[attr-defined]


def test_card_type_sits_at_byte_248_of_every_layout() -> None:
    seen = set()
    for doc in DEMO_DOCUMENTS:
        seen.add(doc.document_type)
        char = encode_text(doc)[248:250].decode("utf-16-le")
        assert (
            char
            == {"resident": " ", "foreigner": "I", "foreigner_18": "Y", "hmt": "J"}[
                doc.document_type
            ]
        )
    assert seen == set(DocumentType)


def test_text_refusals() -> None:
    good = encode_text(DEMO_DOCUMENTS[0])
    with pytest.raises(TextLayoutError, match="bytes"):
        decode_text(good[:-2])
    with pytest.raises(TextLayoutError, match="card type"):
        decode_text(good[:248] + "Q".encode("utf-16-le") + good[250:])
    with pytest.raises(TextLayoutError, match="UCS-2"):
        decode_text(good[:10] + b"\x00\xd8" + good[12:])  # a lone surrogate
    with pytest.raises(TextLayoutError, match="control"):
        decode_text(b"\x07\x00" + good[2:])
    with pytest.raises(TextLayoutError, match="lengths"):
        decode_basic_info(b"\x01\x00\x00\x10" + good)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=64), st.just(PREAMBLE),
                          st.binary(min_size=2, max_size=2)), max_size=40))  # fmt: skip
def test_hostile_streams_raise_only_frame_errors_and_stay_bounded(chunks: list[bytes]) -> None:
    dec = FrameDecoder()
    for chunk in chunks:
        dec.feed(chunk)
        for _ in range(len(chunk) + 2):
            try:
                payload = dec.next()
            except FrameError:
                continue
            if payload is None:
                break
            if len(payload) < 3:
                with pytest.raises(FrameError):
                    Response.parse(payload)
            else:
                Response.parse(payload)
        assert dec.pending <= MAX_LENGTH + len(PREAMBLE) + 2 + 64


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1400))
def test_hostile_basic_info_raises_only_protocol_errors(data: bytes) -> None:
    with contextlib.suppress(IdCardProtocolError):
        decode_basic_info(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.integers(4, 1283))
def test_mutated_real_answers_are_refused_or_read(pos_seed: int, value: int, cut: int) -> None:
    data = encode_basic_info(DEMO_DOCUMENTS[pos_seed % len(DEMO_DOCUMENTS)])
    mutated = bytearray(data)
    mutated[(pos_seed * 7) % len(data)] = value
    for sample in (bytes(mutated), data[:cut]):
        with contextlib.suppress(IdCardProtocolError):
            decode_basic_info(sample)
