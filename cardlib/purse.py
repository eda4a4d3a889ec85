"""Client for the e-purse (JR/T 0025) in the citizen application.

The purchase runs in DESIGN.md's order: INITIALIZE FOR PURCHASE -> PSAM 80 70 ->
the caller persists the intent -> DEBIT FOR PURCHASE -> PSAM 80 72. If DEBIT's
answer is lost (card pulled, power cut), :class:`DebitOutcomeUnknown` carries the
intent; on the card's next insertion :meth:`Purse.settle` tells from the card alone
whether it was debited, with the proof (GET TRANSACTION PROVE) when it is there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from cardlib import tlv
from cardlib.apdu import ApduSession
from cardlib.bcd import card_now
from cardlib.capp import (
    CAPP_P1,
    CAPP_RECORD_LEN,
    INS_UPDATE_CAPP_DATA_CACHE,
    SFI_CAPP,
    TransitRecord,
    TransitUpdate,
)
from cardlib.crypto import Algorithm, TransactionType
from cardlib.errors import (
    ApplicationBlockedError,
    CardError,
    DeviceError,
    MacError,
    NoTransactionToProveError,
    ProtocolError,
    RecordNotFoundError,
)
from cardlib.keys import KeyRole
from cardlib.layout import CARD_AID, LOG_RECORDS, Holder, Ins, LogRecord, PublicInfo, Sfi
from cardlib.psam import PsamClient

__all__ = [
    "DebitOutcomeUnknown",
    "LoadAuthorization",
    "LoadRequest",
    "LoadResult",
    "PurchaseIntent",
    "PurchaseResult",
    "Purse",
    "Settlement",
    "SettlementKind",
]

DEFAULT_KEY_INDEX = 0x01


@dataclass(frozen=True)
class PurchaseIntent:
    """Everything known after the PSAM's MAC1 and before DEBIT: what the kiosk persists."""

    asn: bytes
    terminal_id: bytes
    amount: int
    balance_before: int
    offline_atc: int
    ttc: int
    date: bytes
    time: bytes
    key_version: int
    algorithm: Algorithm
    ttype: int = TransactionType.PURCHASE  # 09 for a composite (transit) purchase


@dataclass(frozen=True)
class PurchaseResult:
    intent: PurchaseIntent
    tac: bytes
    mac2: bytes
    mac2_verified: bool

    @property
    def balance_after(self) -> int:
        return self.intent.balance_before - self.intent.amount


class DebitOutcomeUnknown(CardError):
    """DEBIT was sent but its answer never came back; settle on the next insertion."""

    def __init__(self, intent: PurchaseIntent, cause: Exception) -> None:
        self.intent = intent
        super().__init__(f"debit outcome unknown ({cause})")


class SettlementKind(Enum):
    DEBITED = "debited"  # the card took the money; tac and mac2 from GET TRANSACTION PROVE
    DEBITED_UNPROVEN = "debited_unproven"  # in the card's log, but no longer provable
    NOT_DEBITED = "not_debited"  # the card never committed it


@dataclass(frozen=True)
class Settlement:
    kind: SettlementKind
    intent: PurchaseIntent
    tac: bytes | None = None
    mac2: bytes | None = None


@dataclass(frozen=True)
class LoadRequest:
    """What the host needs to authorize a load: the card's MAC1 and its inputs."""

    asn: bytes
    terminal_id: bytes
    amount: int
    balance_before: int
    online_atc: int
    key_version: int
    algorithm: Algorithm
    card_random: bytes
    mac1: bytes


@dataclass(frozen=True)
class LoadAuthorization:
    """The host's answer: the date and time it fixed and MAC2 over them."""

    date: bytes
    time: bytes
    mac2: bytes


@dataclass(frozen=True)
class LoadResult:
    request: LoadRequest
    authorization: LoadAuthorization
    tac: bytes

    @property
    def balance_after(self) -> int:
        return self.request.balance_before + self.request.amount


