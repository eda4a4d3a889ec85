"""What the kiosk downloads, kept as the last good (signature-checked) copy.

Files in the store folder are replaced atomically and only after the central's
signature verified, so a torn or forged download never replaces a good copy.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.wire import SignedDocument

__all__ = ["DownloadStore", "Hotlist"]


class Hotlist:
    """The blocked cards as of ``version``, and when it was last confirmed current."""

    def __init__(self, version: int, blocked: set[str], fetched_ms: int) -> None:
        self.version = version
        self.blocked = blocked
        self.fetched_ms = fetched_ms

    def blocks(self, asn: str) -> bool:
        return asn.upper() in self.blocked

    def age_s(self, now: float | None = None) -> float:
        """Seconds since the central last confirmed this list (offline limit)."""
        return (now if now is not None else time.time()) - self.fetched_ms / 1000

    def apply(self, payload: dict[str, Any], fetched_ms: int) -> Hotlist:
        """A new list from a verified delta or snapshot payload."""
        if payload["kind"] == "snapshot":
            return Hotlist(int(payload["version"]), set(payload["blocked"]), fetched_ms)
        if int(payload["since"]) != self.version:
            raise ValueError("delta does not start at our version")
        blocked = set(self.blocked)
        for asn, action in payload["changes"]:
            if action == "block":
                blocked.add(asn)
            else:
                blocked.discard(asn)
        return Hotlist(int(payload["version"]), blocked, fetched_ms)


class DownloadStore:
    """A folder of last good copies: signed documents, and the hotlist state."""

    def __init__(self, root: Path, central_key: ec.EllipticCurvePublicKey) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.central_key = central_key

    def _write(self, name: str, doc: dict[str, Any]) -> None:
        path = self.root / f"{name}.json"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def save_document(self, doc: SignedDocument) -> None:
        """Keep a verified document (catalog, fees, config) as the last good copy."""
        if not chain.verify(self.central_key, chain.canonical(doc.payload), doc.signature):
            raise ValueError(f"{doc.name}: bad central signature")
        self._write(doc.name, doc.model_dump(mode="json"))

    def document(self, name: str) -> SignedDocument | None:
        """The last good copy, re-verified (a damaged file reads as absent)."""
        try:
            raw = json.loads((self.root / f"{name}.json").read_text(encoding="utf-8"))
            doc = SignedDocument.model_validate(raw)
        except (OSError, ValueError):
            return None
        if not chain.verify(self.central_key, chain.canonical(doc.payload), doc.signature):
            return None
        return doc

    def hotlist(self) -> Hotlist:
        try:
            raw = json.loads((self.root / "hotlist-state.json").read_text(encoding="utf-8"))
            return Hotlist(int(raw["version"]), set(raw["blocked"]), int(raw["fetched_ms"]))
        except (OSError, ValueError, KeyError):
            return Hotlist(0, set(), 0)

    def save_hotlist(self, hl: Hotlist) -> None:
        self._write(
            "hotlist-state",
            {"version": hl.version, "blocked": sorted(hl.blocked), "fetched_ms": hl.fetched_ms},
        )
