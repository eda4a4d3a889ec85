"""What the session machine asks of the kiosk's domain (:class:`KioskOps`).

Every method blocks (card, network, printer) and is called on the worker thread,
never on the caller's; each takes a :class:`JobContext` to honour cancel and
report progress. :class:`kiosk.services.ops.CardKioskOps` is the implementation
over cardlib, the outbox, the central and the printer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from kiosk.core.views import CardView, HistoryLine, Language, MenuGroup

__all__ = [
    "Cancelled",
    "CardCheck",
    "CardGone",
    "FieldSpec",
    "FormError",
    "InfoResult",
    "JobContext",
    "KioskOps",
    "Outcome",
    "PinOutcome",
    "PrinterCheck",
    "Quote",
    "ServiceForm",
    "ServiceUnavailable",
]


class Cancelled(Exception):
    """The job saw its cancel event before doing anything irreversible."""


@dataclass
class JobContext:
    """Handed to each job: a cancel event and a progress callback."""

    cancel: threading.Event
    progress: Callable[[str, float | None], None]

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancel was asked. Jobs call it between steps,
        and never after the point of no return (the purchase intent)."""
        if self.cancel.is_set():
            raise Cancelled()


@dataclass(frozen=True)
class CardCheck:
    """The card checked at insertion: accepted (``card``) or refused (``refusal``)."""

    card: CardView | None
    refusal: str | None = None  # "hotlisted", "expired", "not_yet_valid", "not_genuine", ...
    pin_tries: int | None = None
    notices: tuple[str, ...] = ()  # "previous_debit_completed", "previous_debit_not_taken"...
    online: bool = True


@dataclass(frozen=True)
class PinOutcome:
    ok: bool
    tries_left: int
    blocked: bool = False


@dataclass(frozen=True)
class FieldSpec:
    """One form field as the catalog declares it."""

    name: str
    labels: Mapping[str, str]
    kind: str = "text"  # "text", "digits", "amount", "choice", "pin"
    required: bool = True
    max_length: int = 32
    min_value: int | None = None  # amounts in fen
    max_value: int | None = None
    choices: tuple[tuple[str, Mapping[str, str]], ...] = ()


@dataclass(frozen=True)
class ServiceForm:
    service_id: str
    titles: Mapping[str, str]
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class Quote:
    """A prepared money movement (or card change) waiting for the citizen's yes."""

    service_id: str
    titles: Mapping[str, str]
    kind: str  # "debit", "load", "change_pin"
    amount_fen: int
    payee: str
    details: tuple[tuple[str, str], ...] = ()
    balance_fen: int | None = None
    needs_receipt: bool = True
    data: Mapping[str, object] = field(default_factory=dict)  # for execute(): order id, ...


@dataclass(frozen=True)
class InfoResult:
    """A query's answer: nothing to confirm."""

    service_id: str
    titles: Mapping[str, str]
    balance_fen: int | None = None
    history: tuple[HistoryLine, ...] = ()
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PrinterCheck:
    ready: bool
    problem: str | None = None  # "paper_out", "no_answer", "cover_open", ...


@dataclass(frozen=True)
class Outcome:
    """What :meth:`KioskOps.execute` did."""

    ok: bool
    code: str  # "paid", "loaded", "pin_changed"; or "insufficient_balance", "card_pulled"...
    amount_fen: int = 0
    balance_after_fen: int | None = None
    transaction_id: str | None = None
    receipt: str = "none"  # "printed", "queued", "skipped", "none"
    ttc: int | None = None  # the PSAM's transaction counter of a purchase (receipts)


class FormError(Exception):
    """The prepared service refuses the form (``code`` for the UI: "bill_not_found")."""

    def __init__(self, code: str, field_name: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field_name = field_name


class ServiceUnavailable(Exception):
    """The service cannot run now (``code``: "needs_network", "offline_limit"...)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class CardGone(Exception):
    """The card left the reader during a job."""


class KioskOps(Protocol):
    """The kiosk's blocking operations, run on the worker thread one at a time."""

    def ready(self) -> str | None:
        """None when sales can run; else why not ("no_psam", "sales_stopped")."""
        ...

    def check_card(self, ctx: JobContext) -> CardCheck:
        """Read the inserted card, settle a torn purchase of it, check hotlist (block a
        listed card), expiry, authenticity; refusal codes or the accepted card."""
        ...

    def verify_pin(self, pin: str, ctx: JobContext) -> PinOutcome:
        """VERIFY the PIN. ``pin`` is dropped by the caller as soon as this returns."""
        ...

    def menu(self, language: Language) -> tuple[MenuGroup, ...]:
        """The services for this card now, grouped, names in ``language``. Fast: from
        the last synced catalog; a service that cannot run now is listed unavailable."""
        ...

    def form(self, service_id: str) -> ServiceForm | None:
        """The service's form, or None when it has no fields."""
        ...

    def prepare(
        self, service_id: str, values: Mapping[str, str], ctx: JobContext
    ) -> Quote | InfoResult:
        """Look up what the service will do (fetch and hold a bill, compute the price,
        answer a query). Raises FormError, ServiceUnavailable, CardGone, Cancelled."""
        ...

    def release(self, quote: Quote) -> None:
        """The citizen said no: let go of anything held for the quote."""
        ...

    def check_printer(self, ctx: JobContext) -> PrinterCheck: ...

    def execute(
        self,
        quote: Quote,
        *,
        receipt: bool,
        pins: Mapping[str, str],
        language: Language,
        ctx: JobContext,
    ) -> Outcome:
        """Do it: debit / load / change PIN, record it, print the receipt (in
        ``language``). ``pins`` holds the form's PIN fields (change PIN) for this call
        only. Raises CardGone when the card left (a lost DEBIT is settled on its
        return)."""
        ...

    def end_card(self) -> None:
        """The card is gone or the session is over: forget it (PIN state, purse)."""
        ...
