"""The support bundle: status, self-tests, recent logs and trace, config without
secrets, as one JSON file signed with the terminal key over its exact bytes.

Written as ``<name>.json`` and ``<name>.json.sig`` (the signature, hex DER) in a
directory the technician chooses (a USB stick in the field), and uploaded to the
central, which verifies the signature against the terminal's enrolled certificate.
Every string is scrubbed (:func:`kiosk.diagnostics.redact.scrub`) and the result
scanned before anything is written: card numbers masked, identity numbers removed;
holder names never enter (no collector reads the holder file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from kiosk.diagnostics.redact import find_personal_data, scrub

__all__ = ["BUNDLE_FORMAT", "Bundle", "BundleError", "make_bundle", "write_bundle"]

BUNDLE_FORMAT = "civicard-support-bundle/1"


class BundleError(Exception):
    """The bundle could not be made or written (the reason is in the message)."""


@dataclass(frozen=True)
class Bundle:
    name: str
    content: bytes
    signature: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest().upper()


def make_bundle(
    key: ec.EllipticCurvePrivateKey, terminal_id: str, sections: dict[str, Any], *, now: float
) -> Bundle:
    """Scrub, scan, encode and sign ``sections`` (a refusal if anything personal remains)."""
    at = dt.datetime.fromtimestamp(now, dt.UTC)
    doc = {
        "format": BUNDLE_FORMAT,
        "terminal_id": terminal_id,
        "created": at.isoformat(timespec="seconds"),
        **scrub(sections),
    }
    content = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    leaks = find_personal_data(content.decode("utf-8"))
    if leaks:
        raise BundleError(f"personal data left in the bundle: {leaks[:3]}")
    name = f"civicard-support-{terminal_id}-{at.strftime('%Y%m%dT%H%M%SZ')}"
    return Bundle(name, content, chain.sign(key, content))


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_bundle(bundle: Bundle, directory: Path) -> tuple[Path, Path]:
    """Write the bundle and its signature (each whole or not at all) into ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BundleError(f"{directory}: not a directory (is the USB stick mounted?)")
    path = directory / f"{bundle.name}.json"
    sig = directory / f"{bundle.name}.json.sig"
    try:
        _write(path, bundle.content)
        _write(sig, bundle.signature.encode("ascii") + b"\n")
    except OSError as exc:
        raise BundleError(f"{directory}: {exc.strerror or exc}") from exc
    return path, sig
