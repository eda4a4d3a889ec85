"""What a service flow is, and what it is given (:class:`FlowEnv`).

A **flow** is one kind of citizen service in one module (``kiosk/flows/<name>.py``):
the fields it reads, when it is available, how it prepares (a :class:`Quote` to
confirm, or an :class:`Answer` to show), how it executes (an :class:`Outcome`),
what its receipt carries and where its payee comes from. The catalog names a flow
per service; a service on a known flow needs no kiosk release, and a new flow is a
new module plus its registration (:mod:`kiosk.flows`).

Flows run on the worker thread (``prepare``, ``execute``, ``release``) or on the
core thread (``why_not``, fast: no device, no network).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, Protocol

from kiosk.codes import FieldError, Notice, OutcomeCode, ReceiptState, WhyNot
from kiosk.core.clock import Clock
from kiosk.core.forms import FieldSpec
from kiosk.core.views import HistoryLine, Language
from kiosk.core.worker import JobContext

if TYPE_CHECKING:
    from backend_sync.terminal.ballots import BallotBox
    from backend_sync.terminal.client import CentralClient
    from backend_sync.terminal.downloads import DownloadStore
    from backend_sync.terminal.outbox import Outbox
    from cardlib.identity import Identity
    from cardlib.layout import Holder, PublicInfo
    from cardlib.purse import Purse
    from kiosk.catalog import ServiceEntry
    from kiosk.receipts.layouts import Receipt
    from kiosk.receipts.slips import Slip
    from kiosk.services.transactions import Transactions

__all__ = [
    "Answer",
    "BaseFlow",
    "CardGone",
    "CardSession",
    "Flow",
    "FlowEnv",
    "FormError",
    "MoreFields",
    "Network",
    "OfflineLimits",
    "Outcome",
    "OutcomeKind",
    "PayeeRef",
    "PayeeSource",
    "Quote",
    "QuoteKind",
    "ServiceUnavailable",
]

log = logging.getLogger(__name__)


class QuoteKind(StrEnum):
    """What the citizen confirms (``ConfirmView.kind``)."""

    DEBIT = "debit"  # money from the purse
    LOAD = "load"  # money onto the purse
    CHANGE_PIN = "change_pin"
    SUBMIT = "submit"  # no money: a request, a booking
    VOTE = "vote"  # a poll's ballot: cannot be changed once confirmed


class OutcomeKind(StrEnum):
    """What an execution produced: money moved, or something else worth keeping."""

    PAYMENT = "payment"
    LOAD = "load"
    CARD_CHANGE = "card_change"
    ANSWER = "answer"
    TRACKING_NUMBER = "tracking_number"
    TICKET = "ticket"
    QUEUE_NUMBER = "queue_number"
    BOOKING = "booking"  # an appointment at the service hall: the reference is its number
    VOTE = "vote"  # a ballot cast: the reference is the token hash, never the choice


class PayeeSource(StrEnum):
    """Where a quote's payee comes from, so the central can derive it and check it."""

    NONE = "none"  # no money to anyone (queries, PIN change, requests)
    PAYMENT_ORDER = "payment_order"  # the central's order for a bill (held before the debit)
    CATALOG_ITEM = "catalog_item"  # the catalog's item, of a stated catalog version
    FUNDING = "funding"  # a top-up: the citizen's linked funding account


@dataclass(frozen=True)
class PayeeRef:
    """The payee's origin: an order reference, or a catalog item and version."""

    source: PayeeSource
    service_id: str = ""
    catalog_version: int | None = None
    order_reference: str | None = None


@dataclass(frozen=True)
class Quote:
    """A prepared action waiting for the citizen's yes (money, or a card change)."""

    service_id: str
    titles: Mapping[str, str]
    flow: str
    kind: QuoteKind
    amount_fen: int = 0
    payee: str = ""
    details: tuple[tuple[str, str], ...] = ()
    balance_fen: int | None = None
    needs_receipt: bool = True
    payee_ref: PayeeRef = PayeeRef(PayeeSource.NONE)
    data: Mapping[str, object] = field(default_factory=dict)  # for execute(): reference...
    # Details in each language (a poll's question and option, from its signed
    # document); ``details`` is shown for a language not in here.
    details_by_language: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """A query's answer: nothing to confirm (INFO)."""

    service_id: str
    titles: Mapping[str, str]
    balance_fen: int | None = None
    history: tuple[HistoryLine, ...] = ()
    details: tuple[tuple[str, str], ...] = ()
    printable: bool = False  # the citizen may print it (a signed slip)
    flow: str = ""  # set by the kiosk: the flow that answered


