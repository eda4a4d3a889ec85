"""The canonical encoding and the central's fast TAC equal their reference forms."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from backend_sync import chain
from backend_sync.central.cardcrypto import CardCrypto
from cardlib import crypto
from cardlib.crypto import Algorithm, TransactionType
from cardlib.keys import IssuerKeys, KeyRole

_values = st.recursive(
    st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(), st.booleans()),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), _values, max_size=8))
def test_canonical_is_sorted_compact_utf8_json(doc: dict[str, object]) -> None:
    try:
        want = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:  # lone surrogates are not text; orjson refuses them too
        return
    assert chain.canonical(doc) == want


_KEYS = {alg: IssuerKeys.generate(alg) for alg in Algorithm}
# One verifier for all examples: its cached per-key contexts are reused across
# MACs (the chaining trick in cardcrypto._mac), as at a busy central.
_CC = {alg: CardCrypto.of(k.subset(KeyRole.LOAD, KeyRole.TAC)) for alg, k in _KEYS.items()}


@given(
    alg=st.sampled_from(list(Algorithm)),
    asn=st.sampled_from([bytes(10), bytes(range(10)), b"\xff" * 10]),
    amount=st.integers(0, 2**32 - 1),
    tid=st.binary(min_size=6, max_size=6),
    ttc=st.integers(0, 2**32 - 1),
    date=st.binary(min_size=4, max_size=4),
    time=st.binary(min_size=3, max_size=3),
)
def test_fast_purchase_tac_equals_cardlib(
    alg: Algorithm, asn: bytes, amount: int, tid: bytes, ttc: int, date: bytes, time: bytes
) -> None:
    keys = _KEYS[alg]
    cc = _CC[alg]
    dtk = crypto.diversify(keys.master(KeyRole.TAC, 1), asn, alg)
    want = crypto.purchase_tac(
        crypto.tac_key(dtk, alg), amount, TransactionType.PURCHASE, tid, ttc, date, time, alg
    )
    got = cc.purchase_tac(
        asn=asn.hex().upper(), algorithm=int(alg), key_version=1, amount=amount,
        terminal_id=tid.hex().upper(), ttc=ttc, date=date.hex(), time=time.hex(),
    )  # fmt: skip
    assert got == want.hex().upper()
    data = amount.to_bytes(4, "big") + b"\x06" + tid + ttc.to_bytes(4, "big") + date + time
    batch = cc.purchase_tacs([(asn.hex().upper(), int(alg), 1, data)] * 2)
    assert batch == [want.hex().upper()] * 2
    assert cc.purchase_tacs([(asn.hex().upper(), int(alg), 9, data)]) == [None]  # no such key


# Key trees of both algorithms, one and two levels, two key versions.
_TREES = [
    IssuerKeys.generate(alg, (1, 2), issuer_id=iid)
    for alg in Algorithm
    for iid in (None, bytes.fromhex("3215000000000001"))
]
_TREE_CC = [CardCrypto.of(k.subset(KeyRole.LOAD, KeyRole.TAC)) for k in _TREES]


@given(
    tree=st.integers(0, len(_TREES) - 1),
    asn=st.binary(min_size=10, max_size=10),
    ver=st.sampled_from([1, 2]),
    atc=st.integers(0, 0xFFFF),
)
def test_a_card_new_to_the_central_gets_the_reference_card_keys(
    tree: int, asn: bytes, ver: int, atc: int
) -> None:
    """The central's diversification (one ECB call on a kept encryptor) equals
    cardlib's key tree for cards it has never seen, TAC and load keys alike."""
    keys, cc = _TREES[tree], _TREE_CC[tree]
    alg = keys.algorithm
    tid, date, tm = (bytes.fromhex(x) for x in ("320500000001", "20261202", "101500"))
    dtk = crypto.tac_key(keys.card_key(KeyRole.TAC, ver, asn), alg)
    want = crypto.purchase_tac(dtk, 150, TransactionType.PURCHASE, tid, 7, date, tm, alg)
    got = cc.purchase_tac(
        asn=asn.hex().upper(), algorithm=int(alg), key_version=ver, amount=150,
        terminal_id=tid.hex(), ttc=7, date=date.hex(), time=tm.hex(),
    )  # fmt: skip
    assert got == want.hex().upper()
    dlk = keys.card_key(KeyRole.LOAD, ver, asn)
    rnd = bytes(range(4))
    sk = crypto.load_session_key(dlk, rnd, atc, alg)
    mac1 = crypto.load_mac1(sk, 1000, 500, TransactionType.LOAD, tid, alg)
    mac2 = crypto.load_mac2(sk, 500, TransactionType.LOAD, tid, date, tm, alg)
    assert cc.load_macs(
        asn=asn.hex().upper(), algorithm=int(alg), key_version=ver, card_random=rnd.hex(),
        atc=atc, balance_before=1000, amount=500, terminal_id=tid.hex(), date=date.hex(),
        time=tm.hex(),
    ) == (mac1.hex().upper(), mac2.hex().upper())  # fmt: skip
    assert cc.purchase_tacs([(asn.hex().upper(), int(alg), 3, b"\x00" * 22)]) == [None]


def test_a_malformed_asn_has_no_key_and_leaves_the_next_cards_right() -> None:
    """An ASN that is not 8 or 10 bytes (spaces are skipped by bytes.fromhex) is an
    unknown key, and the encryptor shared by every card of that key set is left
    whole: the next card's TAC is still the reference one."""
    keys, cc = _TREES[0], _TREE_CC[0]
    data = bytes(22)
    for bad in ("01 02 03 04 05 06 07", "0102030405060708090A0B", "XYZ", ""):
        assert cc.purchase_tacs([(bad, int(keys.algorithm), 1, data)]) == [None]
    asn = bytes.fromhex("32150000000000000042")
    dtk = crypto.tac_key(keys.card_key(KeyRole.TAC, 1, asn), keys.algorithm)
    want = crypto.mac(dtk, data, keys.algorithm)
    assert cc.purchase_tacs([(asn.hex().upper(), int(keys.algorithm), 1, data)]) == [
        want.hex().upper()
    ]
