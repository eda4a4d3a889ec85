"""Words for the technician's pages (the maintenance journey), as gettext message ids.

The diagnostics speak in codes (:mod:`kiosk.diagnostics.model`: device kinds,
health, codes, next steps, self-tests) and the journey in actions and reasons
(:mod:`kiosk.journeys.maintenance`); each has words here in the three languages
(``tests/ui/test_maintenance_texts.py`` derives the codes from the enums). Facts
keep their names: they are for a technician, and match ``civicard diagnose``.
"""

from __future__ import annotations

from collections.abc import Mapping

from terminal_ui.i18n import N_

__all__ = [
    "ACTIONS",
    "CODES",
    "DETAILS",
    "DEVICES",
    "HEALTH",
    "LINES",
    "PROBLEMS",
    "REASONS",
    "STEPS",
    "TESTS",
]

DEVICES: Mapping[str, str] = {
    "card_reader": N_("Card reader"),
    "psam": N_("PSAM"),
    "printer": N_("Receipt printer"),
    "central": N_("Central"),
    "outbox": N_("Outbox"),
    "documents": N_("Downloaded documents"),
    "disk": N_("Disk"),
    "software": N_("Software"),
}

HEALTH: Mapping[str, str] = {
    "ok": N_("Normal"),
    "warning": N_("Warning"),
    "fault": N_("Fault"),
}

TESTS: Mapping[str, str] = {
    "readers": N_("Card reader and PSAM"),  # select, read, a MAC round trip
    "test_print": N_("Test print"),
    "network": N_("Network and signed time"),
    "outbox": N_("Outbox hash chain"),
}

CODES: Mapping[str, str] = {
    "ok": N_("Working"),
    "no_card": N_("Ready, no card in it"),
    "no_test_card": N_("No card to test with"),
    "not_configured": N_("Not configured"),
    "reader_missing": N_("Reader not found"),
    "pcsc_down": N_("PC/SC service not answering"),
    "psam_missing": N_("No PSAM in its slot"),
    "psam_wrong": N_("Not this terminal's PSAM"),
    "card_unreadable": N_("The card could not be read"),
    "mac_failed": N_("MAC round trip failed"),
    "printer_no_answer": N_("Printer not answering"),
    "printer_offline": N_("Printer offline"),
    "printer_unsupervised": N_("One-way link: status unknown"),
    "paper_out": N_("Out of paper"),
    "paper_near_end": N_("Paper running low"),
    "cover_open": N_("Cover open"),
    "cutter_error": N_("Cutter jammed"),
    "printer_error": N_("Printer error"),
    "print_mismatch": N_("The printout did not match"),
    "central_unreachable": N_("Central not reachable"),
    "central_refused": N_("The central refuses this terminal"),
    "clock_skew": N_("Clock far off"),
    "clock_drift": N_("Clock drifting"),
    "backlog": N_("Records waiting to be sent"),
    "backlog_old": N_("Records waiting for over an hour"),
    "open_intent": N_("An interrupted payment is open"),
    "chain_broken": N_("Hash chain broken"),
    "behind_central": N_("Outbox behind the central"),
    "outbox_unreadable": N_("Outbox unreadable"),
    "hotlist_missing": N_("No hotlist"),
    "hotlist_stale": N_("Hotlist too old"),
    "document_missing": N_("A document is missing"),
    "document_stale": N_("A document is old"),
    "disk_low": N_("Disk nearly full"),
    "disk_full": N_("Disk full"),
    "out_of_service": N_("Out of service"),
}
CODE_UNKNOWN = N_("Unknown state")

STEPS: Mapping[str, str] = {
    "none": "",
    "insert_test_card": N_("Insert a card to test the reader."),
    "configure": N_("Set it in the kiosk config."),
    "check_reader": N_("Check the reader's cable and USB port, then restart pcscd."),
    "restart_pcsc": N_("Restart the PC/SC service (pcscd)."),
    "seat_psam": N_("Seat this terminal's PSAM in its slot."),
    "replace_card": N_("Try another card; replace this one if it fails again."),
    "call_key_custodian": N_("PSAM and card keys do not match: call the key custodian."),
    "check_printer_cable": N_("Check the printer's power and cable."),
    "power_cycle_printer": N_("Switch the printer off and on."),
    "load_paper": N_("Load a paper roll."),
    "bring_paper": N_("Paper is running low: bring a roll."),
    "close_cover": N_("Close the printer cover."),
    "clear_cutter": N_("Clear the cutter jam."),
    "check_network": N_("Check the network link to the central."),
    "check_enrollment": N_("The central refuses this terminal: check its enrollment."),
    "set_clock": N_("The clock is off: set it (NTP) and restart."),
    "force_sync": N_("Force a sync."),
    "keep_outbox_call_support": N_("Do not delete the outbox; export a support bundle."),
    "free_disk": N_("Free disk space (logs, old bundles); sales stop when full."),
    "back_in_service": N_("Put the kiosk back in service when done."),
}

# Out-of-service reasons (kiosk.journeys.maintenance_pages.REASONS).
REASONS: Mapping[str, str] = {
    "repair": N_("Repair"),
    "printer_paper": N_("Printer or paper"),
    "cleaning": N_("Cleaning"),
    "network": N_("Network work"),
    "inspection": N_("Inspection"),
}

# Menu buttons and page titles (kiosk.journeys.maintenance.Action).
ACTIONS: Mapping[str, str] = {
    "home": N_("Maintenance menu"),
    "status": N_("Device status"),
    "tests": N_("Self-tests"),
    "run_test": N_("Run"),
    "force_sync": N_("Force a sync now"),
    "out_of_service": N_("Take out of service"),
    "back_in_service": N_("Put back in service"),
    "config": N_("Configuration"),
    "apdu_trace": N_("APDU trace"),
    "support_bundle": N_("Export a support bundle"),
    "open": N_("Maintenance menu"),
}

# Labels of a result's details (sync, support bundle).
DETAILS: Mapping[str, str] = {
    "uploaded": N_("Records uploaded"),
    "acked_seq": N_("Acknowledged up to"),
    "hotlist_version": N_("Hotlist version"),
    "skew_ms": N_("Clock skew (ms)"),
    "file": N_("File"),
    "directory": N_("Directory"),
    "size": N_("Size (bytes)"),
    "sha256": N_("SHA-256"),
    "uploaded_id": N_("Number at the central"),
}

# Lines the journey gives as codes.
PROBLEMS: Mapping[str, str] = {
    "no_diagnostics": N_("This kiosk was built without diagnostics."),
    "no_support_dir": N_("No directory for support bundles is configured."),
}

# Words of the pages themselves.
LINES: Mapping[str, str] = {
    "title": N_("Maintenance mode"),
    "in_service": N_("In service"),
    "out_since": N_("Out of service: {reason}"),
    "technician": N_("Technician card {number}"),
    "done_ok": N_("Done."),
    "done_failed": N_("It did not work."),
    "not_run": N_("Not run yet"),
    "run_all": N_("Run all"),
    "choose_reason": N_("Why is the kiosk going out of service?"),
    "back": N_("Back"),
    "refresh": N_("Check again"),
    "exit": N_("Exit"),  # short: it fits the elder mode's half-width button
    "empty": N_("Nothing recorded yet."),
    "next": N_("Next: {step}"),
}
