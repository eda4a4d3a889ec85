"""Self-tests: they talk to the chips, the printer and the central, so they run
only when no citizen session is on (the maintenance journey, ``civicard diagnose``).

- readers: the PSAM selected and its terminal id read (and compared with this
  kiosk's); with a card in the reader, the card application selected, its public
  information read, the PSAM's INIT SAM FOR PURCHASE (80 70: the TTC, which moves
  on by one as on an aborted purchase) under the card's key version, and a MAC
  round trip: the PSAM computes the maintenance MAC for an UPDATE BINARY that
  writes one byte of the card's public information back unchanged, and the card
  accepts it only if the PSAM's key and its own agree.
- test print: the test-page receipt; on the simulator, the text it decoded is
  compared with what was sent.
- network: the central's health, and a signed time request.
- outbox: the hash chain walked end to end and met with the central's position.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable

from cardlib.apdu import ApduSession
from cardlib.bcd import CARD_TZ
from cardlib.errors import (
    CardError,
    DeviceError,
    KeyNotSupportedError,
    MacError,
    NoCardError,
    PcscServiceError,
    ReaderGoneError,
    SecureMessagingError,
)
from cardlib.layout import Ins, Sfi
from cardlib.psam import PsamClient
from cardlib.purse import Purse
from kiosk.diagnostics.chaincheck import compare_with_central, verify_outbox
from kiosk.diagnostics.collectors import Observed
from kiosk.diagnostics.devices import Devices
from kiosk.diagnostics.model import Code, Fact, SelfTestName, SelfTestResult

__all__ = ["network_test", "outbox_test", "readers_test", "test_print"]


def _timed(name: SelfTestName, run: Callable[[dict[str, Fact]], Code]) -> SelfTestResult:
    facts: dict[str, Fact] = {}
    t0 = time.monotonic()
    code = run(facts)
    return SelfTestResult(name, code, facts, int((time.monotonic() - t0) * 1000))


def _mac_round_trip(purse: Purse, psam: PsamClient) -> None:
    """UPDATE BINARY (CLA 04, secure messaging) of public info byte 0, unchanged."""
    info = purse.public_info()
    raw = info.to_bytes()
    payload = raw[:1]
    challenge = purse.get_challenge()
    header = bytes([0x04, Ins.UPDATE_BINARY, 0x80 | Sfi.PUBLIC_INFO, 0x00, len(payload) + 4])
    mac = psam.maintenance_mac(
        key_version=purse.key_version,
        algorithm=purse.algorithm,
        asn=info.asn,
        challenge=challenge,
        data=header + payload,
    )
    purse.session.send_apdu(0x04, Ins.UPDATE_BINARY, 0x80 | Sfi.PUBLIC_INFO, 0x00, payload + mac)


def readers_test(devices: Devices, seen: Observed) -> SelfTestResult:
    """Card reader + PSAM: select, read, a MAC round trip (see module docstring)."""

    def run(facts: dict[str, Fact]) -> Code:
        if devices.psam is None:
            return Code.NOT_CONFIGURED
        try:
            psam = PsamClient(ApduSession(devices.psam.connect()))
        except PcscServiceError as exc:
            facts["psam_error"] = str(exc)[:200]
            return Code.PCSC_DOWN
        except ReaderGoneError as exc:
            facts["psam_error"] = str(exc)[:200]
            return Code.READER_MISSING
        except DeviceError as exc:
            facts["psam_error"] = str(exc)[:200]
            return Code.PSAM_MISSING
        except CardError as exc:
            facts["psam_error"] = str(exc)[:200]
            return Code.PSAM_WRONG
        tid = psam.terminal_id.hex().upper()
        facts["psam_terminal_id"] = tid
        if tid != devices.terminal_id.upper():
            return Code.PSAM_WRONG
        if devices.card is None:
            return Code.NOT_CONFIGURED
        try:
            purse = Purse(ApduSession(devices.card.connect()))
            info = purse.public_info()
            facts["card_key_version"] = purse.key_version
            facts["card_algorithm"] = int(purse.algorithm)
            facts["card_blocked"] = purse.blocked
        except NoCardError:
            return Code.NO_TEST_CARD
        except CardError as exc:
            facts["card_error"] = str(exc)[:200]
            return Code.CARD_UNREADABLE
        now = dt.datetime.now(CARD_TZ)
        try:
            ttc, _mac1 = psam.init_for_purchase(
                card_random=secrets.token_bytes(4),
                offline_atc=0,
                amount=0,
                ttype=6,
                date=bytes.fromhex(now.strftime("%Y%m%d")),
                time=bytes.fromhex(now.strftime("%H%M%S")),
                key_version=purse.key_version,
                algorithm=purse.algorithm,
                asn=info.asn,
            )
        except KeyNotSupportedError:
            facts["psam_lacks_key_version"] = purse.key_version
            return Code.MAC_FAILED
        except CardError as exc:
            facts["psam_error"] = str(exc)[:200]
            return Code.PSAM_WRONG
        seen.psam_ttc = ttc
        seen.key_versions = tuple(sorted({*seen.key_versions, purse.key_version}))
        facts["psam_ttc"] = ttc
        try:
            _mac_round_trip(purse, psam)
        except (SecureMessagingError, MacError, KeyNotSupportedError) as exc:
            facts["mac_error"] = str(exc)[:200]
            return Code.MAC_FAILED
        except CardError as exc:
            facts["card_error"] = str(exc)[:200]
            return Code.CARD_UNREADABLE
        facts["mac_round_trip"] = True
        return Code.OK

    return _timed(SelfTestName.READERS, run)


def test_print(devices: Devices, language: str = "zh-Hans") -> SelfTestResult:
    """Print the test page; on the simulator, check the text it decoded."""
    from drivers.printer.errors import PrintFailed
    from kiosk.receipts.layouts import Terminal, TestPage, build_test_page, key_signer

    def run(facts: dict[str, Fact]) -> Code:
        if devices.printer is None:
            return Code.NOT_CONFIGURED
        if devices.terminal_key is None:
            facts["error"] = "the test page's QR is signed with the terminal key"
            return Code.NOT_CONFIGURED
        test_id = "T" + secrets.token_hex(6).upper()
        facts["test_id"] = test_id
        doc = build_test_page(
            TestPage(devices.printer_profile or devices.printer.profile.name, test_id,
                     dt.datetime.now(dt.UTC)),
            terminal=Terminal(devices.terminal_id, devices.location),
            signer=key_signer(devices.terminal_key),
            language=language,
        )  # fmt: skip
        try:
            with devices.printer_lock:
                result = devices.printer.print_document(doc)
        except PrintFailed as exc:
            problems = exc.status.problems()
            problem = problems[0] if problems else "error"
            if problem == "error":  # which error: the cutter is the technician's to clear
                with devices.printer_lock:
                    cause = devices.printer.error_cause()
                if cause is not None and cause.cutter:
                    problem = "cutter_error"
            facts["problem"] = problem
            return _PRINT_CODES.get(problem, Code.PRINTER_ERROR)
        facts["bytes_sent"] = result.bytes_sent
        facts["supervised"] = result.supervised
        if devices.printed_text is not None:
            text = devices.printed_text(10.0)
            if text is None:
                facts["decoded"] = False
                return Code.PRINT_MISMATCH
            want = [test_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789"]
            missing = [w for w in want if w not in text]
            facts["decoded"] = not missing
            if missing:
                facts["missing"] = ", ".join(missing)
                return Code.PRINT_MISMATCH
        if result.status.paper.value == "near_end":
            return Code.PAPER_NEAR_END
        return Code.OK

    return _timed(SelfTestName.TEST_PRINT, run)


_PRINT_CODES = {
    "paper_out": Code.PAPER_OUT,
    "cover_open": Code.COVER_OPEN,
    "offline": Code.PRINTER_OFFLINE,
    "no_answer": Code.PRINTER_NO_ANSWER,
    "error": Code.PRINTER_ERROR,
    "cutter_error": Code.CUTTER_ERROR,
}


def network_test(devices: Devices, seen: Observed) -> SelfTestResult:
    """The central's health endpoint, a signed time request, and our position there."""
    from backend_sync.terminal.client import CentralRefused, CentralUnavailable
    from backend_sync.terminal.heartbeat import fetch_position

    def run(facts: dict[str, Fact]) -> Code:
        client = devices.client
        if client is None:
            return Code.NOT_CONFIGURED
        try:
            t0 = time.monotonic()
            resp = client.http.get("/healthz")
            facts["health_ms"] = int((time.monotonic() - t0) * 1000)
            facts["health_status"] = resp.status_code
            if resp.status_code != 200:
                return Code.CENTRAL_UNREACHABLE
            sample = client.time_sample()
            facts["round_trip_ms"] = sample.round_trip_ms
            facts["skew_ms"] = sample.skew_ms
            seen.last_skew_ms = sample.skew_ms
            seq, head = fetch_position(client)
            seen.central_position = (seq, head)
            facts["central_acked_seq"] = seq
        except CentralRefused as exc:
            facts["error"] = exc.reason
            return Code.CENTRAL_REFUSED
        except (CentralUnavailable, OSError) as exc:
            facts["error"] = str(exc)[:200]
            return Code.CENTRAL_UNREACHABLE
        except Exception as exc:  # httpx errors from the health request
            if type(exc).__module__.startswith("httpx"):
                facts["error"] = str(exc)[:200]
                return Code.CENTRAL_UNREACHABLE
            raise
        if abs(sample.skew_ms) > devices.limits.max_skew_ms:
            return Code.CLOCK_SKEW
        return Code.OK

    return _timed(SelfTestName.NETWORK, run)


