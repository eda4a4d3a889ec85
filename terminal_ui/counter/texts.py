"""The counter station's words: every code the station and its core send, as a message
id (English) that the gettext catalogs translate. The one place codes become words."""

from __future__ import annotations

from collections.abc import Mapping

from terminal_ui.counter.station import Op
from terminal_ui.i18n import N_

__all__ = [
    "FIELD_LABELS",
    "MESSAGES",
    "OP_TITLES",
    "PIN_PROMPTS",
    "RESUME_KINDS",
    "RESUME_NEEDS",
    "ROW_LABELS",
    "SLOT_WORDS",
    "VALUE_WORDS",
    "message",
]

OP_TITLES: Mapping[Op, str] = {
    Op.ISSUE: N_("Issue a new card"),
    Op.TOP_UP: N_("Top up in cash"),
    Op.REPORT_LOSS: N_("Report a card lost"),
    Op.BLOCK: N_("Block a card"),
    Op.UNBLOCK: N_("Unblock a card"),
    Op.REPLACE: N_("Replace a card"),
    Op.RESET_PIN: N_("Reset the PIN"),
    Op.REFUND: N_("Refund and close"),
    Op.LOOKUP: N_("Look up a card or citizen"),
    Op.RENEW: N_("Renew a card"),
    Op.SHIFT_OPEN: N_("Open the shift"),
    Op.SHIFT_CLOSE: N_("Close the shift"),
}

FIELD_LABELS: Mapping[str, str] = {
    "document": N_("Document"),
    "number": N_("ID number"),
    "name": N_("Name"),
    "birth": N_("Birth date (YYYYMMDD)"),
    "opening": N_("Opening cash (yuan)"),
    "amount": N_("Cash amount (yuan)"),
    "card_number": N_("Card number"),
    "puk": N_("PUK, if any"),
    "query": N_("Card number, ID number or name"),
    "float": N_("Drawer float (yuan)"),
    "counted": N_("Cash counted (yuan)"),
}

DOCUMENT_NAMES: Mapping[str, str] = {
    "resident": N_("Resident ID card"),
    "hmt": N_("HK/Macau/Taiwan residence permit"),
    "foreigner_18": N_("Foreigner's permanent residence (18 digits)"),
    "foreigner": N_("Foreigner's permanent residence (15 characters)"),
}

# Rows of outcomes (the station core's labels) and of receipts.
ROW_LABELS: tuple[str, ...] = (
    N_("Card number"), N_("Holder"), N_("ID number"), N_("Cash received"), N_("Balance"),
    N_("Balance before"), N_("Card status"), N_("Hotlist version"), N_("Ledger balance"),
    N_("PIN"), N_("Float"), N_("Cash in"), N_("Cash out"), N_("Expected in drawer"),
    N_("Counted"), N_("Ledger: drawer this shift"), N_("Difference"),
    # the station core's receipt lines (kiosk.counter.ports_adapter.LINE_LABELS)
    N_("Deposit"), N_("Deposit carried from the old card"), N_("Card fee"),
    N_("Opening balance"), N_("Replaces card"),
    N_("Balance at the transfer"), N_("Late debits (already in it)"),
    N_("Carried to the new card"), N_("Paid out in cash"), N_("Balance paid out"),
    N_("Supervisor"), N_("Loads in suspense"), N_("Voided load"), N_("Clerk"), N_("Time"),
    N_("Reference"), N_("Name"), N_("Operation"),
)  # fmt: skip

# Values of outcome rows that are words, not data (a card's status at the central).
VALUE_WORDS: frozenset[str] = frozenset(
    {
        N_("active"),
        N_("blocked"),
        N_("terminated"),
        N_("reset with the PUK"),
        N_("reloaded by the central"),
        N_("reversed"),
    }
)
# The demo's device slots (TEST ONLY panel).
SLOT_WORDS = (N_("Clerk card"), N_("Citizen card"), N_("ID document"), N_("none"),
              N_("blank"), N_("new card"), N_("Supervisor card"),
              N_("Supervisor card in"))  # fmt: skip

PIN_PROMPTS: Mapping[str, str] = {
    "clerk": N_("Type your clerk PIN"),
    "new_pin": N_("Choose a new 6-digit PIN for the card"),
    "card_pin": N_("Type your card's PIN"),
    "supervisor": N_("Supervisor: your card in the supervisor slot, then your PIN"),
}

# The journal's unfinished operations (the resume page, after a restart).
RESUME_KINDS: Mapping[str, str] = {
    "topup": N_("Cash top-up"),
    "recredit": N_("Voided load credited again"),
    "issue": N_("New card"),
    "replace": N_("Replacement: the new card"),
    "refund": N_("Refund and close"),
}
RESUME_NEEDS: Mapping[str, str] = {
    "new_pin": N_("Needs a blank card in the reader and the citizen's new PIN on the pad."),
    "card_pin": N_("Needs the citizen's card in the reader and its PIN on the pad."),
    "card": N_("Needs the citizen's card in the reader."),
}
RESUME_BUTTONS = (N_("Resume"), N_("Reverse"))
# The lookup form's two keyboards.
QUERY_KEYS: Mapping[str, str] = {"number": N_("Number keys"), "name": N_("Name keyboard")}

