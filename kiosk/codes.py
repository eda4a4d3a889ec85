"""Every code the kiosk core, its journeys and its flows show a screen, as enums.

A screen carries codes, never words: ``terminal_ui/texts.py`` alone turns each
member below into words in zh-Hans, zh-Hant and en (a test derives the codes it
checks from these enums, so a new member without words fails). Members are
``StrEnum``s: they compare equal to their text, which is also what the audit log
and the scripted session print.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "FieldError",
    "Notice",
    "OutcomeCode",
    "PrinterProblem",
    "ReceiptState",
    "Refusal",
    "Step",
    "WhyNot",
]


class Refusal(StrEnum):
    """Why a card is refused (CARD_REFUSED)."""

    HOTLISTED = "hotlisted"  # reported lost or stopped: now blocked on the card itself
    CARD_BLOCKED = "card_blocked"
    CARD_TERMINATED = "card_terminated"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    NOT_GENUINE = "not_genuine"
    NOT_CITIZEN_CARD = "not_citizen_card"  # a card of a role this terminal has no journey for
    COUNTER_CARD = "counter_card"  # a clerk's card: it belongs at a counter station
    PIN_BLOCKED = "pin_blocked"
    UNREADABLE = "unreadable"
    CANCELLED = "cancelled"
    NO_PSAM = "no_psam"
    OUT_OF_SERVICE = "out_of_service"  # a technician took the kiosk out of service


class Notice(StrEnum):
    """Something to tell, beside the screen (``Screen.notices``, several at once)."""

    CARD_PULLED = "card_pulled"
    CARD_PULLED_DURING_PAYMENT = "card_pulled_during_payment"
    LAST_PAYMENT_COMPLETED = "last_payment_completed"
    TIMED_OUT = "timed_out"
    CARD_FORGOTTEN = "card_forgotten"
    PREVIOUS_DEBIT_COMPLETED = "previous_debit_completed"
    PREVIOUS_DEBIT_NOT_TAKEN = "previous_debit_not_taken"
    PREVIOUS_DEBIT_UNSETTLED = "previous_debit_unsettled"
    PREVIOUS_LOAD_COMPLETED = "previous_load_completed"
    PREVIOUS_LOAD_NOT_TAKEN = "previous_load_not_taken"
    PREVIOUS_LOAD_UNSETTLED = "previous_load_unsettled"
    PREVIOUS_PROVEN = "previous_proven"
    KIOSK_ERROR = "kiosk_error"  # an input failed inside the core: logged, session ended
    CANCELLED = "cancelled"
    NEEDS_NETWORK = "needs_network"
    OFFLINE_LIMIT = "offline_limit"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    SERVICE_FAILED = "service_failed"
    SERVICE_UNAVAILABLE = "service_unavailable"
    BIKE_ALREADY_ENABLED = "bike_already_enabled"  # a deposit is held for this card already
    BIKE_NOT_ENABLED = "bike_not_enabled"  # no deposit held for this card to return
    UNKNOWN_SERVICE = "unknown_service"
    NEEDS_CARD = "needs_card"
    POLL_CLOSED = "poll_closed"  # the poll takes no votes now (closed, or not yet open)
    # The central answered, the department behind it did not: try later, nothing changed.
    DEPARTMENT_UNAVAILABLE = "department_unavailable"
    NO_LINKED_ACCOUNT = "no_linked_account"  # a top-up: the card has no bank account linked
    # OUT_OF_SERVICE: why (for the staff line of that screen)
    NO_PSAM = "no_psam"
    SALES_STOPPED = "sales_stopped"
    DEVICE_ERROR = "device_error"
    # the outbox cannot be sold on (backend_sync.terminal.outbox_guard, issue 12 item 3)
    OUTBOX_MISSING = "outbox_missing"
    OUTBOX_DAMAGED = "outbox_damaged"
    OUTBOX_BEHIND = "outbox_behind"
    # a technician took the kiosk out of service (the maintenance journey)
    TAKEN_OUT_OF_SERVICE = "taken_out_of_service"

    @classmethod
    def settled(cls, kind: str, outcome: str) -> Notice:
        """The notice for a torn purchase or load (``kind``) settled as ``outcome``
        ("completed", "aborted", "unsettled") on its card's return."""
        what = "debit" if kind == "purchase" else "load"
        word = {"completed": "completed", "aborted": "not_taken"}.get(outcome, "unsettled")
        return cls(f"previous_{what}_{word}")