def outbox_test(devices: Devices, seen: Observed) -> SelfTestResult:
    """The outbox's hash chain end to end, met with the central's position."""
    from backend_sync.terminal.client import CentralRefused, CentralUnavailable
    from backend_sync.terminal.heartbeat import fetch_position

    def run(facts: dict[str, Fact]) -> Code:
        if devices.outbox is None:
            return Code.NOT_CONFIGURED
        try:
            check = verify_outbox(devices.outbox.engine)
        except Exception as exc:  # a damaged file: sqlite, JSON or key errors
            facts["error"] = str(exc)[:200]
            return Code.OUTBOX_UNREADABLE
        facts.update(acked_seq=check.acked_seq, head_seq=check.head_seq,
                     records_checked=check.checked, chain_verified=check.ok)  # fmt: skip
        if not check.ok:
            facts["problem"] = check.problem
            facts["broken_at"] = check.broken_at
            return Code.CHAIN_BROKEN
        if devices.client is not None:
            try:
                seen.central_position = fetch_position(devices.client)
            except (CentralUnavailable, CentralRefused) as exc:
                facts["central"] = f"not compared: {exc}"[:200]
        if seen.central_position is not None:
            seq, head = seen.central_position
            facts["central_acked_seq"] = seq
            why = compare_with_central(check, seq, head)
            if why == "behind":
                return Code.BEHIND_CENTRAL
            if why == "forked":
                facts["problem"] = f"the central's record {seq} is not ours"
                return Code.CHAIN_BROKEN
        return Code.OK

    return _timed(SelfTestName.OUTBOX, run)
