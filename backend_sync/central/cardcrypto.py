"""What the central checks on cards, with the only keys it holds (load and TAC).

Per-card keys are diversified once and cached: a busy central meets the same
cards again and again, and diversification costs two block-cipher calls.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from cardlib import crypto
from cardlib.crypto import Algorithm, TransactionType
from cardlib.keys import IssuerKeys, KeyRole

__all__ = ["CardCrypto", "UnknownKey", "bcd"]

_CACHE_LIMIT = 200_000


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
                master = issuer.master(role, ver)
            except (KeyError, ValueError):
                raise UnknownKey(f"no {role} key for algorithm {alg:02X} version {ver}") from None
            key = crypto.diversify(master, bytes.fromhex(asn), issuer.algorithm)
            if role is KeyRole.TAC:
                key = crypto.tac_key(key, issuer.algorithm)
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[ck] = key
        return key

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
    ) -> str:
        """The TAC a genuine card computes for this purchase (hex)."""
        k = self._card_key(self._tac, KeyRole.TAC, asn, algorithm, key_version)
        tac = crypto.purchase_tac(
            k,
            amount,
            TransactionType.PURCHASE,
            bytes.fromhex(terminal_id),
            ttc,
            bcd(date),
            bcd(time),
            Algorithm(algorithm),
        )
        return tac.hex().upper()

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
