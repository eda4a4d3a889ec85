"""One tap at the bus validator: settle what an earlier tap left torn, check the card
(application state, hotlist, dates, a repeated tap), then the composite purchase.

No PIN and no network: the fare is debited offline against the hotlist the
validator last downloaded (refused once that is older than its limit), and every
ride is an outbox record the sync agent uploads later. The order of a ride is the
purse's (INITIALIZE FOR CAPP PURCHASE, UPDATE CAPP DATA CACHE, PSAM 80 70, the
intent written, DEBIT, PSAM 80 72, the record completed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from backend_sync.terminal.downloads import Hotlist
from backend_sync.terminal.outbox import IntentId, Outbox, SalesStopped
from backend_sync.terminal.settle import prove_unsettled, settle_unfinished
from cardlib.apdu import ApduSession, Connection
from cardlib.bcd import CARD_TZ, unpack_datetime
from cardlib.capp import TAG_BUS, TransitRecord, TransitUpdate
from cardlib.errors import (
    AtcExhaustedError,
    CardError,
    DeviceError,
    InsufficientBalanceError,
    ProtocolError,
)
from cardlib.psam import PsamClient
from cardlib.purse import DebitOutcomeUnknown, PurchaseIntent, Purse

__all__ = ["BusValidator", "Fare", "Outcome", "Tap"]

log = logging.getLogger(__name__)
BUS_RECORD = 1  # the bus operator's record in the card's composite file (SFI 19)


class Outcome(Enum):
    """What the validator shows (and beeps) for one tap."""

    RIDE = "ride"  # the fare was debited
    ALREADY_PAID = "already_paid"  # a repeated tap, or a torn tap that did debit
    HOTLISTED = "hotlisted"
    BLOCKED = "blocked"  # the card's application is blocked
    EXPIRED = "expired"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    CARD_EXHAUSTED = "card_exhausted"  # the offline ATC is used up: replace the card
    HOTLIST_STALE = "hotlist_stale"  # offline too long: no fares until the next sync
    OUT_OF_SERVICE = "out_of_service"  # the outbox's disk reserve is reached
    TORN = "torn"  # the card left before the debit's answer: tap again
    CARD_ERROR = "card_error"


@dataclass(frozen=True)
class Tap:
    """The outcome of one tap; ``seq`` is the ride's outbox record when one was written."""

    outcome: Outcome
    asn: str = ""
    fare: int = 0
    balance: int | None = None
    seq: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """The passenger may board."""
        return self.outcome in (Outcome.RIDE, Outcome.ALREADY_PAID)


@dataclass(frozen=True)
class Fare:
    """The flat fare and where it is paid; line and vehicle go into the transit record."""

    amount: int
    payee: str
    line: int = 0
    vehicle: int = 0


