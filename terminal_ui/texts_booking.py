"""Words for appointments, queue numbers, bus tickets and public bikes, as gettext
message ids; :mod:`terminal_ui.texts` merges them into its tables (the codes are
members of the enums in :mod:`kiosk.codes`, checked by ``tests/ui/test_texts.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from terminal_ui.i18n import N_

__all__ = [
    "BOOKING_CODE_VALUES",
    "BOOKING_DETAIL_LABELS",
    "BOOKING_FIELD_ERRORS",
    "BOOKING_NOTICES",
    "BOOKING_RESULTS",
    "REFERENCE_LABELS",
]

BOOKING_NOTICES: Mapping[str, str] = {
    "bike_already_enabled": N_(
        "Public bikes are enabled on this card already: its deposit is held."
    ),
    "bike_not_enabled": N_(
        "Public bikes are not enabled on this card: there is no deposit to return."
    ),
}

BOOKING_FIELD_ERRORS: Mapping[str, str] = {
    "no_free_slot": N_("No free time this week for this service. Please choose another."),
    "no_departure": N_("No departure with free seats that day. Please choose another day."),
    "ticket_not_found": N_("No ticket of this card has this number. Please check it."),
    "ticket_refunded": N_("This ticket has been refunded already, fare included."),
}

BOOKING_RESULTS: Mapping[str, tuple[str, str]] = {
    "booked": (
        N_("Your appointment is booked"),
        N_("Keep the slip: its number cancels the booking."),
    ),
    "booking_cancelled": (N_("Your booking is cancelled"), N_("The time is free for others now.")),
    "already_booked": (
        N_("You have a booking for this service already"),
        N_("One booking per service. Cancel it first to choose another time."),
    ),
    "slot_full": (
        N_("That time has just been taken"),
        N_("Nothing was booked. Please choose another time."),
    ),
    "booking_not_found": (
        N_("No open booking of this card has this number"),
        N_("Nothing was cancelled."),
    ),
    "ticket_refunded": (
        N_("Your ticket is refunded"),
        N_("The fare is back on your card; the ticket is no longer valid."),
    ),
    "ticket_pending": (
        N_("Paid: your ticket is printed without its boarding code"),
        N_("Show the ticket number at the station window to board."),
    ),
    "departed": (
        N_("This bus has left already"),
        N_("Tickets are refunded only before departure."),
    ),
    "sold_out": (
        N_("No seat left on this bus"),
        N_("Nothing was paid. Please choose another departure."),
    ),
    "ticket_not_found": (N_("No ticket of this card has this number"), N_("Nothing was changed.")),
    "deposit_held": (
        N_("Public bikes are enabled"),
        N_("The deposit is held by the service centre until you disable bikes."),
    ),
    "deposit_returned": (
        N_("The deposit is back on your card"),
        N_("Public bikes are disabled on this card."),
    ),
    "deposit_already_held": (
        N_("Public bikes are enabled on this card already"),
        N_("Nothing was paid. The deposit is held already."),
    ),
    "no_deposit": (N_("There is no deposit to return"), N_("Nothing was changed.")),
    "try_later": (
        N_("The department's system did not answer"),
        N_("Nothing was changed. Please try later."),
    ),
}

BOOKING_DETAIL_LABELS: Mapping[str, str] = {
    "department": N_("Department"),
    "service": N_("Service"),
    "slot": N_("Time"),
    "route": N_("Route"),
    "departure": N_("Departs"),
    "seat": N_("Seat"),
    "booking": N_("Booking number"),
    "deposit": N_("Deposit"),
    "bike_status": N_("Public bikes"),
    "ahead": N_("People ahead of you"),
}

# Detail values that are codes, by detail label.
BOOKING_CODE_VALUES: Mapping[str, Mapping[str, str]] = {
    "deposit": {"bike": N_("Public bike deposit")},
    "bike_status": {
        "none": N_("Not enabled"),
        "pending": N_("Enabling (the deposit is on its way)"),
        "held": N_("Enabled, deposit held"),
        "returning": N_("Deposit being returned"),
    },
}

# What the number a citizen keeps is called, by outcome kind (DONE).
REFERENCE_LABELS: Mapping[str, str] = {
    "booking": N_("Booking number"),
    "ticket": N_("Ticket number"),
    "queue_number": N_("Your number"),
    "tracking_number": N_("Tracking number"),
}
