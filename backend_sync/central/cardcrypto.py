"""What the central checks on cards, with the only keys it holds (load and TAC).

Per-card keys are diversified once and cached: a busy central meets the same
cards again and again. A card not in the cache (most of a city's cards, most of
the time) costs one block-cipher call on an encryptor kept per master key (and
per thread), not the new cipher contexts :func:`cardlib.crypto.diversify`
builds: in both algorithms a card key is ECB(level key, ASN8 || NOT ASN8).

The purchase TAC is the hot path of ingest. It is the CBC-MAC of
:func:`cardlib.crypto.mac`, computed here on a CBC context kept per card key
(and per thread: cipher contexts are not thread-safe), because building a
cipher context costs ten times the three block encryptions of a TAC. A test
holds it equal to ``cardlib.crypto.purchase_tac``.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from cardlib import crypto
from cardlib.crypto import Algorithm, TransactionType
from cardlib.keys import IssuerKeys, KeyRole

__all__ = ["CardCrypto", "UnknownKey", "bcd"]

_CACHE_LIMIT = 200_000
# Method-2 padding by (data length, block): the purchase TAC data is 22 bytes.
_PAD = {(n, b): crypto.pad_m2(bytes(n), b)[n:] for n in range(1, 64) for b in (8, 16)}


class UnknownKey(LookupError):
    """No master key for this algorithm and key version."""


def bcd(digits: str) -> bytes:
    """``"20261128"`` -> 20 26 11 28 (the wire carries BCD as its digits)."""
    return bytes.fromhex(digits)


class CardCrypto:
    """TAC verification and load MAC1/MAC2 for cards of the known issuers."""

    def __init__(self, keys: Mapping[Algorithm, IssuerKeys]) -> None:
        # The PBOC MACs need single and two-key DES, which cryptography warns
        # about on every call; the warning machinery alone costs more than the MAC.
        warnings.filterwarnings("ignore", message=".*TripleDES.*", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*TripleDES.*")
        self._keys = dict(keys)
        self._tac: dict[tuple[str, int, int], bytes] = {}
        self._dlk: dict[tuple[str, int, int], bytes] = {}
        # The key a card's ASN is diversified under, per (role, algorithm, version):
        # the master, or for a two-level tree the issuer's key under it.
        self._level: dict[tuple[KeyRole, int, int], bytes] = {}
        self._local = threading.local()

    @classmethod
    def of(cls, *key_sets: IssuerKeys) -> CardCrypto:
        return cls({k.algorithm: k for k in key_sets})

    def _card_key(
        self, cache: dict[tuple[str, int, int], bytes], role: KeyRole, asn: str, alg: int, ver: int
    ) -> bytes:
        ck = (asn, alg, ver)
        key = cache.get(ck)
        if key is None:
            try:
                issuer = self._keys[Algorithm(alg)]
                # The block checked before it reaches the shared encryptor: a
                # partial block would stay buffered there, and skew every next key.
                block = crypto.diversification_block(bytes.fromhex(asn))
                # Along the issuer's key tree (one level, or issuer id then ASN).
                key = self._ecb(role, issuer, ver).update(block)
            except (KeyError, ValueError):
                raise UnknownKey(f"no {role} key for algorithm {alg:02X} version {ver}") from None
            if role is KeyRole.TAC:
                key = crypto.tac_key(key, issuer.algorithm)
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[ck] = key
        return key

    def _ecb(self, role: KeyRole, issuer: IssuerKeys, ver: int) -> Any:
        """ECB encryptor of the key card ASNs are diversified under, per thread."""
        lk = (role, int(issuer.algorithm), ver)
        cache: dict[tuple[KeyRole, int, int], Any] | None = getattr(self._local, "ecb", None)
        if cache is None:
            cache = self._local.ecb = {}
        enc = cache.get(lk)
        if enc is None:
            level = self._level.get(lk)
            if level is None:
                level = issuer.master(role, ver)
                if len(level) != 16:
                    raise ValueError(f"master keys are 16 bytes, got {len(level)}")
                if issuer.issuer_id is not None:
                    level = crypto.diversify(level, issuer.issuer_id, issuer.algorithm)
                self._level[lk] = level
            cipher: Any = (
                crypto.TripleDES(level) if issuer.algorithm is Algorithm.TDES
                else algorithms.SM4(level)
            )  # fmt: skip
            enc = cache[lk] = Cipher(cipher, modes.ECB()).encryptor()  # noqa: S305 - PBOC's
        return enc

    def _cbc(self, key: bytes, alg: Algorithm) -> list[Any]:
        """[CBC encryptor, its last output block] for a MAC key, cached per thread."""
        cache: dict[bytes, list[Any]] | None = getattr(self._local, "cbc", None)
        if cache is None:
            cache = self._local.cbc = {}
        entry = cache.get(key)
        if entry is None:
            if alg is Algorithm.TDES:
                cipher: Any = crypto.TripleDES(key)  # single DES: an 8-byte key
            else:
                cipher = algorithms.SM4(key)
            iv = bytes(alg.block)
            # A zero IV, and the chain value is then what was last output.
            entry = [Cipher(cipher, modes.CBC(iv)).encryptor(), iv]
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[key] = entry
        return entry

    def _mac(self, key: bytes, data: bytes, alg: Algorithm) -> bytes:
        """cardlib.crypto.mac: method-2 padding, zero IV, CBC, first 4 bytes.

        One long-lived CBC context serves every MAC under a key: the context
        chains from its previous output block C, so the first block goes in as
        P1 XOR C, which the context turns back into E(P1 XOR 0), a fresh zero-IV
        CBC-MAC."""
        block = alg.block
        data = crypto.pad_m2(data, block)
        entry = self._cbc(key, alg)
        enc, last = entry
        first = int.from_bytes(data[:block], "big") ^ int.from_bytes(last, "big")
        out: bytes = enc.update(first.to_bytes(block, "big") + data[block:])
        entry[1] = out[-block:]
        return out[-block : -block + 4]

    def purchase_tacs(self, items: Sequence[tuple[str, int, int, bytes]]) -> list[str | None]:
        """TACs of many purchases at once: (ASN, algorithm, key version, TAC data)
        each; None where no key exists. The per-MAC work of :meth:`_mac`, with the
        per-card context looked up once and no call per block: the ingest hot path."""
        cache: dict[tuple[str, int, int], list[Any]] | None = getattr(self._local, "tac", None)
        if cache is None:
            cache = self._local.tac = {}
        out: list[str | None] = []
        from_bytes, mask = int.from_bytes, _PAD
        for asn, alg, ver, data in items:
            entry = cache.get((asn, alg, ver))
            if entry is None:
                try:
                    key = self._card_key(self._tac, KeyRole.TAC, asn, alg, ver)
                except UnknownKey:
                    out.append(None)
                    continue
                entry = self._cbc(key, Algorithm(alg))
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[(asn, alg, ver)] = entry
            block = 8 if alg == 0 else 16
            padded = data + mask[(len(data), block)]
            enc, last = entry
            first = from_bytes(padded[:block], "big") ^ from_bytes(last, "big")
            res: bytes = enc.update(first.to_bytes(block, "big") + padded[block:])
            entry[1] = res[-block:]
            out.append(res[-block : -block + 4].hex().upper())
        return out

    def tac_mac(self, asn: str, algorithm: int, key_version: int, data: bytes) -> str:
        """MAC with the card's TAC key over ``data`` (hex): the purchase TAC when
        ``data`` is amount || type || terminal id || TTC || date || time."""
        k = self._card_key(self._tac, KeyRole.TAC, asn, algorithm, key_version)
        return self._mac(k, data, Algorithm(algorithm)).hex().upper()

    def purchase_tac(
        self,
        *,
        asn: str,
        algorithm: int,
        key_version: int,
        amount: int,
        terminal_id: str,
        ttc: int,
        date: str,
        time: str,
        ttype: int = 6,
    ) -> str:
        """The TAC a genuine card computes for this purchase (hex): MAC over
        amount || type || terminal id || TTC || date || time (type 06, or 09 for
        the composite purchase)."""
        k = self._card_key(self._tac, KeyRole.TAC, asn, algorithm, key_version)
        tid, when = bytes.fromhex(terminal_id), (bytes.fromhex(date), bytes.fromhex(time))
        data = crypto.purchase_tac_data(amount, ttype, tid, ttc, *when)
        if len(data) != 22:
            raise ValueError("malformed purchase fields")
        return self._mac(k, data, Algorithm(algorithm)).hex().upper()

    def load_tac(
        self,
        *,
        asn: str,
        algorithm: int,
        key_version: int,
        new_balance: int,
        atc: int,
        amount: int,
        terminal_id: str,
        date: str,
        time: str,
    ) -> str:
        """The TAC a genuine card computes after CREDIT FOR LOAD (hex)."""
        k = self._card_key(self._tac, KeyRole.TAC, asn, algorithm, key_version)
        tac = crypto.load_tac(
            k,
            new_balance,
            atc,
            amount,
            TransactionType.LOAD,
            bytes.fromhex(terminal_id),
            bcd(date),
            bcd(time),
            Algorithm(algorithm),
        )
        return tac.hex().upper()

    def load_macs(
        self,
        *,
        asn: str,
        algorithm: int,
        key_version: int,
        card_random: str,
        atc: int,
        balance_before: int,
        amount: int,
        terminal_id: str,
        date: str,
        time: str,
    ) -> tuple[str, str]:
        """(expected MAC1, MAC2) for INITIALIZE / CREDIT FOR LOAD, hex."""
        dlk = self._card_key(self._dlk, KeyRole.LOAD, asn, algorithm, key_version)
        alg = Algorithm(algorithm)
        sk = crypto.load_session_key(dlk, bytes.fromhex(card_random), atc, alg)
        tid = bytes.fromhex(terminal_id)
        mac1 = crypto.load_mac1(sk, balance_before, amount, TransactionType.LOAD, tid, alg)
        mac2 = crypto.load_mac2(sk, amount, TransactionType.LOAD, tid, bcd(date), bcd(time), alg)
        return mac1.hex().upper(), mac2.hex().upper()