class BusValidator:
    """A validator around its PSAM and outbox. ``hotlist`` returns the last good
    download; ``now`` the validator's (timezone-aware) clock."""

    def __init__(
        self,
        psam: PsamClient,
        outbox: Outbox,
        hotlist: Callable[[], Hotlist],
        fare: Fare,
        *,
        now: Callable[[], datetime] | None = None,
        max_hotlist_age_s: int = 48 * 3600,
        repeat_window_s: int = 120,
        block_hotlisted: bool = True,
        on_record: Callable[[], None] | None = None,
    ) -> None:
        if outbox.terminal_id != psam.terminal_id.hex().upper():
            raise ValueError("the outbox belongs to another terminal than this PSAM")
        self.psam = psam
        self.outbox = outbox
        self.hotlist = hotlist
        self.fare = fare
        self.now = now or (lambda: datetime.now(CARD_TZ))
        self.max_hotlist_age_s = max_hotlist_age_s
        self.repeat_window_s = repeat_window_s
        self.block_hotlisted = block_hotlisted
        self.on_record = on_record or (lambda: None)

    def tap(self, connection: Connection) -> Tap:
        """Serve the card on ``connection``; never raises for what a card can do."""
        try:
            return self._tap(Purse(ApduSession(connection)))
        except (DeviceError, CardError) as exc:
            # The card left (or misbehaved) outside the debit: nothing was charged.
            return Tap(Outcome.CARD_ERROR, detail=str(exc))

    def _tap(self, purse: Purse) -> Tap:
        if purse.blocked:
            return Tap(Outcome.BLOCKED, purse.asn.hex().upper())
        asn = purse.asn.hex().upper()
        now = self.now()
        paid = self._settle(purse, asn, now)  # before anything: the outbox takes one intent
        hotlist = self.hotlist()
        if hotlist.blocks(asn):
            if self.block_hotlisted:
                purse.block(self.psam)  # as a kiosk does: the card stops everywhere
            return Tap(Outcome.HOTLISTED, asn)
        if paid is not None:
            return paid
        if hotlist.age_s(now.timestamp()) > self.max_hotlist_age_s:
            return Tap(Outcome.HOTLIST_STALE, asn, detail=f"hotlist v{hotlist.version}")
        info = purse.public_info()
        today = now.astimezone(CARD_TZ).date()
        if not info.start <= today <= info.expiry:
            return Tap(Outcome.EXPIRED, asn)
        last = purse.transit_record(BUS_RECORD)
        if last is not None and self._repeated(last, now):
            return Tap(Outcome.ALREADY_PAID, asn, detail="tapped again on this bus")
        return self._ride(purse, asn, last, now)

    def _settle(self, purse: Purse, asn: str, now: datetime) -> Tap | None:
        """Close any intent a torn tap left open (one at most), and prove this card's
        unsettled rides it still can. If one of them was this card's, paid, and within
        the repeat window, the passenger boards without paying twice (an older one is
        settled all the same, but does not pay for today's ride)."""
        mine = {it.id: it.fields for it in self.outbox.unfinished() if it.asn == asn}
        waiting = {r["seq"]: r for r in self.outbox.unsettled(asn)}
        outcomes = dict(settle_unfinished(self.outbox, [purse]))
        prove_unsettled(self.outbox, purse)
        still = {r["seq"] for r in self.outbox.unsettled(asn)}
        # "unsettled" for this card's own intent is "debited per its log, proof gone".
        paid = [f for seq, f in mine.items() if outcomes.get(seq) in ("completed", "unsettled")]
        paid += [r for seq, r in waiting.items() if seq not in still]
        for f in paid:
            if self._recent(str(f["date"]), str(f["time"]), now):
                return Tap(Outcome.ALREADY_PAID, asn, detail="earlier tap completed")
        return None

    def _recent(self, date: str, time: str, now: datetime) -> bool:
        try:
            when = unpack_datetime(bytes.fromhex(date), bytes.fromhex(time))
        except (ProtocolError, ValueError):
            return False
        return 0 <= (now - when).total_seconds() <= self.repeat_window_s

    def _repeated(self, last: TransitRecord, now: datetime) -> bool:
        # An unreadable date is not a reason to ride free: _recent says no.
        return last.terminal_id == self.psam.terminal_id and self._recent(
            last.date.hex(), last.time.hex(), now
        )

    def _ride(self, purse: Purse, asn: str, last: TransitRecord | None, now: datetime) -> Tap:
        fare = self.fare
        rides = ((last.rides if last is not None else 0) + 1) & 0xFFFF
        tid = self.psam.terminal_id

        def record(atc: int, date: bytes, time: bytes) -> bytes:
            return TransitRecord(TAG_BUS, 0, fare.line, fare.vehicle, tid, date, time,
                                 fare.amount, atc, rides).to_bytes()  # fmt: skip

        opened: list[IntentId] = []

        def on_intent(i: PurchaseIntent) -> None:
            iid = self.outbox.begin_purchase(
                asn=asn, amount=i.amount, atc=i.offline_atc, ttc=i.ttc,
                date=i.date.hex(), time=i.time.hex(), key_version=i.key_version,
                algorithm=int(i.algorithm), balance_before=i.balance_before,
                payee=fare.payee, hotlist_version=self.hotlist().version, ttype=i.ttype,
            )  # fmt: skip
            opened.append(iid)

        try:
            result = purse.purchase(self.psam, fare.amount, on_intent=on_intent, now=now,
                                    transit=TransitUpdate(BUS_RECORD, record))  # fmt: skip
        except InsufficientBalanceError:
            return Tap(Outcome.INSUFFICIENT_BALANCE, asn, balance=purse.balance())
        except AtcExhaustedError:
            return Tap(Outcome.CARD_EXHAUSTED, asn)
        except SalesStopped as exc:
            return Tap(Outcome.OUT_OF_SERVICE, asn, detail=str(exc))
        except DebitOutcomeUnknown as exc:
            # The intent stays open: this card's next tap (here) settles it.
            log.warning("ride of %s torn: %s", asn, exc)
            return Tap(Outcome.TORN, asn, seq=opened[0] if opened else None)
        seq = self.outbox.complete(opened[0], tac=result.tac.hex(), mac2=result.mac2.hex(),
                                   balance_after=result.balance_after)  # fmt: skip
        if not result.mac2_verified:
            log.warning("ride %d: the card's MAC2 did not verify at the PSAM", seq)
        self.on_record()
        return Tap(Outcome.RIDE, asn, fare.amount, result.balance_after, seq)