class WhyNot(StrEnum):
    """Why a menu item cannot be chosen now (``MenuItem.why_not``)."""

    NEEDS_NETWORK = "needs_network"
    OFFLINE_LIMIT = "offline_limit"
    NEEDS_CARD = "needs_card"


class FieldError(StrEnum):
    """Why a form field (or the whole form) is refused."""

    REQUIRED = "required"
    TOO_LONG = "too_long"
    NOT_DIGITS = "not_digits"
    NOT_A_CHOICE = "not_a_choice"
    NOT_AN_AMOUNT = "not_an_amount"
    OUT_OF_RANGE = "out_of_range"
    PINS_DIFFER = "pins_differ"
    BILL_NOT_FOUND = "bill_not_found"
    APPLICATION_NOT_FOUND = "application_not_found"  # not among the card holder's own
    # feedback (kiosk/flows/feedback*.py)
    ALREADY_SUBMITTED = "already_submitted"  # one open case per card, category and day
    NOT_A_TRACKING_NUMBER = "not_a_tracking_number"  # its check symbol disagrees
    NOT_A_CODE = "not_a_code"  # a code field (letters and digits) got something else
    CASE_NOT_FOUND = "case_not_found"
    NOT_ANSWERED = "not_answered"  # only an answered case can be rated
    NO_FREE_SLOT = "no_free_slot"  # the hall service has no free slot left this week
    NO_DEPARTURE = "no_departure"  # no departure with seats on that day
    TICKET_NOT_FOUND = "ticket_not_found"  # no such ticket of this card
    TICKET_REFUNDED = "ticket_refunded"  # given back already


class OutcomeCode(StrEnum):
    """What a service's execution came to (``ResultView.code``)."""

    PAID = "paid"
    LOADED = "loaded"
    PIN_CHANGED = "pin_changed"
    SUBMITTED = "submitted"  # a case with a tracking number
    ALREADY_SUBMITTED = "already_submitted"  # this card's case in this category today
    CASE_CLOSED = "case_closed"  # rated satisfied
    CASE_REOPENED = "case_reopened"  # rated not satisfied: back to the department
    NOT_YOUR_CASE = "not_your_case"  # the central: no such case for this card
    NOT_ANSWERED = "not_answered"
    TICKET_ISSUED = "ticket_issued"
    QUEUE_NUMBER = "queue_number"
    VOTED = "voted"  # a poll's ballot is in the ballot box
    NOT_ELIGIBLE = "not_eligible"  # the central: this card may not vote in this poll
    ALREADY_VOTED = "already_voted"  # the central: this card has its token already
    POLL_CLOSED = "poll_closed"
    POLL_KEY_REFUSED = "poll_key_refused"  # the signature is not under the document's key
    INSUFFICIENT_BALANCE = "insufficient_balance"
    ORDER_PAID = "order_paid"  # the central: this bill is paid already
    ORDER_HELD = "order_held"  # the central: this bill is being paid elsewhere
    CARD_NOT_ACTIVE = "card_not_active"
    BANK_INSUFFICIENT_FUNDS = "bank_insufficient_funds"
    BANK_REFUSED = "bank_refused"
    NEEDS_NETWORK = "needs_network"
    OFFLINE_LIMIT = "offline_limit"
    SALES_STOPPED = "sales_stopped"
    CARD_BLOCKED = "card_blocked"
    WRONG_PIN = "wrong_pin"
    PIN_BLOCKED = "pin_blocked"
    BOOKED = "booked"  # an appointment at the service hall
    BOOKING_CANCELLED = "booking_cancelled"
    ALREADY_BOOKED = "already_booked"  # one open booking per card per service
    SLOT_FULL = "slot_full"  # taken by someone else meanwhile (or already past)
    BOOKING_NOT_FOUND = "booking_not_found"  # no such booking of this card
    TICKET_REFUNDED = "ticket_refunded"
    TICKET_PENDING = "ticket_pending"  # paid; the QR is printed once the central has the payment
    DEPARTED = "departed"  # refunds stop at departure (or boarding)
    SOLD_OUT = "sold_out"
    TICKET_NOT_FOUND = "ticket_not_found"
    DEPOSIT_HELD = "deposit_held"  # public bikes enabled: the deposit is held at the central
    DEPOSIT_RETURNED = "deposit_returned"  # disabled: the deposit is back on the purse
    DEPOSIT_ALREADY_HELD = "deposit_already_held"
    NO_DEPOSIT = "no_deposit"  # nothing held for this card to return
    TRY_LATER = "try_later"  # the department did not answer: nothing changed
    REFUSED = "refused"  # the central refused for a reason this kiosk has no words for
    FAILED = "failed"

    @classmethod
    def from_central(cls, reason: str) -> OutcomeCode:
        """The code for a refusal reason the central gave (unknown ones: REFUSED)."""
        try:
            return cls(reason)
        except ValueError:
            return cls.REFUSED


