"""The device-status model: each device ok / warning / fault, a code, the next step.

Codes and next steps are enums; words for people are the UI's (terminal_ui turns
codes into the three languages; ``civicard diagnose`` prints the English of
:data:`STEP_TEXT`). One table, :data:`RULES`, says how bad each code is and what a
technician does about it, so the screen, the CLI and the heartbeat always agree.
Facts are JSON values without floats (milliseconds, bytes, counts), so a status
can be signed in its canonical encoding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "RULES",
    "STEP_TEXT",
    "Code",
    "DeviceKind",
    "DeviceStatus",
    "Health",
    "NextStep",
    "SelfTestName",
    "SelfTestResult",
    "StatusReport",
]

Fact = str | int | bool | None


class Health(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAULT = "fault"

    @property
    def rank(self) -> int:
        return {"ok": 0, "warning": 1, "fault": 2}[self.value]


class DeviceKind(StrEnum):
    CARD_READER = "card_reader"
    PSAM = "psam"
    PRINTER = "printer"
    CENTRAL = "central"
    OUTBOX = "outbox"
    DOCUMENTS = "documents"
    DISK = "disk"
    SOFTWARE = "software"


class Code(StrEnum):
    OK = "ok"
    NO_CARD = "no_card"  # the card reader is there and empty: normal
    NO_TEST_CARD = "no_test_card"  # a self-test that needs a card found none
    NOT_CONFIGURED = "not_configured"
    READER_MISSING = "reader_missing"
    PCSC_DOWN = "pcsc_down"
    PSAM_MISSING = "psam_missing"
    PSAM_WRONG = "psam_wrong"  # answers, but not as this terminal's PSAM
    CARD_UNREADABLE = "card_unreadable"
    MAC_FAILED = "mac_failed"
    PRINTER_NO_ANSWER = "printer_no_answer"
    PRINTER_OFFLINE = "printer_offline"
    PRINTER_UNSUPERVISED = "printer_unsupervised"
    PAPER_OUT = "paper_out"
    PAPER_NEAR_END = "paper_near_end"
    COVER_OPEN = "cover_open"
    CUTTER_ERROR = "cutter_error"
    PRINTER_ERROR = "printer_error"
    PRINT_MISMATCH = "print_mismatch"
    CENTRAL_UNREACHABLE = "central_unreachable"
    CENTRAL_REFUSED = "central_refused"
    CLOCK_SKEW = "clock_skew"
    CLOCK_DRIFT = "clock_drift"  # noticeable, still within the limit
    BACKLOG = "backlog"
    BACKLOG_OLD = "backlog_old"
    OPEN_INTENT = "open_intent"
    CHAIN_BROKEN = "chain_broken"
    BEHIND_CENTRAL = "behind_central"
    OUTBOX_UNREADABLE = "outbox_unreadable"
    HOTLIST_MISSING = "hotlist_missing"
    HOTLIST_STALE = "hotlist_stale"
    DOCUMENT_MISSING = "document_missing"
    DOCUMENT_STALE = "document_stale"
    DISK_LOW = "disk_low"
    DISK_FULL = "disk_full"
    OUT_OF_SERVICE = "out_of_service"


class NextStep(StrEnum):
    NONE = "none"
    INSERT_TEST_CARD = "insert_test_card"
    CONFIGURE = "configure"
    CHECK_READER = "check_reader"  # cable, USB port; then restart pcscd
    RESTART_PCSC = "restart_pcsc"
    SEAT_PSAM = "seat_psam"
    REPLACE_CARD = "replace_card"
    CALL_KEY_CUSTODIAN = "call_key_custodian"  # PSAM keys do not match the cards
    CHECK_PRINTER_CABLE = "check_printer_cable"
    POWER_CYCLE_PRINTER = "power_cycle_printer"
    LOAD_PAPER = "load_paper"
    BRING_PAPER = "bring_paper"
    CLOSE_COVER = "close_cover"
    CLEAR_CUTTER = "clear_cutter"
    CHECK_NETWORK = "check_network"
    CHECK_ENROLLMENT = "check_enrollment"
    SET_CLOCK = "set_clock"
    FORCE_SYNC = "force_sync"
    KEEP_OUTBOX_CALL_SUPPORT = "keep_outbox_call_support"
    FREE_DISK = "free_disk"
    BACK_IN_SERVICE = "back_in_service"


# code -> (how bad, what to do). One table for the screen, the CLI and heartbeats.
RULES: Mapping[Code, tuple[Health, NextStep]] = {
    Code.OK: (Health.OK, NextStep.NONE),
    Code.NO_CARD: (Health.OK, NextStep.NONE),
    Code.NO_TEST_CARD: (Health.WARNING, NextStep.INSERT_TEST_CARD),
    Code.NOT_CONFIGURED: (Health.WARNING, NextStep.CONFIGURE),
    Code.READER_MISSING: (Health.FAULT, NextStep.CHECK_READER),
    Code.PCSC_DOWN: (Health.FAULT, NextStep.RESTART_PCSC),
    Code.PSAM_MISSING: (Health.FAULT, NextStep.SEAT_PSAM),
    Code.PSAM_WRONG: (Health.FAULT, NextStep.SEAT_PSAM),
    Code.CARD_UNREADABLE: (Health.WARNING, NextStep.REPLACE_CARD),
    Code.MAC_FAILED: (Health.FAULT, NextStep.CALL_KEY_CUSTODIAN),
    Code.PRINTER_NO_ANSWER: (Health.FAULT, NextStep.CHECK_PRINTER_CABLE),
    Code.PRINTER_OFFLINE: (Health.FAULT, NextStep.POWER_CYCLE_PRINTER),
    Code.PRINTER_UNSUPERVISED: (Health.WARNING, NextStep.NONE),
    Code.PAPER_OUT: (Health.FAULT, NextStep.LOAD_PAPER),
    Code.PAPER_NEAR_END: (Health.WARNING, NextStep.BRING_PAPER),
    Code.COVER_OPEN: (Health.FAULT, NextStep.CLOSE_COVER),
    Code.CUTTER_ERROR: (Health.FAULT, NextStep.CLEAR_CUTTER),
    Code.PRINTER_ERROR: (Health.FAULT, NextStep.POWER_CYCLE_PRINTER),
    Code.PRINT_MISMATCH: (Health.FAULT, NextStep.POWER_CYCLE_PRINTER),
    Code.CENTRAL_UNREACHABLE: (Health.FAULT, NextStep.CHECK_NETWORK),
    Code.CENTRAL_REFUSED: (Health.FAULT, NextStep.CHECK_ENROLLMENT),
    Code.CLOCK_SKEW: (Health.FAULT, NextStep.SET_CLOCK),
    Code.CLOCK_DRIFT: (Health.WARNING, NextStep.SET_CLOCK),
    Code.BACKLOG: (Health.WARNING, NextStep.FORCE_SYNC),
    Code.BACKLOG_OLD: (Health.FAULT, NextStep.FORCE_SYNC),
    Code.OPEN_INTENT: (Health.WARNING, NextStep.NONE),  # settled when its card returns
    Code.CHAIN_BROKEN: (Health.FAULT, NextStep.KEEP_OUTBOX_CALL_SUPPORT),
    Code.BEHIND_CENTRAL: (Health.FAULT, NextStep.KEEP_OUTBOX_CALL_SUPPORT),
    Code.OUTBOX_UNREADABLE: (Health.FAULT, NextStep.KEEP_OUTBOX_CALL_SUPPORT),
    Code.HOTLIST_MISSING: (Health.FAULT, NextStep.FORCE_SYNC),
    Code.HOTLIST_STALE: (Health.FAULT, NextStep.FORCE_SYNC),
    Code.DOCUMENT_MISSING: (Health.WARNING, NextStep.FORCE_SYNC),
    Code.DOCUMENT_STALE: (Health.WARNING, NextStep.FORCE_SYNC),
    Code.DISK_LOW: (Health.WARNING, NextStep.FREE_DISK),
    Code.DISK_FULL: (Health.FAULT, NextStep.FREE_DISK),
    Code.OUT_OF_SERVICE: (Health.WARNING, NextStep.BACK_IN_SERVICE),
}

# English, for the shell (``civicard diagnose``); the touch screen has its own words.
STEP_TEXT: Mapping[NextStep, str] = {
    NextStep.NONE: "nothing to do",
    NextStep.INSERT_TEST_CARD: "insert a card to test the reader",
    NextStep.CONFIGURE: "set it in the kiosk config",
    NextStep.CHECK_READER: "check the reader's cable and USB port, then restart pcscd",
    NextStep.RESTART_PCSC: "restart the PC/SC service (pcscd)",
    NextStep.SEAT_PSAM: "seat this terminal's PSAM in its slot",
    NextStep.REPLACE_CARD: "try another card; replace this one if it fails again",
    NextStep.CALL_KEY_CUSTODIAN: "PSAM and card keys do not match: call the key custodian",
    NextStep.CHECK_PRINTER_CABLE: "check the printer's power and cable",
    NextStep.POWER_CYCLE_PRINTER: "switch the printer off and on",
    NextStep.LOAD_PAPER: "load a paper roll",
    NextStep.BRING_PAPER: "paper is running low: bring a roll",
    NextStep.CLOSE_COVER: "close the printer cover",
    NextStep.CLEAR_CUTTER: "clear the cutter jam",
    NextStep.CHECK_NETWORK: "check the network link to the central",
    NextStep.CHECK_ENROLLMENT: "the central refuses this terminal: check its enrollment",
    NextStep.SET_CLOCK: "the clock is off: set it (NTP) and restart",
    NextStep.FORCE_SYNC: "force a sync",
    NextStep.KEEP_OUTBOX_CALL_SUPPORT: "do not delete the outbox; export a support bundle",
    NextStep.FREE_DISK: "free disk space (logs, old bundles); sales stop when full",
    NextStep.BACK_IN_SERVICE: "put the kiosk back in service when done",
}


def _worst(codes: Iterable[Code]) -> Code:
    found = list(codes) or [Code.OK]
    return max(found, key=lambda c: RULES[c][0].rank)


@dataclass(frozen=True)
class DeviceStatus:
    """One device now: its health (the worst of its codes) and the next step."""

    device: DeviceKind
    codes: tuple[Code, ...]
    facts: Mapping[str, Fact] = field(default_factory=dict)

    @property
    def code(self) -> Code:
        """The code that decides the health (the worst one)."""
        return _worst(self.codes)

    @property
    def health(self) -> Health:
        return RULES[self.code][0]

    @property
    def next_step(self) -> NextStep:
        return RULES[self.code][1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device.value,
            "health": self.health.value,
            "code": self.code.value,
            "codes": [c.value for c in self.codes],
            "next_step": self.next_step.value,
            "facts": dict(self.facts),
        }


@dataclass(frozen=True)
class StatusReport:
    """Every device at one moment (``at_ms``, the kiosk's clock)."""

    at_ms: int
    devices: tuple[DeviceStatus, ...]

    @property
    def health(self) -> Health:
        return max((d.health for d in self.devices), key=lambda h: h.rank, default=Health.OK)

    def device(self, kind: DeviceKind) -> DeviceStatus:
        for d in self.devices:
            if d.device is kind:
                return d
        raise KeyError(kind)

    def faults(self) -> list[DeviceStatus]:
        return [d for d in self.devices if d.health is Health.FAULT]

    def to_dict(self) -> dict[str, Any]:
        return {
            "at_ms": self.at_ms,
            "health": self.health.value,
            "devices": [d.to_dict() for d in self.devices],
        }


class SelfTestName(StrEnum):
    READERS = "readers"  # card reader + PSAM: select, read, MAC round trip
    TEST_PRINT = "test_print"
    NETWORK = "network"  # central health + signed time
    OUTBOX = "outbox"  # the hash chain verified end to end


@dataclass(frozen=True)
class SelfTestResult:
    """One self-test: passed or not, the code that says why, what it measured."""

    name: SelfTestName
    code: Code
    facts: Mapping[str, Fact] = field(default_factory=dict)
    duration_ms: int = 0

    @property
    def health(self) -> Health:
        return RULES[self.code][0]

    @property
    def passed(self) -> bool:
        return self.health is not Health.FAULT

    @property
    def next_step(self) -> NextStep:
        return RULES[self.code][1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name.value,
            "passed": self.passed,
            "health": self.health.value,
            "code": self.code.value,
            "next_step": self.next_step.value,
            "facts": dict(self.facts),
            "duration_ms": self.duration_ms,
        }
