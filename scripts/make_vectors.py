#!/usr/bin/env python3
"""Write the e-purse known-answer vectors in tests/vectors/, independently of cardlib.

This is a second, from-scratch implementation of the rules in DESIGN.md ("The card"):
diversification, session keys, MAC1/MAC2/TAC for purchase and load, and the
secure-messaging MAC, for triple DES and SM4. It deliberately does NOT import
cardlib: the vectors exist to catch cardlib getting those rules wrong, so they must
not be produced by it. Block ciphers come from other code than cardlib's
(``cryptography``): pycryptodome (``Crypto.Cipher.DES`` / ``DES3``) and gmssl
(pure-Python SM4); CBC chaining, padding and message layouts are written out here.

Every output is then recomputed a second time with the ``openssl`` command line as
the cipher backend (its own ECB and CBC modes) when openssl offers the cipher, and
the vector's ``source`` field records which of the two did what. A disagreement
aborts without writing anything.

Usage::

    .venv/bin/python scripts/make_vectors.py           # (re)write our vector files
    .venv/bin/python scripts/make_vectors.py --check   # verify the files are current
    .venv/bin/python scripts/make_vectors.py --no-openssl

Only the files this script names are written or checked; vectors dropped into
tests/vectors/ from other implementations are left alone. tests/vectors/README.md
documents the format.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar, Protocol

from Crypto.Cipher import DES, DES3
from gmssl.sm4 import SM4_DECRYPT, SM4_ENCRYPT, CryptSM4

VECTOR_DIR = Path(__file__).resolve().parent.parent / "tests" / "vectors"
FORMAT = "civicard-epurse-vector/1"

# Cipher names used below: "des" = single DES (8-byte key), "tdes" = two-key triple
# DES EDE (16-byte key), "sm4" = SM4 (16-byte key).
BLOCK = {"des": 8, "tdes": 8, "sm4": 16}

Json = dict[str, Any]


class Backend(Protocol):
    """Raw block-cipher operations; everything protocol-specific is built on top."""

    def ecb_encrypt(self, cipher: str, key: bytes, data: bytes) -> bytes: ...

    def ecb_decrypt(self, cipher: str, key: bytes, data: bytes) -> bytes: ...

    def cbc_last_block(self, cipher: str, key: bytes, iv: bytes, data: bytes) -> bytes: ...


class LibraryBackend:
    """pycryptodome for DES / triple DES, gmssl for SM4; CBC chained by hand."""

    def _sm4(self, key: bytes, mode: int, data: bytes) -> bytes:
        sm4 = CryptSM4()
        sm4.set_key(key, mode)
        out = b""
        for i in range(0, len(data), 16):
            # gmssl's crypt_ecb always pads (PKCS#7) on encryption, so feed it one
            # block at a time and keep only that block's ciphertext.
            out += bytes(sm4.one_round(sm4.sk, list(data[i : i + 16])))
        return out

    def ecb_encrypt(self, cipher: str, key: bytes, data: bytes) -> bytes:
        if cipher == "des":
            return bytes(DES.new(key, DES.MODE_ECB).encrypt(data))
        if cipher == "tdes":
            return bytes(DES3.new(key, DES3.MODE_ECB).encrypt(data))
        return self._sm4(key, SM4_ENCRYPT, data)

    def ecb_decrypt(self, cipher: str, key: bytes, data: bytes) -> bytes:
        if cipher == "des":
            return bytes(DES.new(key, DES.MODE_ECB).decrypt(data))
        if cipher == "tdes":
            return bytes(DES3.new(key, DES3.MODE_ECB).decrypt(data))
        return self._sm4(key, SM4_DECRYPT, data)

    def cbc_last_block(self, cipher: str, key: bytes, iv: bytes, data: bytes) -> bytes:
        n = BLOCK[cipher]
        if len(iv) != n or len(data) % n:
            raise ValueError("CBC input must be whole blocks")
        chain = iv
        for i in range(0, len(data), n):
            block = bytes(a ^ b for a, b in zip(chain, data[i : i + n], strict=True))
            chain = self.ecb_encrypt(cipher, key, block)
        return chain


class OpenSSLBackend:
    """The ``openssl enc`` command line, with its own ECB and CBC modes."""

    NAMES: ClassVar[dict[str, str]] = {"des": "des", "tdes": "des-ede", "sm4": "sm4"}

    def __init__(self, exe: str) -> None:
        self.exe = exe
        banner = subprocess.run([exe, "version"], check=True, capture_output=True, text=True)
        self.version = " ".join(banner.stdout.split()[:2])  # e.g. "OpenSSL 3.0.19"

    def _enc(self, cipher: str, mode: str, key: bytes, data: bytes, *extra: str) -> bytes:
        cmd = [self.exe, "enc"]
        if cipher == "des":
            # OpenSSL 3 moved single DES to the legacy provider.
            cmd += ["-provider", "legacy", "-provider", "default"]
        cmd += [f"-{self.NAMES[cipher]}-{mode}", "-K", key.hex(), "-nopad", *extra]
        res = subprocess.run(cmd, input=data, capture_output=True, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {res.stderr.decode(errors='replace')}")
        return res.stdout

    def ecb_encrypt(self, cipher: str, key: bytes, data: bytes) -> bytes:
        return self._enc(cipher, "ecb", key, data, "-e")

    def ecb_decrypt(self, cipher: str, key: bytes, data: bytes) -> bytes:
        return self._enc(cipher, "ecb", key, data, "-d")

    def cbc_last_block(self, cipher: str, key: bytes, iv: bytes, data: bytes) -> bytes:
        out = self._enc(cipher, "cbc", key, data, "-e", "-iv", iv.hex())
        return out[-BLOCK[cipher] :]

    def supports(self, cipher: str) -> bool:
        """True if this openssl offers ``cipher`` and passes :func:`qualify`."""
        try:
            return qualify(self, cipher)
        except (RuntimeError, OSError):
            return False


# Published single-block answers, used to qualify each backend before trusting it.
KNOWN_BLOCK_ANSWERS: dict[str, tuple[bytes, bytes, bytes]] = {
    # FIPS 81 appendix B, the classic DES example: "Now is t" under 0123456789ABCDEF.
    "des": (
        bytes.fromhex("0123456789ABCDEF"),
        bytes.fromhex("4E6F772069732074"),
        bytes.fromhex("3FA40E8A984D4815"),
    ),
    # GB/T 32907-2016, appendix A, example 1.
    "sm4": (
        bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"),
        bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"),
        bytes.fromhex("681EDF34D206965E86B3E94F536E4246"),
    ),
}


def qualify(b: Backend, cipher: str) -> bool:
    """Check a backend's cipher before trusting it.

    DES and SM4 against their published answers; two-key triple DES as the EDE
    composition of single DES (K1 = 0123.., K2 = FEDC..), which needs DES itself.
    """
    if cipher == "tdes":
        k1, k2 = bytes.fromhex("0123456789ABCDEF"), bytes.fromhex("FEDCBA9876543210")
        x = bytes.fromhex("4E6F772069732074")
        ede = b.ecb_encrypt("des", k1, b.ecb_decrypt("des", k2, b.ecb_encrypt("des", k1, x)))
        return qualify(b, "des") and b.ecb_encrypt("tdes", k1 + k2, x) == ede
    key, plain, want = KNOWN_BLOCK_ANSWERS[cipher]
    return b.ecb_encrypt(cipher, key, plain) == want


# --- The DESIGN.md rules, written out from the text -------------------------------


def pad80(data: bytes, block: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2: 80, then 00 up to a whole block."""
    out = data + b"\x80"
    while len(out) % block:
        out += b"\x00"
    return out