class Purse:
    """The citizen application's purse; selects the application when built."""

    def __init__(self, session: ApduSession) -> None:
        self.session = session
        self._public: PublicInfo | None = None
        self.blocked = False
        try:
            self.fci = session.send_apdu(0x00, Ins.SELECT, 0x04, 0x00, CARD_AID, le=256)
        except ApplicationBlockedError:
            # Still selected: it can be read, and unblocked at the counter.
            self.blocked = True
            self.fci = b""

    # -- reading -----------------------------------------------------------------------
    def public_info(self) -> PublicInfo:
        if self._public is None:
            raw = self.session.send_apdu(0x00, Ins.READ_BINARY, 0x80 | Sfi.PUBLIC_INFO, 0, le=30)
            self._public = PublicInfo.from_bytes(raw)
        return self._public

    @property
    def asn(self) -> bytes:
        return self.public_info().asn

    @property
    def key_version(self) -> int:
        return self.public_info().fci[0]

    @property
    def algorithm(self) -> Algorithm:
        try:
            return Algorithm(self.public_info().fci[1])
        except ValueError as exc:
            raise ProtocolError(f"unknown algorithm id {self.public_info().fci[1]:02X}") from exc

    def holder(self) -> Holder:
        raw = self.session.send_apdu(0x00, Ins.READ_BINARY, 0x80 | Sfi.HOLDER, 0, le=256)
        return Holder.from_bytes(raw)

    def balance(self) -> int:
        raw = self.session.send_apdu(0x80, Ins.GET_BALANCE, 0x00, 0x02, le=4)
        if len(raw) != 4:
            raise ProtocolError("balance is 4 bytes")
        # PBOC: unsigned, the unused overdraft included (docs/card-spec.md §1).
        return int.from_bytes(raw, "big")

    def transit_record(self, number: int) -> TransitRecord | None:
        """Record ``number`` of the composite application file (SFI 19), None if unused."""
        raw = self.session.send_apdu(
            0x00, Ins.READ_RECORD, number, (SFI_CAPP << 3) | 4, le=CAPP_RECORD_LEN
        )
        return TransitRecord.from_bytes(raw)

    def log(self) -> list[LogRecord]:
        """The card's transaction log, newest first."""
        records: list[LogRecord] = []
        for n in range(1, LOG_RECORDS + 1):
            try:
                raw = self.session.send_apdu(0x00, Ins.READ_RECORD, n, (Sfi.LOG << 3) | 4, le=23)
            except RecordNotFoundError:
                break
            records.append(LogRecord.from_bytes(raw))
        return records

    # -- purchase ----------------------------------------------------------------------
    def purchase(
        self,
        psam: PsamClient,
        amount: int,
        *,
        on_intent: Callable[[PurchaseIntent], None],
        now: datetime | None = None,
        key_index: int = DEFAULT_KEY_INDEX,
        transit: TransitUpdate | None = None,
    ) -> PurchaseResult:
        """Debit ``amount`` fen. ``on_intent`` must persist the intent durably; if it
        raises, DEBIT is not sent. Raises DebitOutcomeUnknown when DEBIT's answer is lost.

        With ``transit`` it is the composite (CAPP) purchase, type 09: INITIALIZE FOR
        CAPP PURCHASE, then UPDATE CAPP DATA CACHE with the record ``transit`` makes
        from the ATC and the date and time, which the card commits with the debit."""
        if amount <= 0:
            raise ValueError("amount must be positive fen")
        ttype = TransactionType.PURCHASE if transit is None else TransactionType.CAPP_PURCHASE
        terminal_id = psam.terminal_id
        asn = self.asn  # read now: any command between INITIALIZE and DEBIT cancels it
        init = self.session.send_apdu(
            0x80,
            Ins.INITIALIZE,
            0x01 if transit is None else CAPP_P1,
            0x02,
            bytes([key_index]) + amount.to_bytes(4, "big") + terminal_id,
            le=15,
        )
        if len(init) != 15:
            raise ProtocolError(f"INITIALIZE FOR PURCHASE answer is 15 bytes, got {len(init)}")
        balance = int.from_bytes(init[0:4], "big")  # unsigned (PBOC)
        atc = int.from_bytes(init[4:6], "big")
        key_version, alg_id, random = init[9], init[10], init[11:15]
        try:
            algorithm = Algorithm(alg_id)
        except ValueError as exc:
            raise ProtocolError(f"unknown algorithm id {alg_id:02X}") from exc
        date, time = card_now(now)
        if transit is not None:
            # Before the PSAM's 80 70: a refused record costs no TTC and leaves no intent.
            self.session.send_apdu(
                0x80, INS_UPDATE_CAPP_DATA_CACHE, transit.record_number, SFI_CAPP << 3,
                transit.make(atc, date, time),
            )  # fmt: skip
        ttc, mac1 = psam.init_for_purchase(
            card_random=random,
            offline_atc=atc,
            amount=amount,
            ttype=ttype,
            date=date,
            time=time,
            key_version=key_version,
            algorithm=algorithm,
            asn=asn,
            issuer_id=self.public_info().issuer_id if psam.two_level else None,
        )
        intent = PurchaseIntent(
            asn=asn,
            terminal_id=terminal_id,
            amount=amount,
            balance_before=balance,
            offline_atc=atc,
            ttc=ttc,
            date=date,
            time=time,
            key_version=key_version,
            algorithm=algorithm,
            ttype=ttype,
        )
        on_intent(intent)
        try:
            resp = self.session.send_apdu(
                0x80, Ins.DEBIT_FOR_PURCHASE, 0x01, 0x00,
                ttc.to_bytes(4, "big") + date + time + mac1, le=8,
            )  # fmt: skip
        except DeviceError as exc:
            raise DebitOutcomeUnknown(intent, exc) from exc
        if len(resp) != 8:
            raise ProtocolError(f"DEBIT answer is 8 bytes, got {len(resp)}")
        tac, mac2 = resp[:4], resp[4:]
        try:
            psam.check_mac2(mac2)
            verified = True
        except MacError:
            # The card did debit; the record is kept and flagged, never dropped.
            verified = False
        return PurchaseResult(intent=intent, tac=tac, mac2=mac2, mac2_verified=verified)

    def transaction_prove(self, ttype: int, atc: int) -> tuple[bytes, bytes]:
        """GET TRANSACTION PROVE: (MAC2, TAC) of the card's last transaction if it is
        (ttype, atc); raises NoTransactionToProveError otherwise."""
        resp = self.session.send_apdu(
            0x80, Ins.GET_TRANSACTION_PROVE, 0x00, ttype, atc.to_bytes(2, "big"), le=8
        )
        if len(resp) != 8:
            raise ProtocolError("GET TRANSACTION PROVE answer is 8 bytes")
        return resp[:4], resp[4:]

    def settle(self, intent: PurchaseIntent) -> Settlement:
        """Find out, from this card alone, what became of a purchase whose DEBIT answer
        was lost. Deterministic: asking twice gives the same answer, so the caller that
        closes the intent with the result settles it exactly once."""
        if intent.asn != self.asn:
            raise ValueError("this is not the card the intent was made with")
        try:
            mac2, tac = self.transaction_prove(intent.ttype, intent.offline_atc)
            return Settlement(SettlementKind.DEBITED, intent, tac=tac, mac2=mac2)
        except NoTransactionToProveError:
            pass
        for record in self.log():
            if (
                record.ttype == intent.ttype
                and record.atc == intent.offline_atc
                and record.amount == intent.amount
                and record.terminal_id == intent.terminal_id
                and (record.date, record.time) == (intent.date, intent.time)
            ):
                return Settlement(SettlementKind.DEBITED_UNPROVEN, intent)
        return Settlement(SettlementKind.NOT_DEBITED, intent)

    # -- load --------------------------------------------------------------------------
    def load(
        self,
        terminal_id: bytes,
        amount: int,
        *,
        authorize: Callable[[LoadRequest], LoadAuthorization],
        key_index: int = DEFAULT_KEY_INDEX,
    ) -> LoadResult:
        """Credit ``amount`` fen; ``authorize`` relays the request to the host (the only
        holder of the load key) and returns its MAC2."""
        if amount <= 0:
            raise ValueError("amount must be positive fen")
        asn = self.asn  # read before INITIALIZE, which the next command must follow
        init = self.session.send_apdu(
            0x80,
            Ins.INITIALIZE,
            0x00,
            0x02,
            bytes([key_index]) + amount.to_bytes(4, "big") + terminal_id,
            le=16,
        )
        if len(init) != 16:
            raise ProtocolError(f"INITIALIZE FOR LOAD answer is 16 bytes, got {len(init)}")
        request = LoadRequest(
            asn=asn,
            terminal_id=terminal_id,
            amount=amount,
            balance_before=int.from_bytes(init[0:4], "big"),  # unsigned (PBOC)
            online_atc=int.from_bytes(init[4:6], "big"),
            key_version=init[6],
            algorithm=Algorithm(init[7]),
            card_random=init[8:12],
            mac1=init[12:16],
        )
        auth = authorize(request)
        tac = self.session.send_apdu(
            0x80, Ins.CREDIT_FOR_LOAD, 0x00, 0x00, auth.date + auth.time + auth.mac2, le=4
        )
        if len(tac) != 4:
            raise ProtocolError("CREDIT FOR LOAD answer is 4 bytes")
        return LoadResult(request=request, authorization=auth, tac=tac)

    # -- maintenance -------------------------------------------------------------------
    def get_challenge(self, length: int = 4) -> bytes:
        return self.session.send_apdu(0x00, Ins.GET_CHALLENGE, 0x00, 0x00, le=length)

    def _sm_command(self, psam: PsamClient, ins: int, p2: int, role: KeyRole) -> None:
        # Read what the MAC needs first: the challenge serves the very next command only.
        key_version, algorithm, asn = self.key_version, self.algorithm, self.asn
        issuer_id = self.public_info().issuer_id
        challenge = self.get_challenge()
        header = bytes([0x84, ins, 0x00, p2, 0x04])
        mac = psam.maintenance_mac(
            key_version=key_version, algorithm=algorithm, asn=asn, challenge=challenge,
            data=header, role=role, issuer_id=issuer_id,
        )  # fmt: skip
        self.session.send_apdu(0x84, ins, 0x00, p2, mac)

    def block(self, psam: PsamClient, *, permanent: bool = False) -> None:
        """APPLICATION BLOCK with the PSAM's maintenance MAC (hotlisted card)."""
        self._sm_command(
            psam, Ins.APPLICATION_BLOCK, 0x01 if permanent else 0x00, KeyRole.APP_BLOCK
        )

    def unblock(self, psam: PsamClient) -> None:
        """APPLICATION UNBLOCK (clerk's counter)."""
        self._sm_command(psam, Ins.APPLICATION_UNBLOCK, 0x00, KeyRole.APP_UNBLOCK)


def parse_fci(fci: bytes) -> bytes | None:
    """The public-info bytes carried in the FCI (tag 9F0C), if present."""
    return tlv.find(fci, 0x9F0C)