MESSAGES: Mapping[str, str] = {
    # the station
    "field_missing": N_("Fill in every field that is not optional."),
    "amount_format": N_("Type an amount in yuan, such as 50 or 20.50."),
    "digits_only": N_("Only digits here."),
    "date_format": N_("Type the date as eight digits: year, month, day."),
    "holder_unchecked": N_("Read the ID card or type the holder's data first."),
    "id_card_read": N_("Read from the ID card. Check it with the citizen."),
    "device_error": N_("A device or the central did not answer. Nothing was changed."),
    "shift_needed": N_("Open the shift first: this operation takes or gives cash."),
    "drawer_mismatch": N_("The drawer does not match. Count again and tell a supervisor."),
    # the station core
    "no_clerk_card": N_("Insert your clerk card first."),
    "not_a_clerk_card": N_("This is not a valid clerk card."),
    "clerk_pin_wrong": N_("Wrong clerk PIN."),
    "signed_out": N_("The clerk card was taken out. Sign in again."),
    "no_citizen_card": N_("Put the citizen's card on the reader."),
    "no_id_card": N_("Put the identity card on the ID reader."),
    "id_reader_fault": N_("The ID reader did not answer properly. Try again."),
    "identity_mismatch": N_("The ID number does not match the card's holder."),
    "nothing_found": N_("Nothing found."),
    "no_shift": N_("No shift is open."),
    "unknown_card": N_("The central does not know this card."),
    "card_terminated": N_("This card was closed and cannot be changed."),
    "insert_new_card": N_("Transferred. Put the new blank card in, then run it again."),
    "supervisor_required": N_("Above the limit: a supervisor must confirm with their card."),
    "no_operator_card": N_("Insert your clerk card first."),
    "not_an_operator": N_("This is not a valid clerk card."),
    "operator_role": N_("This card may not do this operation."),
    "operator_not_genuine": N_("This is not a valid clerk card."),
    "operator_card_blocked": N_("This operator card is blocked at the central."),
    "wrong_pin": N_("Wrong PIN."),
    "pin_blocked": N_("The PIN is blocked: reset it with the PUK."),
    "wrong_puk": N_("Wrong PUK."),
    "puk_blocked": N_("The PUK is blocked."),
    "wrong_card": N_("Another card is in the reader."),
    "card_blocked": N_("The card is blocked: unblock it first (card present)."),
    "in_quarantine": N_("The lost card is still in its quarantine: come back after it."),
    "not_due": N_("This card is not due for renewal yet."),
    "not_blank": N_("Put a blank card in the reader."),
    "no_open_shift": N_("No shift is open at the central."),
    "central_unavailable": N_("The central did not answer. Nothing was changed."),
    "citizen_card_gone": N_("The card left the reader. Put it back and run it again."),
    "citizen_card_error": N_("The card did not answer properly. Try again."),
    "lookup_card_number": N_("Type the 20-digit card number, the ID number or the whole name."),
    "lookup_not_found": N_(
        "No card issued at a counter has this holder. Check the number or the name."
    ),
    "balance_changed": N_("The card's balance changed since: run it again."),
    "nothing_to_resume": N_("This operation is finished already."),
    "already_finished": N_("This operation was finished already: nothing was repeated."),
    "pin_needed": N_("The citizen's PIN is needed for this."),
    "application_needed": N_("The holder data of this operation is not in the journal."),
    "old_card_needed": N_("Not transferred yet: put the old card in the reader."),
    "not_reversible": N_("This operation cannot be reversed here."),
    "load_in_suspense": N_("Part of the money may be on the card: resume it, do not reverse."),
    # holder data (kiosk.counter.holder.HolderCode)
    "number_length": N_("The ID number has the wrong length."),
    "number_format": N_("The ID number has characters it cannot have."),
    "number_check": N_("The ID number's check character is wrong: a typing mistake?"),
    "number_region": N_("The ID number does not belong to this kind of document."),
    "number_birth": N_("The ID number holds no valid birth date."),
    "birth_mismatch": N_("The birth date does not match the ID number."),
    "birth_future": N_("The birth date is in the future."),
    "sex_mismatch": N_("The sex does not match the ID number."),
    "nationality_mismatch": N_("The nationality does not match the ID number."),
    "name_missing": N_("Type the holder's name."),
    "name_too_long": N_("The name is longer than 15 characters."),
    "name_characters": N_("The name may hold only Chinese characters and the middle dot."),
    "document_expired": N_("The document has expired."),
    "document_dates": N_("The document's dates cannot be read."),
}
MESSAGE_UNKNOWN = N_("Refused.")


def message(code: str) -> str:
    """The message id for a code; a code without words still says something."""
    return MESSAGES.get(code, MESSAGE_UNKNOWN) if code else ""