def diversify(b: Backend, alg: str, master_key: bytes, asn: bytes) -> bytes:
    """One level, with the rightmost 8 bytes of the 10-byte ASN."""
    if len(asn) != 10:
        raise ValueError("the ASN is 10 bytes")
    asn8 = asn[2:]
    not_asn8 = bytes(0xFF - x for x in asn8)
    if alg == "3DES":
        return b.ecb_encrypt("tdes", master_key, asn8) + b.ecb_encrypt("tdes", master_key, not_asn8)
    return b.ecb_encrypt("sm4", master_key, asn8 + not_asn8)


def card_key(b: Backend, alg: str, master_key: bytes, inp: Json) -> bytes:
    """The card key: one level, or with ``issuer_id`` two (that 8-byte identifier
    first, padded to an ASN's 10 bytes on the left, then the ASN)."""
    asn = h(inp["asn"])
    if "issuer_id" not in inp:
        return diversify(b, alg, master_key, asn)
    issuer_key = diversify(b, alg, master_key, bytes(2) + h(inp["issuer_id"]))
    return diversify(b, alg, issuer_key, asn)


def session_key(b: Backend, alg: str, card_key: bytes, seed: bytes) -> bytes:
    """3DES: 3DES(key, seed), 8 bytes. SM4: SM4(key, seed padded 80 00.. to 16)."""
    assert len(seed) == 8
    if alg == "3DES":
        return b.ecb_encrypt("tdes", card_key, seed)
    return b.ecb_encrypt("sm4", card_key, pad80(seed, 16))


