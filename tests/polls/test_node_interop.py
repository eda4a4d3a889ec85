"""Our RSABSSA against @cloudflare/blindrsa-ts under node, in both directions.

The npm package is installed from tests/polls/node/package-lock.json by the test
command (scripts/setup.sh runs `npm ci` there).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backend_sync import blindrsa

NODE_DIR = Path(__file__).parent / "node"


def _node(req: dict[str, str]) -> dict[str, str]:
    node = shutil.which("node")
    assert node, "node is needed for the interop test (the machine ships Node.js)"
    assert (NODE_DIR / "node_modules" / "@cloudflare" / "blindrsa-ts").is_dir(), (
        "run `npm ci` in tests/polls/node (scripts/setup.sh does)"
    )
    proc = subprocess.run(
        [node, "interop.mjs"], cwd=NODE_DIR, input=json.dumps(req), capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out: dict[str, str] = json.loads(proc.stdout)
    return out


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _spki(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        .hex()
    )


def _pkcs8(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).hex()  # fmt: skip


def test_their_blinding_our_signing(key: rsa.RSAPrivateKey) -> None:
    b = _node({"op": "blind", "spki": _spki(key), "msg": "c1c1c1c1"})
    blind_sig = blindrsa.blind_sign(key, bytes.fromhex(b["blinded"]))
    f = _node({"op": "finalize", "spki": _spki(key), "prepared": b["prepared"],
               "blind_sig": blind_sig.hex(), "inv": b["inv"]})  # fmt: skip
    assert blindrsa.verify(key.public_key(), bytes.fromhex(b["prepared"]), bytes.fromhex(f["sig"]))


def test_our_blinding_their_signing(key: rsa.RSAPrivateKey) -> None:
    prepared = blindrsa.prepare(b"ballot-token")
    b = blindrsa.blind(key.public_key(), prepared)
    s = _node({"op": "sign", "pkcs8": _pkcs8(key), "blinded": b.blinded_msg.hex()})
    sig = blindrsa.finalize(key.public_key(), prepared, bytes.fromhex(s["blind_sig"]), b.inv)
    v = _node({"op": "verify", "spki": _spki(key), "prepared": prepared.hex(), "sig": sig.hex()})
    assert v["ok"] is True
    # and a signature over another message is refused by their verifier too
    v = _node({"op": "verify", "spki": _spki(key), "prepared": prepared.hex() + "00",
               "sig": sig.hex()})  # fmt: skip
    assert v["ok"] is False
