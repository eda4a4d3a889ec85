"""What the core tells a UI: one :class:`Screen` per change, plus progress and timeouts.

Everything here is plain frozen data. Words are the UI's: the core gives codes
(:mod:`kiosk.codes`: ``refusal=Refusal.HOTLISTED``, ``notices=(Notice.CARD_PULLED,)``)
and the catalog's own names already picked for the current language. Money is
integer fen; the UI formats it with :func:`kiosk.money.format_fen`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "CardView",
    "ConfirmView",
    "DiagRow",
    "FieldView",
    "FormView",
    "HistoryLine",
    "InfoView",
    "KioskEvent",
    "Language",
    "MaintenanceView",
    "MenuGroup",
    "MenuItem",
    "PinView",
    "Progress",
    "ResultView",
    "Screen",
    "ScreenChanged",
    "TimeoutCleared",
    "TimeoutWarning",
    "pick",
]


class Language(StrEnum):
    """Languages every service name and UI text exists in."""

    ZH_HANS = "zh-Hans"
    ZH_HANT = "zh-Hant"
    EN = "en"


def pick(texts: Mapping[str, str], language: Language) -> str:
    """The text in ``language``, falling back to Simplified Chinese, then any."""
    return texts.get(language.value) or texts.get("zh-Hans") or next(iter(texts.values()), "")


@dataclass(frozen=True)
class CardView:
    """The card as a screen may show it: masked, never the full number or ID."""

    card_number_masked: str
    holder_masked: str
    balance_fen: int | None
    expiry: dt.date


@dataclass(frozen=True)
class PinView:
    """PIN pad state. Only the number of digits typed leaves the core, never digits."""

    length: int
    max_length: int
    tries_left: int | None
    wrong: bool = False  # the last try was wrong
    label: str = "pin"  # which PIN: "pin", "old_pin", "new_pin", "new_pin_again"


@dataclass(frozen=True)
class MenuItem:
    service_id: str
    title: str
    available: bool
    why_not: str | None = None  # "needs_network", "offline_limit"...
    price_fen: int | None = None  # fixed-price items


@dataclass(frozen=True)
class MenuGroup:
    group_id: str
    title: str
    items: tuple[MenuItem, ...]
    kind: str = "topic"  # "stage" (life stage) or "topic"


@dataclass(frozen=True)
class FieldView:
    name: str
    label: str
    kind: str  # "text", "digits", "amount", "choice", "pin", "code"
    value: str  # for "pin" fields: "*" per digit, never digits
    required: bool
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    error: str | None = None  # "required", "too_long", "not_a_number", "out_of_range"...
    focused: bool = False
    min_fen: int | None = None  # an amount field's allowed range (fen), for its error text
    max_fen: int | None = None


@dataclass(frozen=True)
class FormView:
    service_id: str
    title: str
    fields: tuple[FieldView, ...]
    error: str | None = None  # refusal of the whole form ("bill_not_found"...)


@dataclass(frozen=True)
class ConfirmView:
    """What the citizen is asked to agree to."""

    service_id: str
    title: str
    kind: str  # "debit" (from the purse) or "load" (onto the purse) or "change_pin"
    amount_fen: int
    payee: str
    details: tuple[tuple[str, str], ...]  # (label code, value), e.g. ("period", "2026-10")
    balance_fen: int | None
    balance_after_fen: int | None


@dataclass(frozen=True)
class HistoryLine:
    when: dt.datetime
    kind: str  # "purchase" | "load"
    amount_fen: int
    terminal_id: str


@dataclass(frozen=True)
class InfoView:
    service_id: str
    title: str
    balance_fen: int | None = None
    history: tuple[HistoryLine, ...] = ()
    details: tuple[tuple[str, str], ...] = ()
    printable: bool = False  # offer "print" (KioskController.print_answer)
    receipt: str = "none"  # after printing: "printed", "queued", "none"


@dataclass(frozen=True)
class ResultView:
    """The outcome of a service: money moved, the card changed, or a number to keep."""

    service_id: str
    title: str
    ok: bool
    code: str  # "paid", "loaded", "pin_changed", or why not ("insufficient_balance"...)
    amount_fen: int = 0
    balance_after_fen: int | None = None
    transaction_id: str | None = None
    receipt: str = "none"  # "printed", "queued" (printer failed, kept), "skipped", "none"
    kind: str = "payment"  # kiosk.flows.base.OutcomeKind: payment, load, ticket...
    reference: str | None = None  # a tracking, ticket or queue number


@dataclass(frozen=True)
class DiagRow:
    """One device or self-test as a technician sees it: codes, the UI has the words."""

    name: str  # a device kind ("printer") or a self-test ("test_print")
    health: str  # "ok", "warning", "fault"
    code: str  # what decided it ("paper_out")
    next_step: str  # what to do ("load_paper")
    facts: tuple[tuple[str, str], ...] = ()  # (name, value), values already text


@dataclass(frozen=True)
class MaintenanceView:
    """The maintenance journey's screen: which page, and what it shows."""

    page: str  # "home", "status", "tests", "reason", "result", "lines"
    technician: str  # the card number, masked
    health: str | None = None  # the whole kiosk's (status)
    rows: tuple[DiagRow, ...] = ()  # devices (status) or self-tests (tests)
    tests: tuple[str, ...] = ()  # the self-tests one can run
    reasons: tuple[str, ...] = ()  # out-of-service reasons to choose from
    out_of_service: str | None = None  # the reason, when the kiosk is out of service
    action: str | None = None  # the action a result or a list of lines belongs to
    ok: bool | None = None  # the action's result
    details: tuple[tuple[str, str], ...] = ()  # (label code, value) of a result
    lines: tuple[str, ...] = ()  # config, APDU trace, problems


@dataclass(frozen=True)
class Screen:
    """Everything the UI needs to draw the current state; sections not used are None."""

    state: StrEnum  # a state of the current journey (kiosk.journeys)
    language: Language
    elder_mode: bool
    journey: str = "citizen"
    timeout_s: float | None = None  # seconds the citizen has in this state, if timed
    notices: tuple[str, ...] = ()  # kiosk.codes.Notice: card_pulled, timed_out...
    busy: str | None = None  # the step a busy state is doing (kiosk.codes.Step)
    cancellable: bool = False
    card: CardView | None = None
    refusal: str | None = None  # CARD_REFUSED: "hotlisted", "expired", "not_genuine"...
    pin: PinView | None = None
    menu: tuple[MenuGroup, ...] = ()
    online: bool = True
    form: FormView | None = None
    confirm: ConfirmView | None = None
    info: InfoView | None = None
    result: ResultView | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    role: str | None = None  # an operator card's role (the maintenance journey)
    maintenance: MaintenanceView | None = None  # the technician's pages
    audio_mode: bool = False  # spoken guidance is on (the headset key): timeouts are longer


@dataclass(frozen=True)
class ScreenChanged:
    screen: Screen


@dataclass(frozen=True)
class Progress:
    """A busy state's step (``"reading_card"``, ``"debiting"``, ``"printing"``...)."""

    step: str
    fraction: float | None = None


@dataclass(frozen=True)
class TimeoutWarning:
    """The citizen has ``seconds_left`` before the session moves on; offer more time."""

    seconds_left: float


@dataclass(frozen=True)
class TimeoutCleared:
    """The warning is over (more time given, or the citizen acted)."""


KioskEvent = ScreenChanged | Progress | TimeoutWarning | TimeoutCleared