class ReceiptState(StrEnum):
    """What became of an outcome's receipt (``ResultView.receipt``)."""

    PRINTED = "printed"
    QUEUED = "queued"  # the printer failed: kept, reprinted when it is back
    SKIPPED = "skipped"  # the citizen chose to go on without
    NOT_PRINTED = "not_printed"  # the printer failed and the slip is not kept (a vote)
    NONE = "none"


class PrinterProblem(StrEnum):
    """Why the printer cannot print (NO_PAPER: ``extra["printer_problem"]``)."""

    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    ERROR = "error"
    OFFLINE = "offline"
    NO_ANSWER = "no_answer"
    NO_PRINTER = "no_printer"

    @classmethod
    def of(cls, problem: str | None) -> PrinterProblem:
        """The member for a driver's problem code (an unknown one: ERROR)."""
        try:
            return cls(problem or "no_answer")
        except ValueError:
            return cls.ERROR


class Step(StrEnum):
    """What a busy state is doing (``Screen.busy``, ``Progress.step``)."""

    CHECKING_DEVICES = "checking_devices"
    READING_CARD = "reading_card"
    SETTLING = "settling"
    CHECKING_HOTLIST = "checking_hotlist"
    AUTHENTICATING = "authenticating"
    CARD_OK = "card_ok"
    VERIFYING_PIN = "verifying_pin"
    PREPARING = "preparing"
    READING_HISTORY = "reading_history"
    FETCHING_BILL = "fetching_bill"
    ASKING_DEPARTMENT = "asking_department"  # a city service's query, through the central
    CHECKING_PRINTER = "checking_printer"
    PROCESSING = "processing"
    HOLDING_ORDER = "holding_order"
    DEBITING = "debiting"
    LOADING = "loading"
    CHANGING_PIN = "changing_pin"
    PRINTING = "printing"
    SUBMITTING = "submitting"
    # the maintenance journey (a technician's card)
    CHECKING_STATUS = "checking_status"
    TESTING_READERS = "testing_readers"
    TESTING_PRINT = "testing_print"
    TESTING_NETWORK = "testing_network"
    TESTING_OUTBOX = "testing_outbox"
    SYNCING = "syncing"
    SAVING = "saving"
    WRITING_BUNDLE = "writing_bundle"
