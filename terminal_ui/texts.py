"""The one place the kiosk's codes become words (as gettext message ids).

The core speaks in codes (``refusal="hotlisted"``, ``notice="card_pulled"``,
``busy="verifying_pin"``); each table here maps a code to an English message id
that :class:`terminal_ui.i18n.Translator` turns into the citizen's language. An
error always comes with what to do next. A code missing here still shows a
sensible generic text (and the code, small, for the staff).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from terminal_ui.i18n import N_
from terminal_ui.texts_booking import (
    BOOKING_CODE_VALUES,
    BOOKING_DETAIL_LABELS,
    BOOKING_FIELD_ERRORS,
    BOOKING_NOTICES,
    BOOKING_RESULTS,
    REFERENCE_LABELS,
)

__all__ = [
    "AMOUNT_RANGE",
    "BUSY",
    "DETAIL_LABELS",
    "DETAIL_VALUES",
    "FIELD_ERRORS",
    "NOTICES",
    "OUT_OF_SERVICE",
    "OUT_OF_SERVICE_REASONS",
    "PIN_LABELS",
    "PRINTER_PROBLEMS",
    "RECEIPT",
    "REFERENCE_LABELS",
    "REFUSALS",
    "RESULTS",
    "ROLES",
    "WHY_NOT",
    "Advice",
    "detail_words",
    "lookup",
]

Advice = tuple[str, str]
"""(what happened, what to do next)."""

REFUSALS: Mapping[str, Advice] = {
    "hotlisted": (
        N_("This card has been reported lost or stopped, and is now blocked."),
        N_("Please take your card and bring it, with your ID, to a service window."),
    ),
    "expired": (
        N_("This card has expired."),
        N_("Please take your card to a service window to renew it."),
    ),
    "not_yet_valid": (
        N_("This card is not valid yet."),
        N_("Please try again from the start date printed on the card."),
    ),
    "not_genuine": (
        N_("This card could not be confirmed as a genuine citizen card."),
        N_("Please take your card to a service window."),
    ),
    "card_blocked": (
        N_("This card is blocked."),
        N_("Please take your card and bring it, with your ID, to a service window."),
    ),
    "card_terminated": (
        N_("This card has been closed."),
        N_("Please take your card to a service window."),
    ),
    "not_citizen_card": (
        N_("This is not a citizen card."),
        N_("Please take this card and insert your citizen card."),
    ),
    "counter_card": (
        N_("This is a service window clerk's card."),
        N_("It is used at a counter station, not at this kiosk. Please take it."),
    ),
    "blocked": (
        N_("This card is blocked."),
        N_("Please take your card and bring it, with your ID, to a service window."),
    ),
    "terminated": (
        N_("This card has been closed."),
        N_("Please take your card to a service window."),
    ),
    "unreadable": (
        N_("The card could not be read."),
        N_("Please take your card, check it is the right way up, and insert it again."),
    ),
    "pin_blocked": (
        N_("The PIN was entered wrongly too many times and is now blocked."),
        N_("Please take your card to a service window to unblock the PIN."),
    ),
    "cancelled": (
        N_("Reading the card was stopped."),
        N_("Please take your card."),
    ),
    "no_psam": (
        N_("This kiosk cannot take payments right now."),
        N_("Please take your card and use another kiosk."),
    ),
    "sales_stopped": (
        N_("This kiosk cannot take payments right now."),
        N_("Please take your card and use another kiosk."),
    ),
    "out_of_service": (
        N_("This kiosk is out of service for maintenance."),
        N_("Please take your card and use another kiosk."),
    ),
}
REFUSAL_UNKNOWN: Advice = (
    N_("This card cannot be used here."),
    N_("Please take your card to a service window."),
)

NOTICES: Mapping[str, str] = {
    "card_pulled": N_("The card was taken out, so the session ended. Nothing was paid."),
    "card_pulled_during_payment": N_(
        "The card was taken out during payment. Insert it again to see whether it was paid."
    ),
    "last_payment_completed": N_("The last payment went through before the card was taken out."),
    "previous_debit_unsettled": N_(
        "Your last payment was interrupted; the service centre will confirm it."
    ),
    "previous_load_unsettled": N_(
        "Your last top-up was interrupted; the service centre will confirm it."
    ),
    "kiosk_error": N_("Something went wrong in this kiosk, so the session ended. Sorry."),
    "needs_card": N_("Please insert your card for this service."),
    "no_psam": N_("This kiosk cannot take payments right now."),
    "device_error": N_("This kiosk cannot take payments right now."),
    "previous_debit_completed": N_("Your last payment, interrupted earlier, did go through."),
    "previous_debit_not_taken": N_("Your last payment, interrupted earlier, was not taken."),
    "previous_load_completed": N_("Your last top-up, interrupted earlier, did go through."),
    "previous_load_not_taken": N_("Your last top-up, interrupted earlier, was not made."),
    "previous_proven": N_("An interrupted payment on this card has now been confirmed."),
    "insufficient_balance": N_("Not enough money on the card for this. Top up first."),
    "sales_stopped": N_("This kiosk cannot take payments right now."),
    "outbox_missing": N_("This kiosk cannot take payments right now."),
    "outbox_damaged": N_("This kiosk cannot take payments right now."),
    "outbox_behind": N_("This kiosk cannot take payments right now."),
    "taken_out_of_service": N_("This kiosk is out of service for maintenance."),
    "timed_out": N_("No answer for a while, so the session ended."),
    "card_forgotten": N_("Please do not forget your card!"),
    "cancelled": N_("Stopped. Nothing was paid."),
    "service_unavailable": N_("That service is not available right now."),
    "unknown_service": N_("That service is not available right now."),
    "needs_network": N_("This service needs the network, which is down. Please try later."),
    "offline_limit": N_("Offline, this kiosk can only take small amounts. Please try later."),
    "needs_pin": N_("This service needs your PIN first."),
    "not_enabled": N_("This service is not enabled on this card. A service window can enable it."),
    "service_failed": N_("That service did not answer. Please try again or choose another."),
    "poll_closed": N_("This poll is not taking votes now."),
    "no_linked_account": N_(
        "This card has no bank account linked to top up from. A service window can link one."
    ),
    **BOOKING_NOTICES,
}
NOTICE_UNKNOWN = N_("Please note: something did not work as expected.")

OUT_OF_SERVICE: Advice = (
    N_("This kiosk is out of service."),
    N_("Please use another kiosk or go to a service window. We are sorry."),
)

# The out-of-service reason, for the technician (the staff line of that screen).
OUT_OF_SERVICE_REASONS: Mapping[str, str] = {
    "outbox_missing": N_(
        "Outbox file missing, but this kiosk had one. Unsent payments may be lost. "
        "Do not reset: follow the outbox recovery procedure."
    ),
    "outbox_damaged": N_(
        "Outbox file damaged. Keep the file; do not delete it. "
        "Follow the outbox recovery procedure."
    ),
    "outbox_behind": N_(
        "Outbox is behind what was already recorded (an old copy?). "
        "Follow the outbox recovery procedure."
    ),
    "taken_out_of_service": N_(
        "Taken out of service by a technician. A technician card puts it back in service."
    ),
}

BUSY: Mapping[str, str] = {
    "checking_devices": N_("Getting ready…"),
    "reading_card": N_("Reading your card…"),
    "checking_card": N_("Checking your card…"),
    "settling": N_("Checking your card…"),
    "checking_hotlist": N_("Checking your card…"),
    "authenticating": N_("Checking the card is genuine…"),
    "card_ok": N_("Card checked."),
    "reading_history": N_("Reading your card's history…"),
    "fetching_bill": N_("Looking up the bill…"),
    "holding_order": N_("Reserving the payment…"),
    "verifying_pin": N_("Checking your PIN…"),
    "preparing": N_("Looking it up…"),
    "looking_up_bill": N_("Looking up the bill…"),
    "checking_printer": N_("Checking the receipt printer…"),
    "processing": N_("Working on it… Please do not take out your card."),
    "debiting": N_("Paying from your card… Please do not take out your card."),
    "loading": N_("Topping up your card… Please do not take out your card."),
    "changing_pin": N_("Changing your PIN… Please do not take out your card."),
    "printing": N_("Printing your receipt…"),
    "submitting": N_("Sending…"),
    "checking_status": N_("Checking every device…"),
    "testing_readers": N_("Testing the card reader and the PSAM…"),
    "testing_print": N_("Printing a test page…"),
    "testing_network": N_("Testing the link to the central…"),
    "testing_outbox": N_("Checking the outbox's hash chain…"),
    "syncing": N_("Synchronising with the central…"),
    "saving": N_("Saving…"),
    "writing_bundle": N_("Writing the signed support bundle…"),
}
BUSY_UNKNOWN = N_("Please wait…")

FIELD_ERRORS: Mapping[str, str] = {
    "required": N_("Please fill this in."),
    "too_long": N_("This is too long."),
    "not_digits": N_("Digits only, please."),
    "not_a_choice": N_("Please choose one of the options."),
    "not_an_amount": N_("Please enter an amount like 12.50."),
    "out_of_range": N_("This amount is not allowed here."),
    "pins_differ": N_("The two new PINs are not the same. Please enter them again."),
    "bill_not_found": N_("No bill was found for this number. Please check it."),
    "wrong_pin": N_("The PIN is wrong."),
    **BOOKING_FIELD_ERRORS,
}
FIELD_ERROR_UNKNOWN = N_("Please check this.")

WHY_NOT: Mapping[str, str] = {
    "needs_network": N_("Needs the network (offline now)"),
    "offline_limit": N_("Over the offline limit"),
    "needs_pin": N_("Needs your PIN"),
    "needs_card": N_("Needs your card"),
    "not_enabled": N_("Not enabled on this card"),
}
WHY_NOT_UNKNOWN = N_("Not available now")
# An amount outside its field's range, with the range (formatted by the form screen).
AMOUNT_RANGE = N_("Enter an amount from {low} to {high}.")

PRINTER_PROBLEMS: Mapping[str, str] = {
    "paper_out": N_("The receipt printer has run out of paper."),
    "paper_low": N_("The receipt printer is nearly out of paper."),
    "cover_open": N_("The receipt printer's cover is open."),
    "no_answer": N_("The receipt printer is not answering."),
    "offline": N_("The receipt printer is not answering."),
    "error": N_("The receipt printer has a fault."),
    "no_printer": N_("This kiosk has no receipt printer."),
}
PRINTER_UNKNOWN = N_("The receipt printer cannot print right now.")

RESULTS: Mapping[str, Advice] = {
    "paid": (N_("Paid"), N_("Thank you.")),
    "loaded": (N_("Topped up"), N_("Thank you.")),
    "pin_changed": (N_("Your PIN has been changed"), N_("Use the new PIN from now on.")),
    "submitted": (N_("Received"), N_("Keep the tracking number to follow it up.")),
    "ticket_issued": (N_("Your ticket is ready"), N_("Please take the printed ticket.")),
    "queue_number": (N_("Your queue number"), N_("Please wait until your number is called.")),
    "voted": (
        N_("Your vote has been cast"),
        N_("Keep the slip: after the close, find its code in the published list."),
    ),
    "not_eligible": (
        N_("This card may not vote in this poll"),
        N_("The poll is open to some residents only (for example by age)."),
    ),
    "already_voted": (
        N_("This card has voted in this poll already"),
        N_("Each card votes once. Your earlier vote stands."),
    ),
    "poll_closed": (
        N_("This poll is not taking votes now"),
        N_("No vote was cast. The results are published after the close."),
    ),
    "poll_key_refused": (
        N_("This poll could not be checked"),
        N_("No vote was cast. Please tell staff at a service window."),
    ),
    "order_paid": (
        N_("This bill has been paid already"),
        N_("Nothing was paid now. Please keep your earlier receipt."),
    ),
    "order_held": (
        N_("This bill is being paid elsewhere right now"),
        N_("Nothing was paid. Please try again in a few minutes."),
    ),
    "card_not_active": (
        N_("This card cannot pay right now"),
        N_("Nothing was paid. Please take your card to a service window."),
    ),
    "offline_limit": (
        N_("Offline, this kiosk can only take small amounts"),
        N_("Nothing was paid. Please try later."),
    ),
    "refused": (
        N_("The service centre refused this"),
        N_("Nothing was paid. Please ask at a service window."),
    ),
    "insufficient_balance": (
        N_("Not enough money on the card"),
        N_("Nothing was paid. Top up the card first, or choose a smaller amount."),
    ),
    "card_pulled": (
        N_("The card was taken out"),
        N_("Insert it again to see whether it was paid."),
    ),
    "declined": (
        N_("The bank declined the top-up"),
        N_("Nothing was taken from your account. Please contact your bank."),
    ),
    "needs_network": (
        N_("The network is down"),
        N_("Nothing was paid. Please try later."),
    ),
    "wrong_pin": (
        N_("The current PIN was wrong"),
        N_("The PIN was not changed. Please try again with your current PIN."),
    ),
    "pin_blocked": (
        N_("The PIN is now blocked"),
        N_("Please take your card to a service window to unblock the PIN."),
    ),
    "card_blocked": (
        N_("This card is blocked"),
        N_("Nothing was paid. Please take your card to a service window."),
    ),
    "sales_stopped": (
        N_("This kiosk cannot take payments right now"),
        N_("Nothing was paid. Please use another kiosk."),
    ),
    "bank_insufficient_funds": (
        N_("Not enough money in the linked bank account"),
        N_("Nothing was taken from your account. Choose a smaller amount."),
    ),
    "bank_refused": (
        N_("The bank declined the top-up"),
        N_("Nothing was taken from your account. Please contact your bank."),
    ),
    "failed": (
        N_("It did not work"),
        N_("Nothing was paid. Please try again, or ask at a service window."),
    ),
    **BOOKING_RESULTS,
}
RESULT_UNKNOWN: Advice = (
    N_("It did not work"),
    N_("Please ask at a service window, and keep any receipt."),
)

RECEIPT: Mapping[str, str] = {
    "printed": N_("Take your receipt."),
    "queued": N_("The receipt could not be printed now; ask at a service window for a copy."),
    "skipped": N_("No receipt was printed, as you chose."),
    "not_printed": N_("The slip could not be printed. Your vote was cast all the same."),
    "none": "",
}

PIN_LABELS: Mapping[str, str] = {
    "pin": N_("Please enter your 6-digit PIN"),
    "old_pin": N_("Current PIN"),
    "new_pin": N_("New PIN (6 digits)"),
    "new_pin_again": N_("New PIN again"),
}

DETAIL_LABELS: Mapping[str, str] = {
    "period": N_("Period"),
    "account": N_("Account"),
    "bill": N_("Bill"),
    "biller": N_("Payee"),
    "reference": N_("Reference"),
    "plate": N_("Plate"),
    "due": N_("Due"),
    "holder": N_("Holder"),
    "usage": N_("Usage"),
    "question": N_("Question"),
    "choice": N_("Your choice"),
    "funding_account": N_("Paid from"),  # a top-up: the linked bank account, masked
    **BOOKING_DETAIL_LABELS,
}

HISTORY_KINDS: Mapping[str, str] = {
    "purchase": N_("Payment"),
    "load": N_("Top-up"),
    "ride": N_("Bus ride"),  # a composite (type 09) purchase at a bus validator
}

CONFIRM_TITLES: Mapping[str, str] = {
    "debit": N_("Pay from your card"),
    "load": N_("Top up your card"),
    "change_pin": N_("Change your PIN"),
    "submit": N_("Please check and confirm"),
    "vote": N_("Your vote"),
}


ROLES: Mapping[str, str] = {
    "technician": N_("Technician card"),
    "clerk": N_("Service window clerk card"),
    "supervisor": N_("Service window supervisor card"),
    "citizen": N_("Citizen card"),
}
ROLE_UNKNOWN = N_("Operator card")

T = TypeVar("T")

CONFIRM_NOTES: Mapping[str, str] = {
    "change_pin": N_("Press Confirm and the card's PIN becomes the new one you entered."),
    "vote": N_(
        "Press Confirm to cast your vote. It cannot be changed, and no one can see "
        "which card chose what."
    ),
}


def lookup(table: Mapping[str, T], code: str | None, default: T) -> T:
    """``table[code]``, or ``default`` for a code this UI does not know yet."""
    if code is None:
        return default
    return table.get(code, default)


# -- City services from the departments (issue 18: statements, bills, fines, progress) --
# Label codes of their answers' rows (kiosk/flows/city.py), value codes "v.<code>", and
# what they add to the tables above.
DETAIL_LABELS = {
    **DETAIL_LABELS,
    "medical_balance": N_("Medical insurance account"),
    "pension_total": N_("Pension paid, last 12 months"),
    "contributions": N_("Month"),
    "fund_balance": N_("Housing fund balance"),
    "loan_status": N_("Fund loan"),
    "deposits": N_("Month · deposited (yuan)"),
    "application": N_("Application no."),
    "matter": N_("Matter"),
    "department": N_("Department"),
    "steps_done": N_("Steps done"),
    "current_step": N_("Now at"),
    "expected_date": N_("Expected by"),
    "applications": N_("Applications"),
    "day": N_("Date"),
    "place": N_("Place"),
    "violation": N_("Violation"),
    "points": N_("Penalty points"),
    "fines": N_("Unpaid fines"),
    "fines_total": N_("All unpaid fines"),
    "bills": N_("Unpaid bills"),
    "fine": N_("Fine"),
    "payable": N_("Pay here"),
}
DETAIL_VALUES: Mapping[str, str] = {
    "v.pension_medical_unemployment": N_("Pension / medical / unemployment (yuan)"),
    "v.loan_none": N_("No loan"),
    "v.loan_repaying": N_("Repaying"),
    "v.loan_applied": N_("Applied, under review"),
    "v.balance_short": N_("Not enough on the card: top up first"),
    "v.none": N_("None"),
}
NOTICES = {
    **NOTICES,
    "department_unavailable": N_(
        "The department's system is not answering. Nothing was changed. Please try later."
    ),
}
BUSY = {**BUSY, "asking_department": N_("Asking the department…")}
FIELD_ERRORS = {
    **FIELD_ERRORS,
    "application_not_found": N_("None of your applications has this number. Please check it."),
}
# ---- feedback (issue 19): ask / report / suggest, look a case up, rate it ----------
FIELD_ERRORS = {
    **FIELD_ERRORS,
    "already_submitted": N_(
        "This card has already sent one in this category today. Look it up by its number, "
        "or choose another category."
    ),
    "not_a_code": N_("Letters and digits only, please."),
    "not_a_tracking_number": N_("This is not a tracking number. Please check each character."),
    "case_not_found": N_("No case has this number. Please check it."),
    "not_answered": N_("This case has no answer to rate yet."),
}
RESULTS = {
    **RESULTS,
    "already_submitted": (
        N_("This card has already sent one in this category today"),
        N_("Nothing new was sent. Look the earlier one up by its number."),
    ),
    "case_closed": (N_("Thank you: the case is closed"), N_("Your rating was recorded.")),
    "case_reopened": (
        N_("The case goes back to the department"),
        N_("It must answer again within a new deadline. Look it up by its number."),
    ),
    "not_your_case": (
        N_("This case cannot be rated with this card"),
        N_("Only the card that sent it can rate the answer."),
    ),
    "not_answered": (
        N_("This case has no answer to rate yet"),
        N_("Look it up again once the department has answered."),
    ),
}
DETAIL_LABELS = {
    **DETAIL_LABELS,
    "fb_kind": N_("Kind"),
    "fb_category": N_("Subject"),
    "fb_urgency": N_("Urgency"),
    "fb_text": N_("Your message"),
    "fb_place": N_("Place"),
    "fb_identity": N_("Your name"),
    "fb_publish": N_("Publish text and place"),
    "fb_number": N_("Tracking number"),
    "fb_state": N_("State"),
    "fb_refusal": N_("Why"),
    "fb_submitted": N_("Sent at the kiosk"),
    "fb_wait": N_("You have waited"),
    "fb_arrived": N_("Reached the department"),
    "fb_dept": N_("The department's time"),
    "fb_deadline": N_("Answer due by"),
    "fb_answer": N_("The department's answer"),
    "fb_rated": N_("Your rating"),
    "fb_verdict": N_("Your rating"),
    "fb_none": N_("This card has sent no feedback yet."),
}
# Values of detail lines that are codes (a case's state, a refusal, a rating).
DETAIL_CODE_VALUES: Mapping[str, Mapping[str, str]] = {
    **BOOKING_CODE_VALUES,
    "fb_state": {
        "accepted": N_("Received, waiting to be routed"),
        "dispatched": N_("With the department"),
        "in_progress": N_("Being handled"),
        "answered": N_("Answered"),
        "closed": N_("Closed"),
        "returned": N_("Being routed again"),
        "reopened": N_("Reopened: the department answers again"),
        "refused": N_("Not taken"),
    },
    "fb_refusal": {
        "one_per_card_category_day": N_(
            "This card already had one open in this category that day."
        ),
    },
    "fb_rated": {"satisfied": N_("Satisfied"), "unsatisfied": N_("Not satisfied")},
}
# Detail lines whose value is a duration in milliseconds (the two clocks).
DURATION_DETAILS = ("fb_wait", "fb_dept")
DURATION = N_("{days} d {hours} h")
DURATION_SHORT = N_("{hours} h {minutes} min")  # under a day


def detail_words(code: str, value: str, t: Callable[[str], str]) -> str | None:
    """A detail line's value in words, or None when it is plain text (a name, a date,
    money already formatted) to show as it is: a coded value of its line (a case's
    state) from that line's table, a value code (``v.loan_repaying``), a duration in
    milliseconds (the two clocks of a feedback case) as days and hours. ``t``
    translates a message id. The screens and the spoken guidance both use it."""
    table = DETAIL_CODE_VALUES.get(code)
    if table is not None and value in table:
        return t(table[value])
    words = DETAIL_VALUES.get(value)
    if words:
        return t(words)
    if code in DURATION_DETAILS and value.isdigit():
        minutes = int(value) // 60_000
        if minutes < 24 * 60:
            return t(DURATION_SHORT).format(hours=minutes // 60, minutes=minutes % 60)
        hours = minutes // 60
        return t(DURATION).format(days=hours // 24, hours=hours % 24)
    return None