def epurse_mac(b: Backend, alg: str, key: bytes, data: bytes) -> bytes:
    """MAC1/MAC2/TAC: single-DES or SM4 CBC-MAC, method-2 padding, zero IV, 4 bytes."""
    if alg == "3DES":
        assert len(key) == 8
        return b.cbc_last_block("des", key, bytes(8), pad80(data, 8))[:4]
    return b.cbc_last_block("sm4", key, bytes(16), pad80(data, 16))[:4]


def tac_key(alg: str, dtk: bytes) -> bytes:
    """3DES: DTK's left half XOR its right half. SM4: DTK itself."""
    if alg == "3DES":
        return bytes(dtk[i] ^ dtk[i + 8] for i in range(8))
    return dtk


def sm_mac(b: Backend, alg: str, card_key: bytes, challenge: bytes, data: bytes) -> bytes:
    """Secure-messaging MAC: the GET CHALLENGE value, zero-filled to a block, is the IV.

    DESIGN.md fixes only the IV. The rest is the JR/T 0025 (PBOC) secure-messaging
    MAC for a 16-byte key: 3DES = ISO/IEC 9797-1 MAC algorithm 3 (single-DES CBC
    with the left half; the last block then decrypted with the right half and
    encrypted with the left); SM4 = SM4 CBC-MAC with the whole key. Method-2
    padding, first 4 bytes.
    """
    if alg == "3DES":
        iv = challenge + bytes(8 - len(challenge))
        left, right = card_key[:8], card_key[8:]
        h = b.cbc_last_block("des", left, iv, pad80(data, 8))
        h = b.ecb_encrypt("des", left, b.ecb_decrypt("des", right, h))
        return h[:4]
    iv = challenge + bytes(16 - len(challenge))
    return b.cbc_last_block("sm4", card_key, iv, pad80(data, 16))[:4]


def u32(value: int) -> bytes:
    if not 0 <= value <= 0xFFFFFFFF:
        # A negative (overdraft) balance's encoding is not fixed by DESIGN.md yet.
        raise ValueError(f"{value} does not fit 4 unsigned bytes")
    return value.to_bytes(4, "big")


def u16(value: int) -> bytes:
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{value} does not fit 2 bytes")
    return value.to_bytes(2, "big")


def h(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text)


def hx(data: bytes) -> str:
    return data.hex().upper()


# --- Vector kinds: inputs (JSON) -> outputs (JSON) ---------------------------------


def purchase_outputs(b: Backend, alg: str, inp: Json) -> Json:
    dpk = card_key(b, alg, h(inp["purchase_master_key"]), inp)
    dtk = card_key(b, alg, h(inp["tac_master_key"]), inp)
    ttc = inp["ttc"]
    # Only the TTC's low 2 bytes enter the session key; all 4 enter the TAC.
    seed = h(inp["card_random"]) + u16(inp["offline_atc"]) + u32(ttc)[2:]
    sk = session_key(b, alg, dpk, seed)
    amount = u32(inp["amount"])
    ttype, term = h(inp["transaction_type"]), h(inp["terminal_id"])
    date, time = h(inp["date"]), h(inp["time"])
    tk = tac_key(alg, dtk)
    return {
        "purchase_card_key": hx(dpk),
        "tac_card_key": hx(dtk),
        "session_key": hx(sk),
        "tac_key": hx(tk),
        "mac1": hx(epurse_mac(b, alg, sk, amount + ttype + term + date + time)),
        "mac2": hx(epurse_mac(b, alg, sk, amount)),
        "tac": hx(epurse_mac(b, alg, tk, amount + ttype + term + u32(ttc) + date + time)),
    }


