"""The counter station: its devices, the clerk's login, the operator card as signer.

See the package docstring (``kiosk.counter``) for the whole API.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from backend_sync.station_events_wire import STATION_REASONS
from backend_sync.terminal.client import CentralClient, CentralRefused, CentralUnavailable
from backend_sync.terminal.outbox import Outbox
from cardlib.apdu import ApduSession, Connection
from cardlib.certs import Role
from cardlib.errors import (
    AccessDeniedError,
    ApplicationLockedError,
    AuthenticationError,
    CardError,
    DeviceError,
    InvalidPinError,
    PinBlockedError,
    RoleError,
)
from cardlib.identity import Identity
from cardlib.psam import PsamClient
from cardlib.purse import Purse
from kiosk.counter.events import StationEvents
from kiosk.counter.journal import JournalEntry, OpJournal

if TYPE_CHECKING:
    from kiosk.counter.session import CounterSession

__all__ = ["CitizenCard", "CounterDevices", "CounterError", "CounterStation", "OperatorCard"]

OPERATOR_ROLES = (Role.CLERK, Role.SUPERVISOR)

log = logging.getLogger(__name__)


class CounterError(Exception):
    """A counter operation refused or failed, with a stable ``reason`` for the UI
    (the central's refusal reasons pass through; ``tries_left`` for a wrong PIN)."""

    def __init__(self, reason: str, detail: str = "", *, tries_left: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.tries_left = tries_left


@dataclass
class CounterDevices:
    """The readers of one counter: the clerk's card, the citizen's card, the PSAM."""

    open_clerk_card: Callable[[], Connection]
    open_citizen_card: Callable[[], Connection]
    psam: Connection
    clerk_present: Callable[[], bool] = lambda: True
    # A second operator slot for a supervisor's card (two-person steps need both cards
    # in at once); None: the supervisor uses the clerk's reader.
    open_supervisor_card: Callable[[], Connection] | None = None


class OperatorCard:
    """A logged-in operator's card: signs one request per central nonce (the card
    refuses unless its PIN was verified in this card session)."""

    def __init__(
        self, identity: Identity, certificate: bytes, number: str, role: Role, name: str = ""
    ) -> None:
        self._identity = identity
        self._cert = certificate
        self.number = number
        self.role = role
        self.name = name  # the holder name on the card, for the screen and the receipt

    @property
    def asn(self) -> str:
        return self._identity.asn.hex().upper()

    @property
    def certificate(self) -> bytes:
        return self._cert

    def sign(self, digest: bytes) -> bytes:
        try:
            return self._identity.operator_sign(digest)
        except AccessDeniedError as exc:  # 6982: its PIN is not verified (any more)
            raise CounterError("session_locked", "the operator card no longer signs") from exc
        except CardError as exc:  # gone, or another card / a card not selected
            raise CounterError("session_locked", f"operator card: {exc}") from exc


@dataclass(frozen=True)
class CitizenCard:
    """The citizen's card in the counter's reader, as read."""

    asn: str
    card_number: str
    name: str
    balance_fen: int | None  # None: blocked on the chip, the purse does not answer
    blocked: bool
    expiry: dt.date


def central_call(fn: Callable[[], Any]) -> Any:
    """Run a central request; its refusal or absence as a :class:`CounterError`."""
    try:
        return fn()
    except CentralRefused as exc:
        raise CounterError(exc.reason, exc.detail) from exc
    except CentralUnavailable as exc:
        raise CounterError("central_unavailable", str(exc)) from exc


class CounterStation:
    """One counter position: devices, its terminal (outbox, central client, key), its
    drawer, the issuer CAs operator and citizen cards must chain to."""

    def __init__(
        self,
        devices: CounterDevices,
        *,
        central: CentralClient,
        outbox: Outbox,
        trusted: list[x509.Certificate],
        drawer: str,
        receipt_key: ec.EllipticCurvePrivateKey,
        journal: OpJournal | Path,
        upload: Callable[[], object] = lambda: None,
        idle_timeout_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        events: StationEvents | None = None,
    ) -> None:
        self.devices = devices
        self.central = central
        self.outbox = outbox
        self.trusted = trusted
        self.drawer = drawer
        self.receipt_key = receipt_key
        self.journal = journal if isinstance(journal, OpJournal) else OpJournal(journal)
        self.upload = upload
        self.idle_timeout_s = idle_timeout_s
        self.clock = clock
        self.now = now
        self._psam: PsamClient | None = None
        # Refusals decided here, for the central's audit (None: not kept, a bare core).
        self.events = events

    @property
    def terminal_id(self) -> str:
        return self.outbox.terminal_id

    def psam(self) -> PsamClient:
        if self._psam is None:
            self._psam = PsamClient(ApduSession(self.devices.psam))
        return self._psam

    def _operator(
        self, pin: str, roles: tuple[Role, ...], reader: Callable[[], Connection] | None = None
    ) -> OperatorCard:
        seen: dict[str, str] = {}  # what the card showed before it was refused
        try:
            return self._operator_card(pin, roles, reader, seen)
        except CounterError as exc:
            if exc.reason in STATION_REASONS:  # refused here alone: for the central's audit
                detail = exc.detail if exc.tries_left is None else f"tries_left={exc.tries_left}"
                self.note_refusal(exc.reason, asn=seen.get("asn"), role=seen.get("role"),
                                  detail=detail)  # fmt: skip
            raise

    def note_refusal(
        self, reason: str, *, asn: str | None = None, role: str | None = None, detail: str = ""
    ) -> None:
        """A refusal the station decided alone: kept on disk and sent to the central's
        counter audit on a thread of its own (``kiosk.counter.events``); a failure to
        keep it is logged, never in the clerk's way."""
        if self.events is None:
            return
        try:
            self.events.record(reason, asn=asn, role=role, detail=detail)
        except (OSError, ValueError) as exc:
            log.error("station event %s not kept: %s", reason, exc)
            return
        self.events.send_soon()

    def _operator_card(
        self,
        pin: str,
        roles: tuple[Role, ...],
        reader: Callable[[], Connection] | None,
        seen: dict[str, str],
    ) -> OperatorCard:
        try:
            purse = Purse(ApduSession((reader or self.devices.open_clerk_card)()))
            seen["asn"] = purse.asn.hex().upper()
            identity = Identity.of(purse)
            cert = identity.authenticate(trusted=self.trusted, now=self.now(), role=None)
            seen["role"] = cert.role.value
            if not cert.role.is_operator:
                raise CounterError("not_an_operator", f"a {cert.role.value} card")
            if cert.role not in roles:
                raise CounterError("operator_role", f"a {cert.role.value} card")
            identity.verify_pin(pin)
            holder = purse.holder()
            number = holder.card_number
        except InvalidPinError as exc:
            raise CounterError("wrong_pin", tries_left=exc.tries_left) from exc
        except PinBlockedError as exc:
            raise CounterError("pin_blocked") from exc
        except RoleError as exc:
            raise CounterError("not_an_operator", str(exc)) from exc
        except AuthenticationError as exc:
            raise CounterError("operator_not_genuine", str(exc)) from exc
        except DeviceError as exc:
            raise CounterError("no_operator_card", str(exc)) from exc
        except CardError as exc:
            raise CounterError("operator_card_error", str(exc)) from exc
        return OperatorCard(
            identity, cert.certificate.public_bytes(Encoding.DER), number, cert.role, holder.name
        )

    def login(self, pin: str) -> CounterSession:
        """The clerk's card in the clerk reader and its PIN, verified on the card."""
        from kiosk.counter.session import CounterSession

        session = CounterSession(self, self._operator(pin, OPERATOR_ROLES))
        if self.events is not None and self.events.pending():
            self.events.send_soon()  # what waited while the central was away
        return session

    def supervisor(self, pin: str) -> OperatorCard:
        """A supervisor's card (in the supervisor slot) for a two-person step."""
        return self._operator(pin, (Role.SUPERVISOR,), self.devices.open_supervisor_card)

    def unfinished_ops(self) -> list[JournalEntry]:
        """Operations this counter began and did not finish (resume or reverse them)."""
        return self.journal.unfinished()

    def open_citizen(self) -> Purse:
        """The citizen's card in the citizen reader, its application selected."""
        try:
            return Purse(ApduSession(self.devices.open_citizen_card()))
        except DeviceError as exc:
            raise CounterError("no_citizen_card", str(exc)) from exc
        except ApplicationLockedError as exc:  # 9303: blocked for good (closed, replaced)
            raise CounterError("card_terminated", "the card is closed for good") from exc
        except CardError as exc:
            raise CounterError("citizen_card_error", str(exc)) from exc
