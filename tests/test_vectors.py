"""Known-answer vectors: every tests/vectors/*.json file checked against cardlib.crypto.

The vectors are produced outside cardlib (scripts/make_vectors.py, published
standards, other implementations); tests/vectors/README.md documents the format.
Files are collected by name, so a vector dropped into the folder runs without any
change here. Every output field a vector carries is checked; an unknown field is an
error rather than silently ignored, so a typo cannot turn a check off.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cardlib import crypto
from cardlib.crypto import Algorithm

VECTOR_DIR = Path(__file__).parent / "vectors"
VECTOR_FILES = sorted(VECTOR_DIR.glob("*.json"))
FORMAT = "civicard-epurse-vector/1"
ALGORITHMS = {"3DES": Algorithm.TDES, "SM4": Algorithm.SM4}
UPPER_HEX = re.compile(r"^(?:[0-9A-F]{2})*$")

Json = dict[str, Any]


class Inputs:
    """Typed access to a vector's inputs that records which fields were read."""

    def __init__(self, raw: Json) -> None:
        self.raw = raw
        self.used: set[str] = set()

    def has(self, name: str) -> bool:
        return name in self.raw

    def octets(self, name: str, size: int | None = None) -> bytes:
        value = self.raw[name]
        self.used.add(name)
        assert isinstance(value, str) and UPPER_HEX.match(value), (
            f"input {name}: {value!r} is not upper-case hex"
        )
        data = bytes.fromhex(value)
        if size is not None:
            assert len(data) == size, f"input {name} is {len(data)} bytes, expected {size}"
        return data

    def integer(self, name: str) -> int:
        value = self.raw[name]
        self.used.add(name)
        assert isinstance(value, int) and not isinstance(value, bool), (
            f"input {name}: {value!r} is not a JSON integer"
        )
        return value

    def byte(self, name: str) -> int:
        return self.octets(name, 1)[0]

    def card_key(self, card_name: str, master_name: str, alg: Algorithm) -> bytes:
        """The card key given directly, or diversified from the master key and ASN."""
        if self.has(card_name):
            return self.octets(card_name, 16)
        asn = self.octets("asn", 10)
        factors = (self.octets("issuer_id", 8), asn) if self.has("issuer_id") else (asn,)
        return crypto.diversify_path(self.octets(master_name, 16), factors, alg)


def _purchase(alg: Algorithm, inp: Inputs) -> dict[str, Callable[[], bytes]]:
    dpk = inp.card_key("purchase_card_key", "purchase_master_key", alg)
    dtk = inp.card_key("tac_card_key", "tac_master_key", alg)
    sk = crypto.purchase_session_key(
        dpk, inp.octets("card_random", 4), inp.integer("offline_atc"), inp.integer("ttc"), alg
    )
    tk = crypto.tac_key(dtk, alg)
    amount, ttype = inp.integer("amount"), inp.byte("transaction_type")
    term, date, time = inp.octets("terminal_id", 6), inp.octets("date", 4), inp.octets("time", 3)
    ttc = inp.integer("ttc")
    return {
        "purchase_card_key": lambda: dpk,
        "tac_card_key": lambda: dtk,
        "session_key": lambda: sk,
        "tac_key": lambda: tk,
        "mac1": lambda: crypto.purchase_mac1(sk, amount, ttype, term, date, time, alg),
        "mac2": lambda: crypto.purchase_mac2(sk, amount, alg),
        "tac": lambda: crypto.purchase_tac(tk, amount, ttype, term, ttc, date, time, alg),
    }


def _load(alg: Algorithm, inp: Inputs) -> dict[str, Callable[[], bytes]]:
    dlk = inp.card_key("load_card_key", "load_master_key", alg)
    atc = inp.integer("online_atc")
    sk = crypto.load_session_key(dlk, inp.octets("card_random", 4), atc, alg)
    # A published example may give no TAC key: then only MAC1/MAC2 can be checked.
    has_tac = inp.has("tac_card_key") or inp.has("tac_master_key")
    dtk = inp.card_key("tac_card_key", "tac_master_key", alg) if has_tac else b""
    tk = crypto.tac_key(dtk, alg) if has_tac else b""
    amount, ttype = inp.integer("amount"), inp.byte("transaction_type")
    term, date, time = inp.octets("terminal_id", 6), inp.octets("date", 4), inp.octets("time", 3)
    old, new = inp.integer("old_balance"), inp.integer("new_balance")
    return {
        "load_card_key": lambda: dlk,
        "tac_card_key": lambda: dtk,
        "session_key": lambda: sk,
        "tac_key": lambda: tk,
        "mac1": lambda: crypto.load_mac1(sk, old, amount, ttype, term, alg),
        "mac2": lambda: crypto.load_mac2(sk, amount, ttype, term, date, time, alg),
        "tac": lambda: crypto.load_tac(tk, new, atc, amount, ttype, term, date, time, alg),
    }