def load_outputs(b: Backend, alg: str, inp: Json) -> Json:
    asn = h(inp["asn"])
    dlk = diversify(b, alg, h(inp["load_master_key"]), asn)
    dtk = diversify(b, alg, h(inp["tac_master_key"]), asn)
    atc = u16(inp["online_atc"])
    sk = session_key(b, alg, dlk, h(inp["card_random"]) + atc + b"\x80\x00")
    amount = u32(inp["amount"])
    ttype, term = h(inp["transaction_type"]), h(inp["terminal_id"])
    date, time = h(inp["date"]), h(inp["time"])
    tk = tac_key(alg, dtk)
    old, new = u32(inp["old_balance"]), u32(inp["new_balance"])
    return {
        "load_card_key": hx(dlk),
        "tac_card_key": hx(dtk),
        "session_key": hx(sk),
        "tac_key": hx(tk),
        "mac1": hx(epurse_mac(b, alg, sk, old + amount + ttype + term)),
        "mac2": hx(epurse_mac(b, alg, sk, amount + ttype + term + date + time)),
        "tac": hx(epurse_mac(b, alg, tk, new + atc + amount + ttype + term + date + time)),
    }


def sm_mac_outputs(b: Backend, alg: str, inp: Json) -> Json:
    damk = diversify(b, alg, h(inp["maintenance_master_key"]), h(inp["asn"]))
    return {
        "maintenance_card_key": hx(damk),
        "mac": hx(sm_mac(b, alg, damk, h(inp["challenge"]), h(inp["data"]))),
    }


def block_outputs(b: Backend, alg: str, inp: Json) -> Json:
    key = h(inp["key"])
    cipher = "sm4" if alg == "SM4" else ("des" if len(key) == 8 else "tdes")
    return {"ciphertext": hx(b.ecb_encrypt(cipher, key, h(inp["plaintext"])))}


KINDS: dict[str, Callable[[Backend, str, Json], Json]] = {
    "purchase": purchase_outputs,
    "load": load_outputs,
    "sm_mac": sm_mac_outputs,
    "block_cipher": block_outputs,
}


# --- The vectors --------------------------------------------------------------------


@dataclass
class Spec:
    name: str
    algorithm: str
    kind: str
    description: str
    inputs: Json
    published: Json | None = None  # outputs from a published standard, if any
    published_source: str = ""


