"""BER-TLV (ISO/IEC 8825-1 as used by ISO 7816-4): parse and build.

Tags are kept as integers of their encoded bytes (``0x5F20``), lengths in the
short or long definite form; 00 and FF between objects are padding and skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cardlib.errors import ProtocolError

__all__ = ["Tlv", "build", "find", "parse"]


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes

    @property
    def constructed(self) -> bool:
        return bool(_tag_bytes(self.tag)[0] & 0x20)

    def children(self) -> list[Tlv]:
        if not self.constructed:
            raise ProtocolError(f"tag {self.tag:X} is primitive")
        return parse(self.value)

    def to_bytes(self) -> bytes:
        return _tag_bytes(self.tag) + _length_bytes(len(self.value)) + self.value


def _tag_bytes(tag: int) -> bytes:
    if tag < 0:
        raise ProtocolError("negative tag")
    n = max(1, (tag.bit_length() + 7) // 8)
    raw = tag.to_bytes(n, "big")
    # Refuse numbers whose bytes would parse back as something else: padding, or a
    # tag whose "subsequent byte" bits (1F in the first, b8 in the others) disagree
    # with its length.
    announces_more = raw[0] & 0x1F == 0x1F
    if (
        raw[0] in (0x00, 0xFF)
        or announces_more != (n > 1)
        or any(not b & 0x80 for b in raw[1:-1])
        or (n > 1 and raw[-1] & 0x80)
    ):
        raise ProtocolError(f"{tag:X} is not a BER-TLV tag number")
    return raw


def _length_bytes(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if len(body) > 4:
        raise ProtocolError("TLV value too long")
    return bytes([0x80 | len(body)]) + body


def _iter(data: bytes) -> Iterator[Tlv]:
    i, n = 0, len(data)
    while i < n:
        if data[i] in (0x00, 0xFF):
            i += 1
            continue
        start = i
        first = data[i]
        i += 1
        if first & 0x1F == 0x1F:
            while True:
                if i >= n:
                    raise ProtocolError(f"truncated tag at offset {start}")
                b = data[i]
                i += 1
                if not b & 0x80:
                    break
        tag = int.from_bytes(data[start:i], "big")
        if i >= n:
            raise ProtocolError(f"missing length for tag {tag:X}")
        lb = data[i]
        i += 1
        if lb == 0x80:
            raise ProtocolError("indefinite length is not allowed")
        if lb & 0x80:
            k = lb & 0x7F
            if k > 4 or i + k > n:
                raise ProtocolError(f"bad long-form length for tag {tag:X}")
            length = int.from_bytes(data[i : i + k], "big")
            i += k
        else:
            length = lb
        if i + length > n:
            raise ProtocolError(f"value of tag {tag:X} runs past the end ({length} bytes)")
        yield Tlv(tag, data[i : i + length])
        i += length


def parse(data: bytes) -> list[Tlv]:
    """All top-level data objects in ``data``."""
    return list(_iter(data))


def build(items: Iterable[Tlv | tuple[int, bytes]]) -> bytes:
    """Concatenate data objects."""
    out = bytearray()
    for item in items:
        tlv = item if isinstance(item, Tlv) else Tlv(*item)
        out += tlv.to_bytes()
    return bytes(out)


def find(data: bytes | list[Tlv], tag: int) -> bytes | None:
    """The value of the first object with ``tag``, searching constructed objects too."""
    items = parse(data) if isinstance(data, bytes) else data
    for item in items:
        if item.tag == tag:
            return item.value
        if item.constructed:
            found = find(item.children(), tag)
            if found is not None:
                return found
    return None
