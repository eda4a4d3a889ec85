"""A wallet of simulated cards and PSAMs kept in a folder, with the TEST ONLY issuer keys.

Layout of a wallet folder::

    issuer-keys.json      master keys, marked TEST ONLY (the central takes load + TAC)
    wallet.json           index: citizens (name, ASN, card file) and PSAMs
    cards/<ASN>.json      each card's EEPROM image (simulators.eeprom)
    psam/<terminal>.json  each PSAM's EEPROM image

Cards persist across processes: a purchase made by one kiosk process is on the
card the next one reads, exactly as with a plastic card.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cardlib.crypto import Algorithm
from cardlib.keys import IssuerKeys
from cardlib.layout import Holder
from simulators.card import CitizenCard, make_card
from simulators.sam import Psam, make_psam

__all__ = ["DEMO_CITIZENS", "Wallet", "WalletCard"]


@dataclass(frozen=True)
class DemoCitizen:
    name: str
    id_masked: str
    birth: date
    balance: int  # fen


# Names include a rare character (U+4DAE, CJK Extension A) and a full-width middle
# dot, so every layer that shows or prints a name is exercised on them.
DEMO_CITIZENS = (
    DemoCitizen("张伟", "320582********1234", date(1985, 3, 14), 12_850),
    DemoCitizen("李娜", "320581********2468", date(1992, 7, 2), 3_000),
    DemoCitizen("王秀英", "320582********0017", date(1948, 11, 23), 56_020),
    DemoCitizen("赵䶮", "320581********555X", date(2001, 1, 30), 80),
    DemoCitizen("阿依古丽·买买提", "653101********0026", date(1979, 5, 9), 20_000),
)


@dataclass(frozen=True)
class WalletCard:
    name: str
    asn: str
    file: str


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

    @classmethod
    def create(
        cls,
        root: Path,
        *,
        algorithm: Algorithm = Algorithm.TDES,
        seed: int | None = None,
        terminal_ids: tuple[str, ...] = ("320500000001",),
    ) -> Wallet:
        """Fresh TEST ONLY issuer keys, the demo citizens' cards and the PSAMs."""
        wallet = cls(root)
        (wallet.root / "cards").mkdir(parents=True, exist_ok=True)
        (wallet.root / "psam").mkdir(parents=True, exist_ok=True)
        keys = IssuerKeys.generate(algorithm)
        keys.save(wallet.keys_path)
        rng = random.Random(seed)
        cards = []
        for n, citizen in enumerate(DEMO_CITIZENS, start=1):
            asn = bytes.fromhex(f"3215{rng.randrange(10**10):010d}{n:06d}")
            path = wallet.root / "cards" / f"{asn.hex().upper()}.json"
            holder = Holder(
                name=citizen.name,
                card_number=asn.hex(),
                id_masked=citizen.id_masked,
                birth=citizen.birth,
                services=0xFFFF,
            )
            make_card(keys, asn, holder, balance=citizen.balance, path=path)
            cards.append(
                {"name": citizen.name, "asn": asn.hex().upper(), "file": f"cards/{path.name}"}
            )
        psams = []
        for tid in terminal_ids:
            path = wallet.root / "psam" / f"{tid}.json"
            make_psam(keys, bytes.fromhex(tid), path=path)
            psams.append({"terminal_id": tid, "file": f"psam/{path.name}"})
        wallet._write_index(
            {"test_only": True, "algorithm": algorithm.name, "cards": cards, "psams": psams}
        )
        return wallet

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

    def psam_path(self, terminal_id: str | None = None) -> Path:
        psams = self._index()["psams"]
        for p in psams:
            if terminal_id in (None, p["terminal_id"]):
                return self.root / str(p["file"])
        raise KeyError(f"no PSAM {terminal_id!r} in the wallet")

    def open_psam(self, terminal_id: str | None = None) -> Psam:
        return Psam.load(self.psam_path(terminal_id))