def _specs() -> list[Spec]:
    # Keys, ASNs and randoms from a fixed seed, so a rerun writes identical files.
    rng = random.Random("civicard e-purse vectors v1")

    def key() -> str:
        return hx(rng.randbytes(16))

    def rnd(n: int) -> str:
        return hx(rng.randbytes(n))

    def asn(serial: int) -> str:
        # Issuer prefix 3205 82 (Zhangjiagang) then a serial: 10 bytes, 20 digits.
        return f"320582{serial:014d}"

    specs: list[Spec] = []
    for alg, slug in (("3DES", "tdes"), ("SM4", "sm4")):
        mpk, mlk, mtk, mamk = key(), key(), key(), key()
        card_a, card_b, card_c = asn(1), asn(20260001), asn(99999999999999)
        rand_a = rnd(4)
        purchases = [
            ("one fen from a fresh card", card_a, rand_a, 0, 0x00000001, 1),
            ("TTC below 0x10000", card_a, rand_a, 7, 0x00002345, 3150),
            (
                "TTC above 0xFFFF whose low 2 bytes equal the previous vector's: same "
                "session key, MAC1 and MAC2, different TAC",
                card_a,
                rand_a,
                7,
                0x00012345,
                3150,
            ),
            ("large amount, ATC near its limit", card_b, rnd(4), 0xFFFE, 0x0ABCDEF0, 99999999),
            ("maximum TTC", card_c, rnd(4), 0x1234, 0xFFFFFFFF, 12345),
        ]
        for i, (desc, card, crand, atc, ttc, amount) in enumerate(purchases, 1):
            specs.append(
                Spec(
                    f"{slug}-purchase-{i:02d}",
                    alg,
                    "purchase",
                    f"{alg} purchase: {desc}",
                    {
                        "purchase_master_key": mpk,
                        "tac_master_key": mtk,
                        "asn": card,
                        "card_random": crand,
                        "offline_atc": atc,
                        "ttc": ttc,
                        "amount": amount,
                        "transaction_type": "06",
                        "terminal_id": "320582000001" if i % 2 else "320582" + rnd(3),
                        "date": "2026112" + str(i % 10),
                        "time": f"{8 + i:02d}{15 * i % 60:02d}{7 * i % 60:02d}",
                    },
                )
            )
        loads = [
            ("top-up of an empty purse", card_a, 0, 0, 5000),
            ("top-up near the balance limit", card_b, 0x7FFF, 99_000_000, 1_000_000),
            ("online ATC 0xFFFF", card_c, 0xFFFF, 123, 100),
        ]
        for i, (desc, card, atc, old, amount) in enumerate(loads, 1):
            specs.append(
                Spec(
                    f"{slug}-load-{i:02d}",
                    alg,
                    "load",
                    f"{alg} load: {desc}",
                    {
                        "load_master_key": mlk,
                        "tac_master_key": mtk,
                        "asn": card,
                        "card_random": rnd(4),
                        "online_atc": atc,
                        "amount": amount,
                        "old_balance": old,
                        "new_balance": old + amount,
                        "transaction_type": "02",
                        "terminal_id": "320582" + rnd(3),
                        "date": f"202{6 + i % 2}0{i}1{i}",
                        "time": f"1{i}{i}0{i}9",
                    },
                )
            )
        # The two-level key tree (issuer identifier, then ASN) of deployed PSAMs: the
        # inputs of purchase-01 under the city issuer's key. No ``rng`` draws either.
        specs.append(
            Spec(
                f"{slug}-purchase-2level-01",
                alg,
                "purchase",
                f"{alg} purchase, two-level key tree: issuer identifier, then ASN",
                {
                    "purchase_master_key": mpk,
                    "tac_master_key": mtk,
                    "issuer_id": "3205820000000001",
                    "asn": card_a,
                    "card_random": rand_a,
                    "offline_atc": 0,
                    "ttc": 0x00000001,
                    "amount": 1,
                    "transaction_type": "06",
                    "terminal_id": "320582000001",
                    "date": "20261121",
                    "time": "091507",
                },
            )
        )
        # The composite (CAPP, transit) purchase: type 09, a bus fare from card A right
        # after purchase-01's inputs. It draws nothing from ``rng``, so every other
        # vector stays as it was.
        specs.append(
            Spec(
                f"{slug}-capp-purchase-01",
                alg,
                "purchase",
                f"{alg} composite (CAPP) purchase: a 2-yuan bus fare, type 09",
                {
                    "purchase_master_key": mpk,
                    "tac_master_key": mtk,
                    "asn": card_a,
                    "card_random": rand_a,
                    "offline_atc": 0,
                    "ttc": 0x00000001,
                    "amount": 200,
                    "transaction_type": "09",
                    "terminal_id": "320582000001",
                    "date": "20261121",
                    "time": "073012",
                },
            )
        )
        sms = [
            # APPLICATION BLOCK 84 1E 00 00, Lc 04 (the MAC): header only.
            ("APPLICATION BLOCK header, 4-byte challenge", card_a, rnd(4), "841E000004"),
            # An SM write: UPDATE BINARY into SFI 16 (P1 = 80 | 16), Lc = 13 data bytes
            # plus the 4-byte MAC; header and data are MACed.
            (
                "UPDATE BINARY with data, 4-byte challenge",
                card_b,
                rnd(4),
                "04D6960011" + "5A484F55205849414F4D494E47",
            ),
            (
                f"data an exact multiple of the block, full {8 if alg == '3DES' else 16}"
                "-byte challenge",
                card_c,
                rnd(8 if alg == "3DES" else 16),
                rnd(32),
            ),
        ]
        for i, (desc, card, chal, data) in enumerate(sms, 1):
            specs.append(
                Spec(
                    f"{slug}-sm-mac-{i:02d}",
                    alg,
                    "sm_mac",
                    f"{alg} secure-messaging MAC: {desc}",
                    {
                        "maintenance_master_key": mamk,
                        "asn": card,
                        "challenge": chal,
                        "data": data,
                    },
                )
            )
    specs.append(
        Spec(
            "sm4-gbt32907-block",
            "SM4",
            "block_cipher",
            "SM4 reference example 1 of GB/T 32907-2016 (appendix A). The plaintext is "
            "X || NOT X with X = 0123456789ABCDEF, so it is also the SM4 diversification "
            "of ASN8 0123456789ABCDEF under that master key.",
            {
                "key": "0123456789ABCDEFFEDCBA9876543210",
                "plaintext": "0123456789ABCDEFFEDCBA9876543210",
            },
            published={"ciphertext": "681EDF34D206965E86B3E94F536E4246"},
            published_source="GB/T 32907-2016 appendix A, example 1",
        )
    )
    specs.append(
        Spec(
            "des-fips81-block",
            "3DES",
            "block_cipher",
            "Single DES (8-byte key, the e-purse MAC cipher): the classic 'Now is t' "
            "example of FIPS 81 appendix B.",
            {"key": "0123456789ABCDEF", "plaintext": "4E6F772069732074"},
            published={"ciphertext": "3FA40E8A984D4815"},
            published_source="FIPS PUB 81 appendix B (DES ECB example)",
        )
    )
    return specs