@dataclass(frozen=True)
class Outcome:
    """What an execution did. ``reference`` is a tracking, ticket or queue number."""

    ok: bool
    code: OutcomeCode
    kind: OutcomeKind = OutcomeKind.PAYMENT
    amount_fen: int = 0
    balance_after_fen: int | None = None
    transaction_id: str | None = None
    receipt: ReceiptState = ReceiptState.NONE
    ttc: int | None = None  # the PSAM's transaction counter of a purchase (receipts)
    reference: str | None = None
    details: tuple[tuple[str, str], ...] = ()

    def with_receipt(self, receipt: ReceiptState) -> Outcome:
        return replace(self, receipt=receipt)


class FormError(Exception):
    """The service refuses the form (``code`` for the UI, on ``field_name``)."""

    def __init__(self, code: FieldError, field_name: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field_name = field_name


class MoreFields(Exception):
    """The form goes on: ``fields`` (the ones so far plus the next, with choices the
    flow found live at the central: a hall service's free slots, a day's departures).
    The journey shows the form again with them; prepare runs again on submit."""

    def __init__(self, titles: Mapping[str, str], fields: tuple[FieldSpec, ...]) -> None:
        super().__init__([f.name for f in fields])
        self.titles = titles
        self.fields = fields


class ServiceUnavailable(Exception):
    """The service cannot run now (``code``: a notice for the menu)."""

    def __init__(self, code: Notice) -> None:
        super().__init__(code)
        self.code = code


class CardGone(Exception):
    """The card left the reader during a job."""


@dataclass
class Network:
    """Whether the central answered lately (the sync agent and online calls set it),
    and the central's clock minus ours at the last time sample (None: never sampled)."""

    online: bool = True
    skew_ms: int | None = None


@dataclass(frozen=True)
class OfflineLimits:
    max_hotlist_age_s: int = 24 * 3600
    max_card_offline_fen: int = 20_000


@dataclass
class CardSession:
    """The inserted, checked card (after its PIN for a citizen)."""

    purse: Purse
    identity: Identity
    info: PublicInfo
    holder: Holder

    @property
    def asn_hex(self) -> str:
        return self.info.asn.hex().upper()


@dataclass
class FlowEnv:
    """Everything a flow may use; built by the kiosk's ops for each call."""

    clock: Clock
    network: Network
    limits: OfflineLimits
    catalog_version: int = 0
    terminal_id: str = ""
    card: CardSession | None = None
    tx: Transactions | None = None
    outbox: Outbox | None = None
    client: CentralClient | None = None
    store: DownloadStore | None = None
    on_record: Callable[[], None] = lambda: None
    ballots: BallotBox | None = None  # the kiosk's ballot box (polls), beside the outbox
    # Upload closed records now, on this thread (a bus ticket's QR is signed by the
    # central only for a paid order); None: the sync thread does it soon.
    upload: Callable[[], object] | None = None

    @property
    def online(self) -> bool:
        return self.network.online and self.client is not None

    def need_card(self) -> CardSession:
        if self.card is None:
            raise CardGone("no card session")
        return self.card

    def need_tx(self) -> Transactions:
        if self.tx is None:
            raise CardGone("no PSAM or outbox")
        return self.tx

    def central_down(self) -> None:
        """An online call found the central unreachable: the menu says so from now."""
        self.network.online = False

    def offline_refusal(self, amount_fen: int) -> WhyNot | None:
        """Offline sales stay within the hotlist's age and the card's offline amount
        (its purchases not yet acknowledged by the central, and those left unsettled,
        counted by the outbox)."""
        if self.store is None:
            return WhyNot.OFFLINE_LIMIT
        age = self.store.hotlist().age_s(self.clock.now().timestamp())
        if age > self.limits.max_hotlist_age_s:
            return WhyNot.OFFLINE_LIMIT
        if self.card is not None and self.outbox is not None:
            spent = self.outbox.card_offline_spend(self.card.asn_hex)
            if spent + amount_fen > self.limits.max_card_offline_fen:
                return WhyNot.OFFLINE_LIMIT
        return None


class Flow(Protocol):
    """One kind of service. Implementations subclass :class:`BaseFlow`."""

    @property
    def name(self) -> str:
        """The catalog's ``flow`` value."""
        ...

    @property
    def fields(self) -> tuple[str, ...]:
        """Form fields it reads: the catalog entry must declare them."""
        ...

    @property
    def payee(self) -> PayeeSource:
        """Where its payee comes from (the central derives it from there)."""
        ...

    @property
    def needs_card(self) -> bool:
        """False: offered without a card (from the attract screen)."""
        ...

    def check(self, entry: ServiceEntry) -> str | None:
        """Why ``entry`` cannot run on this flow (the catalog leaves it out), or None."""
        ...

    def why_not(self, entry: ServiceEntry, env: FlowEnv) -> WhyNot | None:
        """Why it cannot be chosen now (fast: no device, no network), or None."""
        ...

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        """A quote to confirm or an answer to show. Raises FormError (back to the
        form), ServiceUnavailable (back to the menu), CardGone, Cancelled."""
        ...

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        """Do it. ``pins`` holds the form's PIN fields for this call only. Raises
        CardGone when the card left (a lost DEBIT is settled on its return)."""
        ...

    def release(self, quote: Quote, env: FlowEnv) -> None:
        """The citizen declined ``quote`` (back, cancel, timeout, card pulled): let go
        of whatever preparing it holds. Runs on the worker."""
        ...

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        """What the receipt of a successful outcome carries (None: no receipt)."""
        ...

    def answer_slip(self, answer: Answer, language: Language, at: dt.datetime) -> Slip | None:
        """The slip a printable answer is printed on (None: not printable)."""
        ...


class BaseFlow:
    """Defaults: no fields, no payee, available when its network need is met, nothing
    held, no receipt. A flow overrides what it does differently."""

    name: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ()
    payee: ClassVar[PayeeSource] = PayeeSource.NONE
    needs_card: ClassVar[bool] = True
    always_online: ClassVar[bool] = False  # needs the central whatever the catalog says
    # True: the receipt names no card (a poll's slip must not join card and token).
    anonymous_receipt: ClassVar[bool] = False

    def check(self, entry: ServiceEntry) -> str | None:
        have = {f.name for f in entry.fields}
        missing = [n for n in self.fields if n not in have]
        if missing:
            return f"flow {self.name} needs fields {missing}"
        if self.payee in (PayeeSource.CATALOG_ITEM, PayeeSource.PAYMENT_ORDER) and (
            entry.payment is None or not entry.payment.payee
        ):
            return f"a {self.name} service needs payment.payee"
        return None

    def why_not(self, entry: ServiceEntry, env: FlowEnv) -> WhyNot | None:
        if self.needs_card and entry.needs.card and env.card is None:
            return WhyNot.NEEDS_CARD
        if (self.always_online or entry.needs.network) and not env.online:
            return WhyNot.NEEDS_NETWORK
        return None

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        raise NotImplementedError(self.name)

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        raise NotImplementedError(f"{self.name} has nothing to execute")

    def release(self, quote: Quote, env: FlowEnv) -> None:
        log.debug("quote for %s declined: nothing held", quote.service_id)

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        return None

    def answer_slip(self, answer: Answer, language: Language, at: dt.datetime) -> Slip | None:
        if not answer.printable:
            return None
        from kiosk.core.views import pick
        from kiosk.receipts.slips import answer_slip

        history = tuple((h.when, h.kind, h.amount_fen) for h in answer.history)
        return answer_slip(pick(answer.titles, language), answer.balance_fen, history,
                           answer.details, language.value, at)  # fmt: skip
