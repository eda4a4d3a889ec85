"""The citizen journey's states and its table: the whole story of a kiosk session.

The kiosk's home journey: it owns the idle screens (out of service, attract) and
the card check, where the card's role picks the journey that follows (a citizen
stays here; a technician goes to :mod:`kiosk.journeys.maintenance`). The machine
refuses any move not in :data:`TABLE`; busy, timed and cancellable states are
derived from it, and the tests walk every entry.
"""

from __future__ import annotations

from enum import StrEnum

from kiosk.core.journey import JourneyTable, busy, idle, timed

__all__ = ["BUSY_STATES", "QUOTE_STATES", "TABLE", "TIMED_STATES", "TRANSITIONS", "State"]


class State(StrEnum):
    """Where a citizen session is."""

    OUT_OF_SERVICE = "out_of_service"  # no PSAM, sales stopped, config broken
    ATTRACT = "attract"  # waiting for a card
    CHECKING_CARD = "checking_card"  # busy: read, settle a torn purchase, hotlist, expiry, genuine
    CARD_REFUSED = "card_refused"  # hotlisted (now blocked), expired, not genuine, unreadable
    PIN_ENTRY = "pin_entry"
    VERIFYING_PIN = "verifying_pin"  # busy
    MENU = "menu"  # services grouped by life stage and topic
    FORM = "form"  # the chosen service's fields
    PREPARING = "preparing"  # busy: bill lookup, quote, query
    INFO = "info"  # a query's answer (balance, history): nothing to confirm
    PRINTING = "printing_answer"  # busy: the answer printed on a signed slip
    CONFIRM = "confirm"  # amount and payee shown; citizen confirms or goes back
    CHECKING_PRINTER = "checking_printer"  # busy
    NO_PAPER = "no_paper"  # go on without a receipt, or stop
    PROCESSING = "processing"  # busy: debit / load / PIN change; not cancellable once begun
    DONE = "done"  # the outcome; another service or finish
    TAKE_CARD = "take_card"  # "please take your card"


S = State
STATES = {
    S.OUT_OF_SERVICE: idle(),
    S.ATTRACT: idle(),
    S.CHECKING_CARD: busy(cancellable=True),
    S.CARD_REFUSED: timed(45),
    S.PIN_ENTRY: timed(45),
    S.VERIFYING_PIN: busy(),
    S.MENU: timed(60),
    S.FORM: timed(90),
    S.PREPARING: busy(cancellable=True),
    S.INFO: timed(60),
    S.PRINTING: busy(),
    S.CONFIRM: timed(45),
    S.CHECKING_PRINTER: busy(cancellable=True),
    S.NO_PAPER: timed(45),
    S.PROCESSING: busy(),  # never cancellable: once the intent is written the debit goes on
    S.DONE: timed(45),
    S.TAKE_CARD: timed(30),
}

# (from, to) -> why. Card removal from any state with a card goes to ATTRACT and is
# listed per state, as is OUT_OF_SERVICE.
TRANSITIONS: dict[tuple[State, State], str] = {
    (S.OUT_OF_SERVICE, S.ATTRACT): "devices and outbox ready again",
    (S.ATTRACT, S.OUT_OF_SERVICE): "PSAM missing or sales stopped",
    (S.ATTRACT, S.CHECKING_CARD): "card inserted",
    (S.OUT_OF_SERVICE, S.CHECKING_CARD): "a card while a technician has it out of service",
    (S.CHECKING_CARD, S.PIN_ENTRY): "citizen card accepted",
    (S.CHECKING_CARD, S.CARD_REFUSED): "hotlisted, expired, not genuine, unreadable, counter card",
    (S.CHECKING_CARD, S.ATTRACT): "card pulled while being read",
    (S.CARD_REFUSED, S.TAKE_CARD): "acknowledged or timed out",
    (S.CARD_REFUSED, S.ATTRACT): "card pulled",
    (S.PIN_ENTRY, S.VERIFYING_PIN): "PIN submitted",
    (S.PIN_ENTRY, S.TAKE_CARD): "cancelled or timed out",
    (S.PIN_ENTRY, S.ATTRACT): "card pulled",
    (S.VERIFYING_PIN, S.MENU): "PIN right",
    (S.VERIFYING_PIN, S.PIN_ENTRY): "PIN wrong, tries left",
    (S.VERIFYING_PIN, S.CARD_REFUSED): "PIN blocked",
    (S.VERIFYING_PIN, S.ATTRACT): "card pulled",
    (S.MENU, S.FORM): "service with fields chosen",
    (S.MENU, S.PREPARING): "service without fields chosen",
    (S.MENU, S.TAKE_CARD): "finished, cancelled or timed out",
    (S.MENU, S.ATTRACT): "card pulled",
    (S.FORM, S.PREPARING): "form submitted and valid",
    (S.FORM, S.MENU): "back or cancel",
    (S.FORM, S.TAKE_CARD): "timed out",
    (S.FORM, S.ATTRACT): "card pulled",
    (S.PREPARING, S.CONFIRM): "quote ready (amount to pay or load)",
    (S.PREPARING, S.INFO): "query answered",
    (S.PREPARING, S.FORM): "refused with a reason to correct (bill not found)",
    (S.PREPARING, S.MENU): "cancelled, or failed (network needed)",
    (S.PREPARING, S.ATTRACT): "card pulled",
    (S.INFO, S.MENU): "back",
    (S.INFO, S.TAKE_CARD): "finished or timed out",
    (S.INFO, S.ATTRACT): "card pulled",
    (S.INFO, S.PRINTING): "print the answer",
    (S.PRINTING, S.INFO): "printed (or kept in the print queue)",
    (S.PRINTING, S.ATTRACT): "card pulled",
    (S.CONFIRM, S.CHECKING_PRINTER): "confirmed",
    (S.CONFIRM, S.MENU): "back or cancel (the quote is released)",
    (S.CONFIRM, S.TAKE_CARD): "timed out",
    (S.CONFIRM, S.ATTRACT): "card pulled",
    (S.CHECKING_PRINTER, S.PROCESSING): "printer ready, or no receipt needed",
    (S.CHECKING_PRINTER, S.NO_PAPER): "printer cannot print",
    (S.CHECKING_PRINTER, S.MENU): "cancelled",
    (S.CHECKING_PRINTER, S.ATTRACT): "card pulled",
    (S.NO_PAPER, S.PROCESSING): "citizen goes on without a receipt",
    (S.NO_PAPER, S.MENU): "citizen stops",
    (S.NO_PAPER, S.TAKE_CARD): "timed out",
    (S.NO_PAPER, S.ATTRACT): "card pulled",
    (S.PROCESSING, S.DONE): "done, or refused by the card / central",
    (S.PROCESSING, S.ATTRACT): "card pulled (a lost DEBIT is settled on its return)",
    (S.DONE, S.MENU): "another service",
    (S.DONE, S.TAKE_CARD): "finished or timed out",
    (S.DONE, S.ATTRACT): "card pulled",
    (S.TAKE_CARD, S.ATTRACT): "card taken",
}

TABLE = JourneyTable("citizen", STATES, TRANSITIONS)
BUSY_STATES = TABLE.busy
TIMED_STATES = TABLE.timed

# While one of these shows, a prepared quote may hold something (a reserved order,
# later a booking slot): leaving them other than into PROCESSING releases it.
QUOTE_STATES = frozenset({S.CONFIRM, S.CHECKING_PRINTER, S.NO_PAPER})