def _sm_mac(alg: Algorithm, inp: Inputs) -> dict[str, Callable[[], bytes]]:
    damk = inp.card_key("maintenance_card_key", "maintenance_master_key", alg)
    challenge, data = inp.octets("challenge"), inp.octets("data")
    return {
        "maintenance_card_key": lambda: damk,
        "mac": lambda: crypto.sm_mac(damk, data, challenge, alg),
    }


def _block_cipher(alg: Algorithm, inp: Inputs) -> dict[str, Callable[[], bytes]]:
    key, plain = inp.octets("key"), inp.octets("plaintext")

    def ciphertext() -> bytes:
        # cardlib's one block-cipher path, the one diversification and session keys use.
        out = crypto._ecb(alg, key, plain)
        half = len(plain) // 2
        if alg is Algorithm.SM4 and plain[half:] == bytes(b ^ 0xFF for b in plain[:half]):
            # X || NOT X is exactly SM4 diversification of ASN8 = X: the public API
            # must give the same answer.
            assert crypto.diversify(key, plain[:half], alg) == out
        return out

    return {"ciphertext": ciphertext}


KINDS: dict[str, Callable[[Algorithm, Inputs], dict[str, Callable[[], bytes]]]] = {
    "purchase": _purchase,
    "load": _load,
    "sm_mac": _sm_mac,
    "block_cipher": _block_cipher,
}
# Inputs that document a vector without feeding a computation.
_INFORMATIONAL_INPUTS = {"asn"}


def _vectors_in(path: Path) -> list[Json]:
    """A file holds one vector object or a JSON array of them."""
    loaded = json.loads(path.read_text(encoding="utf-8"))
    vectors = loaded if isinstance(loaded, list) else [loaded]
    assert vectors, f"{path.name} holds no vector"
    assert all(isinstance(v, dict) for v in vectors), f"{path.name}: vectors are objects"
    return vectors


def check_vector(vector: Json) -> None:
    """Recompute every output of one vector with cardlib.crypto and compare."""
    name = vector.get("name", "?")
    assert vector.get("format") == FORMAT, f"{name}: format must be {FORMAT!r}"
    source = vector.get("source")
    assert isinstance(source, str) and source.strip(), f"{name}: mandatory 'source' missing"
    assert vector.get("algorithm") in ALGORITHMS, f"{name}: algorithm must be 3DES or SM4"
    assert vector.get("kind") in KINDS, f"{name}: kind must be one of {sorted(KINDS)}"
    known_top = {"format", "name", "description", "algorithm", "kind", "source"}
    extra = set(vector) - known_top - {"inputs", "outputs"}
    assert not extra, f"{name}: unknown fields {sorted(extra)}"
    alg = ALGORITHMS[vector["algorithm"]]
    inputs = Inputs(vector["inputs"])
    outputs: Json = vector["outputs"]
    assert outputs, f"{name}: no outputs to check"

    computed = KINDS[vector["kind"]](alg, inputs)
    unknown = set(outputs) - set(computed)
    assert not unknown, f"{name}: unknown output fields {sorted(unknown)}"
    mismatches = []
    for field, expected in outputs.items():
        assert isinstance(expected, str) and UPPER_HEX.match(expected), (
            f"{name}: output {field}: {expected!r} is not upper-case hex"
        )
        got = computed[field]().hex().upper()
        if got != expected:
            mismatches.append(f"{field}: cardlib {got} != vector {expected}")
    assert not mismatches, f"{name}: " + "; ".join(mismatches)
    unused = set(inputs.raw) - inputs.used - _INFORMATIONAL_INPUTS
    assert not unused, f"{name}: inputs never used {sorted(unused)}"


def test_vector_folder_is_not_empty() -> None:
    # An empty folder would make the parametrized test below collect nothing.
    assert VECTOR_FILES, f"no known-answer vectors in {VECTOR_DIR}"


def test_vectors_cover_both_algorithms_and_every_kind() -> None:
    present = {(v["algorithm"], v["kind"]) for p in VECTOR_FILES for v in _vectors_in(p)}
    required = {(a, k) for a in ALGORITHMS for k in ("purchase", "load", "sm_mac")}
    required.add(("SM4", "block_cipher"))  # the GB/T 32907 reference
    assert required <= present, f"missing vectors for {sorted(required - present)}"


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.name)
def test_vector_file(path: Path) -> None:
    for vector in _vectors_in(path):
        check_vector(vector)


def test_a_wrong_output_is_caught() -> None:
    # The checker itself must be able to fail: flip one MAC bit of a real vector.
    vector = next(v for p in VECTOR_FILES for v in _vectors_in(p) if v["kind"] == "purchase")
    broken = json.loads(json.dumps(vector))
    mac1 = bytes.fromhex(broken["outputs"]["mac1"])
    broken["outputs"]["mac1"] = bytes([mac1[0] ^ 1]).hex().upper() + mac1[1:].hex().upper()
    with pytest.raises(AssertionError, match="mac1"):
        check_vector(broken)
