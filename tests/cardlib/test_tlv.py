"""cardlib.tlv: BER-TLV as ISO 7816-4 uses it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardlib import tlv
from cardlib.errors import ProtocolError
from cardlib.layout import CARD_AID
from cardlib.tlv import Tlv

H = bytes.fromhex


def test_parse_single_primitive() -> None:
    assert tlv.parse(H("5A021234")) == [Tlv(0x5A, H("1234"))]
    assert tlv.parse(H("8400")) == [Tlv(0x84, b"")]
    assert tlv.parse(b"") == []


def test_build_exact_bytes_from_tuples_and_objects() -> None:
    assert tlv.build([(0x5A, H("1234")), Tlv(0x84, b"")]) == H("5A0212348400")
    assert Tlv(0x9F0C, H("01")).to_bytes() == H("9F0C0101")


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("5F2003414243", 0x5F20),  # two-byte tag, application class
        ("9F0C03414243", 0x9F0C),  # two-byte tag, context class
        ("DF0103414243", 0xDF01),  # private class
        ("9F810103414243", 0x9F8101),  # three-byte tag: 81 has the "more" bit
        ("DF82800103414243", 0xDF828001),  # four-byte tag
    ],
)
def test_multi_byte_tags(raw: str, tag: int) -> None:
    (item,) = tlv.parse(H(raw))
    assert (item.tag, item.value) == (tag, b"ABC")
    assert item.to_bytes() == H(raw)


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, "00"),
        (0x7F, "7F"),
        (0x80, "8180"),
        (0xFF, "81FF"),
        (0x100, "820100"),
        (0xFFFF, "82FFFF"),
        (0x10000, "83010000"),
    ],
)
def test_long_form_lengths(length: int, encoded: str) -> None:
    value = bytes(i & 0xFF for i in range(length))
    raw = Tlv(0x53, value).to_bytes()
    assert raw[: 1 + len(H(encoded))] == H("53" + encoded)
    assert tlv.parse(raw) == [Tlv(0x53, value)]


def test_long_form_is_accepted_for_short_lengths() -> None:
    # BER (unlike DER) allows a long form where the short one would do; cards send it.
    assert tlv.parse(H("5A8103010203")) == [Tlv(0x5A, H("010203"))]
    assert tlv.parse(H("5A820003010203")) == [Tlv(0x5A, H("010203"))]


def test_nested_templates() -> None:
    public = bytes(range(30))
    inner = tlv.build([(0x9F0C, public)])
    fci = tlv.build([(0x6F, tlv.build([(0x84, CARD_AID), (0xA5, inner)]))])
    assert fci == H("6F2F840A" + CARD_AID.hex() + "A5219F0C1E" + public.hex())
    (top,) = tlv.parse(fci)
    assert top.constructed and top.tag == 0x6F
    aid, prop = top.children()
    assert aid == Tlv(0x84, CARD_AID) and not aid.constructed
    assert prop.constructed and prop.children() == [Tlv(0x9F0C, public)]
    assert tlv.find(fci, 0x9F0C) == public
    assert tlv.find(fci, 0x84) == CARD_AID
    assert tlv.find(tlv.parse(fci), 0xA5) == inner
    assert tlv.find(fci, 0x5F20) is None


def test_constructed_bit_of_multi_byte_tags() -> None:
    assert Tlv(0xBF10, b"").constructed
    assert Tlv(0x7F49, b"").constructed
    assert not Tlv(0x5F20, b"").constructed
    assert not Tlv(0x9F0C, b"").constructed


def test_children_of_a_primitive_is_an_error() -> None:
    with pytest.raises(ProtocolError):
        Tlv(0x5A, H("6F00")).children()


def test_padding_00_and_ff_is_skipped_before_between_and_after() -> None:
    raw = H("00FF" + "5A0101" + "0000FF" + "8402AABB" + "FFFF00")
    assert tlv.parse(raw) == [Tlv(0x5A, H("01")), Tlv(0x84, H("AABB"))]
    assert tlv.parse(H("00000000FFFF")) == []
    # Padding inside a template too (the holder file is a template padded with 00).
    assert tlv.find(H("BF10060000DF010101"), 0xDF01) == H("01")


@pytest.mark.parametrize(
    "raw",
    [
        "5A",  # tag, no length
        "5A05010203",  # value shorter than its length
        "5F",  # first byte announces more tag bytes, none follow
        "9F81",  # the second tag byte announces a third
        "5A81",  # long form, its length byte missing
        "5A820001",  # long form, one of two length bytes
        "5A8180" + "00" * 10,  # long form runs past the end
        "5A85000000000101",  # five length bytes: more than this library accepts
        "6F805A01010000",  # indefinite length
        "5A0101" + "84",  # valid object, then a truncated one
    ],
)
def test_truncated_and_indefinite_raise_protocol_error(raw: str) -> None:
    with pytest.raises(ProtocolError):
        tlv.parse(H(raw))


def test_truncated_child_surfaces_when_the_template_is_opened() -> None:
    (template,) = tlv.parse(H("6F035A0501"))
    with pytest.raises(ProtocolError):
        template.children()
    with pytest.raises(ProtocolError):
        tlv.find(H("6F035A0501"), 0x5A)


@pytest.mark.parametrize(
    "tag",
    [
        0x00,  # would read as padding
        0xFF,  # would read as padding
        0x5F,  # single byte announcing a second one
        0x9F,
        0x1234,  # two bytes, but the first does not announce a second
        0x9F8F,  # last byte still has the "more" bit
        0x9F0180,  # a middle byte without the "more" bit
        -1,
    ],
)
def test_building_a_malformed_tag_number_is_refused(tag: int) -> None:
    # Silently encoding these would give bytes that parse as other objects.
    with pytest.raises(ProtocolError):
        Tlv(tag, b"\x01").to_bytes()


# -- hypothesis: any tree of data objects survives build -> parse --------------------


@st.composite
def tags(draw: st.DrawFn, constructed: bool) -> int:
    """Well-formed tag numbers of one to four bytes, any class."""
    first = draw(st.sampled_from([0x00, 0x40, 0x80, 0xC0])) | (0x20 if constructed else 0)
    if first | 0x1F == 0xFF or draw(st.booleans()):
        # One byte (a multi-byte private constructed tag would start with FF: padding).
        return first | draw(st.integers(0x01, 0x1E))
    middle = draw(st.lists(st.integers(0x81, 0xFF), max_size=2))
    return int.from_bytes(bytes([first | 0x1F, *middle, draw(st.integers(0x00, 0x7F))]), "big")


@dataclass(frozen=True)
class Node:
    tag: int
    value: bytes
    children: tuple[Node, ...] | None

    def encode(self) -> bytes:
        return Tlv(self.tag, self.value).to_bytes()


leaves = st.builds(
    lambda tag, value: Node(tag, value, None),
    tags(constructed=False),
    st.one_of(st.binary(max_size=8), st.binary(min_size=120, max_size=300)),
)


def _template(tag: int, children: list[Node]) -> Node:
    return Node(tag, b"".join(c.encode() for c in children), tuple(children))


trees = st.recursive(
    leaves,
    lambda kids: st.builds(_template, tags(constructed=True), st.lists(kids, max_size=4)),
    max_leaves=12,
)


def _check(parsed: list[Tlv], nodes: list[Node]) -> None:
    assert [(p.tag, p.value) for p in parsed] == [(n.tag, n.value) for n in nodes]
    for p, n in zip(parsed, nodes, strict=True):
        assert p.constructed is (n.children is not None)
        if n.children is not None:
            _check(p.children(), list(n.children))


@given(st.lists(trees, max_size=5), st.lists(st.sampled_from([b"\x00", b"\xff"]), max_size=3))
def test_round_trip_of_any_tree(nodes: list[Node], padding: list[bytes]) -> None:
    raw = tlv.build(Tlv(n.tag, n.value) for n in nodes)
    _check(tlv.parse(raw), nodes)
    # Padding between objects changes nothing.
    pad = b"".join(padding)
    _check(tlv.parse(pad + pad.join(n.encode() for n in nodes) + pad), nodes)


@given(st.binary(max_size=64))
def test_parse_of_arbitrary_bytes_returns_objects_or_raises_protocol_error(raw: bytes) -> None:
    # No other exception escapes (no IndexError on a truncated buffer, no ValueError).
    try:
        items = tlv.parse(raw)
    except ProtocolError:
        return
    rebuilt = tlv.build(items)
    # Canonical re-encoding drops padding and long forms, never adds anything.
    assert len(rebuilt) <= len(raw)
    assert tlv.parse(rebuilt) == items