def _ciphers_used(spec: Spec) -> set[str]:
    if spec.kind == "block_cipher":
        if spec.algorithm == "SM4":
            return {"sm4"}
        return {"des"} if len(h(spec.inputs["key"])) == 8 else {"tdes"}
    return {"tdes", "des"} if spec.algorithm == "3DES" else {"sm4"}


def _library_note(spec: Spec) -> str:
    if spec.algorithm == "SM4":
        return f"gmssl {version('gmssl')} (gmssl.sm4.CryptSM4)"
    return f"pycryptodome {version('pycryptodome')} (Crypto.Cipher.DES, DES3)"


def build(use_openssl: bool) -> list[Json]:
    """All our vectors, each computed twice where openssl allows; raise on mismatch."""
    lib = LibraryBackend()
    for cipher in BLOCK:
        if not qualify(lib, cipher):
            raise SystemExit(f"library backend fails the {cipher} qualification")
    ossl: OpenSSLBackend | None = None
    exe = shutil.which("openssl") if use_openssl else None
    if exe:
        ossl = OpenSSLBackend(exe)
    ossl_ok = {c: ossl is not None and ossl.supports(c) for c in BLOCK}

    out: list[Json] = []
    for spec in _specs():
        outputs = KINDS[spec.kind](lib, spec.algorithm, spec.inputs)
        if spec.published is not None and outputs != spec.published:
            raise SystemExit(f"{spec.name}: {outputs} != published {spec.published}")
        if spec.published is None:
            how = (
                "scripts/make_vectors.py: the DESIGN.md rules written out without cardlib; "
                f"block cipher {_library_note(spec)}, CBC chaining by hand"
            )
        else:
            how = (
                f"{spec.published_source} (published answer); reproduced by "
                f"scripts/make_vectors.py with {_library_note(spec)}"
            )
        cross = ossl is not None and all(ossl_ok[c] for c in _ciphers_used(spec))
        if cross:
            assert ossl is not None
            again = KINDS[spec.kind](ossl, spec.algorithm, spec.inputs)
            if again != outputs:
                raise SystemExit(f"{spec.name}: openssl disagrees: {again} != {outputs}")
            names = sorted(
                f"-{OpenSSLBackend.NAMES[c]}-ecb/-cbc"
                + (" with -provider legacy" if c == "des" else "")
                for c in _ciphers_used(spec)
            )
            how += (
                f". Cross-checked: every output recomputed with the {ossl.version} command "
                f"line as the cipher (openssl enc {', '.join(names)}; its own CBC), equal"
            )
        else:
            how += ". Not cross-checked with openssl (cipher unavailable there)"
        out.append(
            {
                "format": FORMAT,
                "name": spec.name,
                "description": spec.description,
                "algorithm": spec.algorithm,
                "kind": spec.kind,
                "source": how + ".",
                "inputs": spec.inputs,
                "outputs": outputs,
            }
        )
    return out


def _render(vector: Json) -> str:
    return json.dumps(vector, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="verify files, write nothing")
    parser.add_argument("--no-openssl", action="store_true", help="skip the openssl cross-check")
    parser.add_argument("--dir", type=Path, default=VECTOR_DIR, help="output folder")
    args = parser.parse_args(argv)

    vectors = build(use_openssl=not args.no_openssl)
    if not args.check:
        args.dir.mkdir(parents=True, exist_ok=True)
        for vector in vectors:
            (args.dir / f"{vector['name']}.json").write_text(_render(vector), encoding="utf-8")
        print(f"wrote {len(vectors)} vectors to {args.dir}")
        return 0
    stale = []
    for vector in vectors:
        path = args.dir / f"{vector['name']}.json"
        if not path.exists():
            stale.append(path.name)
        elif args.no_openssl:
            # Without openssl the source text differs (no cross-check recorded):
            # compare everything else.
            on_disk = json.loads(path.read_text(encoding="utf-8"))
            if {**on_disk, "source": ""} != {**vector, "source": ""}:
                stale.append(path.name)
        elif path.read_text(encoding="utf-8") != _render(vector):
            stale.append(path.name)
    if stale:
        print("out of date:", ", ".join(stale))
        return 1
    print(f"{len(vectors)} vectors current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
