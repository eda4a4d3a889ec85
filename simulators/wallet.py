"""A wallet of simulated cards and PSAMs kept in a folder, with the TEST ONLY issuer keys.

Layout of a wallet folder::

    issuer-keys.json      master keys, marked TEST ONLY (the central takes load + TAC)
    issuer-ca.crt/.key    the TEST ONLY issuer CA
    wallet.json           index: citizens (name, ASN, card file) and PSAMs
    cards/<ASN>.json      each card's EEPROM image (simulators.eeprom)
    psam/<terminal>.json  each PSAM's EEPROM image

Cards persist across processes: a purchase made by one kiosk process is on the
card the next one reads, exactly as with a plastic card.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardlib.keys import IssuerKeys
from simulators.card import CitizenCard
from simulators.sam import Psam

__all__ = ["Wallet", "WalletCard"]


@dataclass(frozen=True)
class WalletCard:
    name: str
    asn: str
    file: str
    role: str = "citizen"
    pin: str = ""  # TEST ONLY demo cards only
    puk: str = ""


class Wallet:
    """A folder of simulated cards and PSAMs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def keys_path(self) -> Path:
        return self.root / "issuer-keys.json"

    @property
    def index_path(self) -> Path:
        return self.root / "wallet.json"

    def exists(self) -> bool:
        return self.index_path.is_file() and self.keys_path.is_file()

    def _index(self) -> dict[str, Any]:
        try:
            doc: dict[str, Any] = json.loads(self.index_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(
                f"no wallet in {self.root} (create one: civicard sim wallet init)"
            ) from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{self.index_path}: not JSON: {exc}") from exc
        return doc

    def _write_index(self, doc: dict[str, Any]) -> None:
        tmp = self.index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.index_path)

    def keys(self) -> IssuerKeys:
        return IssuerKeys.load(self.keys_path)

    def _update(self, key: str, entry: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            doc = self._index()
        except FileNotFoundError:
            doc = {"test_only": True, "cards": [], "psams": []}
        doc[key] = [e for e in doc[key] if e.get("file") != entry["file"]] + [entry]
        self._write_index(doc)

    def add_card(self, *, name: str, asn: str, file: str, role: str = "citizen",
                 pin: str = "", puk: str = "") -> None:  # fmt: skip
        """Record a card file (PIN and PUK kept only for TEST ONLY demo cards)."""
        self._update("cards", {"name": name, "asn": asn, "file": file, "role": role,
                               "pin": pin, "puk": puk})  # fmt: skip

    def add_psam(self, *, terminal_id: str, file: str) -> None:
        self._update("psams", {"terminal_id": terminal_id, "file": file})

    def cards(self) -> list[WalletCard]:
        return [WalletCard(**c) for c in self._index()["cards"]]

    def card_path(self, who: str) -> Path:
        """A card file by citizen name, ASN, or position (1-based) in the wallet."""
        cards = self.cards()
        for n, card in enumerate(cards, start=1):
            if who in (card.name, card.asn, card.asn.lower(), str(n)):
                return self.root / card.file
        raise KeyError(f"no card {who!r} in the wallet; have: {', '.join(c.name for c in cards)}")

    def open_card(self, who: str) -> CitizenCard:
        return CitizenCard.load(self.card_path(who))

    def terminal_ids(self) -> list[str]:
        """The terminal ids of the wallet's PSAMs, upper-case hex."""
        return [str(p["terminal_id"]).upper() for p in self._index()["psams"]]

    def psam_path(self, terminal_id: str | None = None) -> Path:
        psams = self._index()["psams"]
        for p in psams:
            if terminal_id in (None, p["terminal_id"]):
                return self.root / str(p["file"])
        raise KeyError(f"no PSAM {terminal_id!r} in the wallet")

    def open_psam(self, terminal_id: str | None = None) -> Psam:
        return Psam.load(self.psam_path(terminal_id))
