"""The session's states and the transitions allowed between them.

The machine (:mod:`kiosk.core.session`) refuses any move that is not in
:data:`TRANSITIONS`, so this table is the whole story of a session and the tests
walk every entry of it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["BUSY_STATES", "TIMED_STATES", "TRANSITIONS", "State"]


class State(StrEnum):
    """Where a session is. Busy states run a job on the worker (cancel may be offered)."""

    OUT_OF_SERVICE = "out_of_service"  # no PSAM, sales stopped, config broken
    ATTRACT = "attract"  # waiting for a card
    CHECKING_CARD = "checking_card"  # busy: read, settle a torn purchase, hotlist, expiry, genuine
    CARD_REFUSED = "card_refused"  # hotlisted (now blocked), expired, not genuine, unreadable
    PIN_ENTRY = "pin_entry"
    VERIFYING_PIN = "verifying_pin"  # busy
    MENU = "menu"  # services grouped by life stage and topic
    FORM = "form"  # the chosen service's fields
    PREPARING = "preparing"  # busy: bill lookup and hold, quote, query
    INFO = "info"  # a query's answer (balance, history): nothing to confirm
    CONFIRM = "confirm"  # amount and payee shown; citizen confirms or goes back
    CHECKING_PRINTER = "checking_printer"  # busy
    NO_PAPER = "no_paper"  # go on without a receipt, or stop
    PROCESSING = "processing"  # busy: debit / load / PIN change; not cancellable once begun
    DONE = "done"  # the outcome; another service or finish
    TAKE_CARD = "take_card"  # "please take your card"


BUSY_STATES = frozenset(
    {
        State.CHECKING_CARD,
        State.VERIFYING_PIN,
        State.PREPARING,
        State.CHECKING_PRINTER,
        State.PROCESSING,
    }
)

# States where the citizen is expected to act: each has a timeout with a warning
# and "more time" (kiosk.config Timeouts); busy states are bounded by the job.
TIMED_STATES = frozenset(
    {
        State.CARD_REFUSED,
        State.PIN_ENTRY,
        State.MENU,
        State.FORM,
        State.INFO,
        State.CONFIRM,
        State.NO_PAPER,
        State.DONE,
        State.TAKE_CARD,
    }
)

# (from, to) -> why. Card removal from any state with a card goes to ATTRACT and is
# listed per state, as is OUT_OF_SERVICE.
TRANSITIONS: dict[tuple[State, State], str] = {
    (State.OUT_OF_SERVICE, State.ATTRACT): "devices and outbox ready again",
    (State.ATTRACT, State.OUT_OF_SERVICE): "PSAM missing or sales stopped",
    (State.ATTRACT, State.CHECKING_CARD): "card inserted",
    (State.CHECKING_CARD, State.PIN_ENTRY): "card accepted",
    (State.CHECKING_CARD, State.CARD_REFUSED): "hotlisted, expired, not genuine, unreadable",
    (State.CHECKING_CARD, State.ATTRACT): "card pulled while being read",
    (State.CARD_REFUSED, State.TAKE_CARD): "acknowledged or timed out",
    (State.CARD_REFUSED, State.ATTRACT): "card pulled",
    (State.PIN_ENTRY, State.VERIFYING_PIN): "PIN submitted",
    (State.PIN_ENTRY, State.TAKE_CARD): "cancelled or timed out",
    (State.PIN_ENTRY, State.ATTRACT): "card pulled",
    (State.VERIFYING_PIN, State.MENU): "PIN right",
    (State.VERIFYING_PIN, State.PIN_ENTRY): "PIN wrong, tries left",
    (State.VERIFYING_PIN, State.CARD_REFUSED): "PIN blocked",
    (State.VERIFYING_PIN, State.ATTRACT): "card pulled",
    (State.MENU, State.FORM): "service with fields chosen",
    (State.MENU, State.PREPARING): "service without fields chosen",
    (State.MENU, State.TAKE_CARD): "finished, cancelled or timed out",
    (State.MENU, State.ATTRACT): "card pulled",
    (State.FORM, State.PREPARING): "form submitted and valid",
    (State.FORM, State.MENU): "back or cancel",
    (State.FORM, State.TAKE_CARD): "timed out",
    (State.FORM, State.ATTRACT): "card pulled",
    (State.PREPARING, State.CONFIRM): "quote ready (amount to pay or load)",
    (State.PREPARING, State.INFO): "query answered",
    (State.PREPARING, State.FORM): "refused with a reason to correct (bill not found)",
    (State.PREPARING, State.MENU): "cancelled, or failed (network needed)",
    (State.PREPARING, State.ATTRACT): "card pulled",
    (State.INFO, State.MENU): "back",
    (State.INFO, State.TAKE_CARD): "finished or timed out",
    (State.INFO, State.ATTRACT): "card pulled",
    (State.CONFIRM, State.CHECKING_PRINTER): "confirmed",
    (State.CONFIRM, State.MENU): "back or cancel (a held order is released by the central)",
    (State.CONFIRM, State.TAKE_CARD): "timed out",
    (State.CONFIRM, State.ATTRACT): "card pulled",
    (State.CHECKING_PRINTER, State.PROCESSING): "printer ready, or no receipt needed",
    (State.CHECKING_PRINTER, State.NO_PAPER): "printer cannot print",
    (State.CHECKING_PRINTER, State.MENU): "cancelled",
    (State.CHECKING_PRINTER, State.ATTRACT): "card pulled",
    (State.NO_PAPER, State.PROCESSING): "citizen goes on without a receipt",
    (State.NO_PAPER, State.MENU): "citizen stops",
    (State.NO_PAPER, State.TAKE_CARD): "timed out",
    (State.NO_PAPER, State.ATTRACT): "card pulled",
    (State.PROCESSING, State.DONE): "done, or refused by the card / central",
    (State.PROCESSING, State.ATTRACT): "card pulled (a lost DEBIT is settled on its return)",
    (State.DONE, State.MENU): "another service",
    (State.DONE, State.TAKE_CARD): "finished or timed out",
    (State.DONE, State.ATTRACT): "card pulled",
    (State.TAKE_CARD, State.ATTRACT): "card taken",
}
