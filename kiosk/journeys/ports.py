"""What the kiosk's journeys ask of its domain (:class:`KioskOps`).

Every method but :meth:`KioskOps.menu`, :meth:`KioskOps.form` and
:meth:`KioskOps.ready_now` blocks (card, network, printer) and is called on the
worker thread, with a :class:`~kiosk.core.worker.JobContext` to honour cancel and
report progress. :class:`kiosk.services.ops.CardKioskOps` implements it over
cardlib, the outbox, the central, the printer and the flows
(:mod:`kiosk.flows`); the fast machine tests use a fake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cardlib.certs import Role
from kiosk.codes import Notice, PrinterProblem, ReceiptState, Refusal
from kiosk.core.forms import ServiceForm
from kiosk.core.views import CardView, Language, MenuGroup
from kiosk.core.worker import JobContext
from kiosk.flows.base import Answer, Outcome, Quote

if TYPE_CHECKING:
    from kiosk.diagnostics import (
        BundleResult,
        SelfTestName,
        SelfTestResult,
        StatusReport,
        SyncResult,
    )

__all__ = ["CardCheck", "KioskOps", "PinOutcome", "PrinterCheck", "TechnicianTools"]


@dataclass(frozen=True)
class CardCheck:
    """The card checked at insertion: accepted (``card``, ``role``) or refused."""

    card: CardView | None
    refusal: Refusal | None = None
    pin_tries: int | None = None
    notices: tuple[Notice, ...] = ()  # torn purchases of this card, settled now
    online: bool = True
    role: Role = Role.CITIZEN  # from the card's certificate: it picks the journey
    operator_number: str | None = None  # an operator card's number (audits its actions)


@dataclass(frozen=True)
class PinOutcome:
    ok: bool
    tries_left: int
    blocked: bool = False


@dataclass(frozen=True)
class PrinterCheck:
    ready: bool
    problem: PrinterProblem | None = None


class TechnicianTools(Protocol):
    """What the maintenance journey asks of :class:`kiosk.diagnostics.Diagnostics`.

    Every call blocks (chips, printer, central): the journey runs them as worker
    jobs. ``technician`` (the card number) makes the facade audit the action."""

    def status(self, *, central: bool = True) -> StatusReport: ...

    def run_self_test(self, name: SelfTestName, *, technician: str | None = None,
                      language: str = "zh-Hans") -> SelfTestResult: ...  # fmt: skip

    def force_sync(self, *, technician: str | None = None) -> SyncResult: ...

    def take_out_of_service(self, reason: str, *, technician: str | None = None) -> None: ...

    def back_in_service(self, *, technician: str | None = None) -> None: ...

    def out_of_service(self) -> dict[str, Any] | None: ...

    def config_view(self, *, technician: str | None = None) -> dict[str, Any]: ...

    def apdu_trace(self, *, technician: str | None = None) -> list[str]: ...

    def support_bundle(
        self, directory: Path, *, technician: str | None = None, upload: bool = True
    ) -> BundleResult: ...


class KioskOps(Protocol):
    """The kiosk's operations, run on the worker thread one at a time."""

    @property
    def diagnostics(self) -> TechnicianTools | None:
        """The technician's tools (None: this kiosk was built without them)."""
        ...

    @property
    def support_dir(self) -> Path | None:
        """Where support bundles are written (None: nowhere to write one)."""
        ...

    def ready(self) -> Notice | None:
        """None when sales can run; else why not (``NO_PSAM``, ``SALES_STOPPED``)."""
        ...

    def check_card(self, ctx: JobContext) -> CardCheck:
        """Read the inserted card, settle a torn purchase of it, check hotlist (block a
        listed card), expiry, authenticity and role; refusal codes or the card."""
        ...

    def verify_pin(self, pin: str, ctx: JobContext) -> PinOutcome:
        """VERIFY the PIN. ``pin`` is dropped by the caller as soon as this returns."""
        ...

    def menu(self, language: Language, *, card: bool = True) -> tuple[MenuGroup, ...]:
        """The services now, grouped, names in ``language``; with ``card`` False only
        those offered without a card. Fast: from the last synced catalog; a service
        that cannot run now is listed unavailable."""
        ...

    def form(self, service_id: str) -> ServiceForm | None:
        """The service's form, or None when it has no fields."""
        ...

    def prepare(
        self, service_id: str, values: Mapping[str, str], ctx: JobContext
    ) -> Quote | Answer:
        """What the service will do (its flow's prepare). Raises FormError,
        ServiceUnavailable, CardGone, Cancelled."""
        ...

    def release(self, quote: Quote) -> None:
        """The citizen said no: the quote's flow lets go of what it holds."""
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
        """Run the quote's flow and print its receipt (in ``language``). ``pins`` holds
        the form's PIN fields for this call only. Raises CardGone when the card left
        (a lost DEBIT is settled on its return)."""
        ...

    def print_answer(self, answer: Answer, language: Language, ctx: JobContext) -> ReceiptState:
        """Print a printable answer on a signed slip: PRINTED, QUEUED (kept for the
        printer), or NONE (no printer, or the flow prints no such answer)."""
        ...

    def end_card(self) -> None:
        """The card is gone or the session is over: forget it (PIN state, purse)."""
        ...
