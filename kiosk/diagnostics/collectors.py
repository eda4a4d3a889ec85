"""Status collectors: one function per device, each reading through a real seam.

They are passive on the chips: no APDU goes to the card or the PSAM here (a
citizen's purchase may be between the PSAM's 80 70 and 80 72, which any other
command would break). The readers are seen through PC/SC's reader list and ATRs;
APDUs are the self-tests' (:mod:`kiosk.diagnostics.selftests`), run only when no
session is on. The printer is asked its real-time status bytes under the printer
lock, the central its signed time, the outbox is read and its chain walked.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import platform
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata

from cardlib.errors import CardError
from drivers.printer.status import PrinterStatus
from kiosk.diagnostics.chaincheck import ChainCheck, compare_with_central, verify_outbox
from kiosk.diagnostics.devices import Devices, ReaderSlot
from kiosk.diagnostics.model import Code, DeviceKind, DeviceStatus, Fact
from kiosk.diagnostics.redact import config_values, redact_url

__all__ = [
    "Observed",
    "card_reader_status",
    "central_status",
    "config_hash",
    "disk_status",
    "documents_status",
    "outbox_status",
    "printer_status",
    "psam_status",
    "software_status",
    "software_version",
]

DOCUMENTS = ("catalog", "fees", "config")


@dataclass
class Observed:
    """What the self-tests and the central taught diagnostics, for later statuses."""

    psam_ttc: int | None = None
    key_versions: tuple[int, ...] = ()
    central_position: tuple[int, str] | None = None  # (acked seq, head hash) at the central
    last_skew_ms: int | None = None
    out_of_service: Mapping[str, Fact] | None = None


def _find(slot: ReaderSlot, present: Mapping[str, bytes | None]) -> str | None:
    if slot.name in present:
        return slot.name
    pattern = slot.name.lower()
    for name in present:
        if fnmatch.fnmatchcase(name.lower(), pattern):
            return name
    return None


def _reader(devices: Devices, slot: ReaderSlot | None, kind: DeviceKind) -> DeviceStatus:
    if slot is None:
        return DeviceStatus(kind, (Code.NOT_CONFIGURED,))
    try:
        present = devices.readers()
    except CardError as exc:  # PcscServiceError: no pcscd, or its socket went away
        return DeviceStatus(kind, (Code.PCSC_DOWN,), {"reader": slot.name, "error": str(exc)})
    name = _find(slot, present)
    if name is None:
        gone: dict[str, Fact] = {"reader": slot.name, "readers_seen": len(present)}
        return DeviceStatus(kind, (Code.READER_MISSING,), gone)
    atr = present[name]
    facts: dict[str, Fact] = {"reader": name, "atr": atr.hex().upper() if atr else None}
    if kind is DeviceKind.CARD_READER:
        return DeviceStatus(kind, (Code.OK if atr else Code.NO_CARD,), facts)
    facts["terminal_id"] = devices.terminal_id
    return DeviceStatus(kind, (Code.OK if atr else Code.PSAM_MISSING,), facts)


def card_reader_status(devices: Devices) -> DeviceStatus:
    """The card reader: present in PC/SC, a card in it (its ATR)."""
    return _reader(devices, devices.card, DeviceKind.CARD_READER)


def psam_status(devices: Devices, seen: Observed) -> DeviceStatus:
    """The PSAM's reader and chip; TTC and key versions as the last self-test saw them."""
    st = _reader(devices, devices.psam, DeviceKind.PSAM)
    facts = dict(st.facts)
    facts["ttc"] = seen.psam_ttc
    facts["key_versions"] = ",".join(str(v) for v in seen.key_versions) or None
    return DeviceStatus(st.device, st.codes, facts)


def printer_status(devices: Devices) -> DeviceStatus:
    """The printer's DLE EOT status bytes (and its error cause, for the cutter)."""
    kind = DeviceKind.PRINTER
    if devices.printer is None:
        return DeviceStatus(kind, (Code.NOT_CONFIGURED,))
    with devices.printer_lock:
        st = devices.printer.status()
        cause = devices.printer.error_cause() if st.answered else None
    facts: dict[str, Fact] = {
        "url": redact_url(devices.printer.url),
        "profile": devices.printer_profile or None,
        "answered": st.answered,
        "online": st.online,
        "paper": st.paper.value,
        "cover_open": st.cover_open,
        "cutter_error": bool(cause is not None and cause.cutter),
        "last_error": st.detail or (cause.describe() if cause is not None and cause.any else None),
    }
    if st == PrinterStatus.unsupervised():
        return DeviceStatus(kind, (Code.PRINTER_UNSUPERVISED,), facts)
    if not st.answered:
        return DeviceStatus(kind, (Code.PRINTER_NO_ANSWER,), facts)
    codes: list[Code] = []
    if st.paper.value == "out":
        codes.append(Code.PAPER_OUT)
    elif st.paper.value == "near_end":
        codes.append(Code.PAPER_NEAR_END)
    if st.cover_open:
        codes.append(Code.COVER_OPEN)
    if cause is not None and cause.cutter:
        codes.append(Code.CUTTER_ERROR)
    elif st.error:
        codes.append(Code.PRINTER_ERROR)
    if not st.online and not any(c is not Code.PAPER_NEAR_END for c in codes):
        codes.append(Code.PRINTER_OFFLINE)
    return DeviceStatus(kind, tuple(codes) or (Code.OK,), facts)


def central_status(devices: Devices, seen: Observed) -> DeviceStatus:
    """Reachable, round trip, and skew against the central's signed time."""
    from backend_sync.terminal.client import CentralRefused, CentralUnavailable

    kind = DeviceKind.CENTRAL
    if devices.client is None:
        return DeviceStatus(kind, (Code.NOT_CONFIGURED,))
    facts: dict[str, Fact] = {"url": str(devices.client.http.base_url).rstrip("/")}
    try:
        sample = devices.client.time_sample()
    except CentralUnavailable as exc:
        facts["error"] = str(exc)[:200]
        return DeviceStatus(kind, (Code.CENTRAL_UNREACHABLE,), facts)
    except CentralRefused as exc:
        facts["error"] = exc.reason
        return DeviceStatus(kind, (Code.CENTRAL_REFUSED,), facts)
    seen.last_skew_ms = sample.skew_ms
    facts.update(reachable=True, round_trip_ms=sample.round_trip_ms, skew_ms=sample.skew_ms)
    lim = devices.limits
    if abs(sample.skew_ms) > lim.max_skew_ms:
        return DeviceStatus(kind, (Code.CLOCK_SKEW,), facts)
    if abs(sample.skew_ms) > lim.drift_warn_ms:
        return DeviceStatus(kind, (Code.CLOCK_DRIFT,), facts)
    return DeviceStatus(kind, (Code.OK,), facts)


def outbox_status(devices: Devices, seen: Observed) -> tuple[DeviceStatus, ChainCheck | None]:
    """Records waiting, age of the oldest unsent, last acknowledged, chain verified."""
    from backend_sync.terminal.outbox import OutboxError

    kind = DeviceKind.OUTBOX
    if devices.outbox is None:
        return DeviceStatus(kind, (Code.NOT_CONFIGURED,)), None
    try:
        st = devices.outbox.status()
        check = verify_outbox(devices.outbox.engine)
    except (OutboxError, ValueError, KeyError, OSError) as exc:
        return DeviceStatus(kind, (Code.OUTBOX_UNREADABLE,), {"error": str(exc)[:200]}), None
    except Exception as exc:  # sqlalchemy: a file that is not a database any more
        if type(exc).__module__.startswith("sqlalchemy"):
            return DeviceStatus(kind, (Code.OUTBOX_UNREADABLE,), {"error": str(exc)[:200]}), None
        raise
    now_ms = int(devices.clock() * 1000)
    oldest_s = None if check.oldest_unsent_ms is None else (now_ms - check.oldest_unsent_ms) // 1000
    facts: dict[str, Fact] = {
        "waiting": st.unacked,
        "oldest_unsent_s": oldest_s,
        "head_seq": st.head_seq,
        "acked_seq": st.acked_seq,
        "open_intents": st.open_intents,
        "chain_verified": check.ok,
        "records_checked": check.checked,
        "sales_allowed": st.sales_allowed,
    }
    codes: list[Code] = []
    if not check.ok:
        facts["chain_problem"] = check.problem
        codes.append(Code.CHAIN_BROKEN)
    if seen.central_position is not None:
        central_seq, central_hash = seen.central_position
        facts["central_acked_seq"] = central_seq
        why = compare_with_central(check, central_seq, central_hash)
        if why == "behind":
            codes.append(Code.BEHIND_CENTRAL)
        elif why == "forked":
            codes.append(Code.CHAIN_BROKEN)
    lim = devices.limits
    if oldest_s is not None and oldest_s > lim.backlog_old_s:
        codes.append(Code.BACKLOG_OLD)
    elif st.unacked > lim.backlog_warn:
        codes.append(Code.BACKLOG)
    if st.open_intents:
        codes.append(Code.OPEN_INTENT)
    return DeviceStatus(kind, tuple(codes) or (Code.OK,), facts), check


def documents_status(devices: Devices) -> DeviceStatus:
    """Hotlist, catalog, fee tables (and config): versions and ages against limits."""
    kind = DeviceKind.DOCUMENTS
    store = devices.store
    if store is None:
        return DeviceStatus(kind, (Code.NOT_CONFIGURED,))
    now = devices.clock()
    lim = devices.limits
    codes: list[Code] = []
    hl = store.hotlist()
    facts: dict[str, Fact] = {"hotlist_version": hl.version}
    if hl.fetched_ms == 0:
        codes.append(Code.HOTLIST_MISSING)
        facts["hotlist_age_s"] = None
    else:
        age = int(hl.age_s(now))
        facts["hotlist_age_s"] = age
        if age > lim.max_hotlist_age_s:
            codes.append(Code.HOTLIST_STALE)
    for name in DOCUMENTS:
        doc = store.document(name)
        if doc is None:
            facts[f"{name}_version"] = None
            if name == "catalog":  # without it only the built-in card services show
                codes.append(Code.DOCUMENT_MISSING)
            continue
        facts[f"{name}_version"] = doc.version
        try:
            doc_age: int | None = int(now - (store.root / f"{name}.json").stat().st_mtime)
        except OSError:
            doc_age = None
        facts[f"{name}_age_s"] = doc_age
        if doc_age is not None and doc_age > lim.max_document_age_s:
            codes.append(Code.DOCUMENT_STALE)
    return DeviceStatus(kind, tuple(codes) or (Code.OK,), facts)


def disk_status(devices: Devices) -> DeviceStatus:
    """Free space where the outbox lives (sales stop below the outbox's reserve)."""
    kind = DeviceKind.DISK
    if not devices.data_dir.is_dir():
        # Not a full disk: the configured folder is not there (a wrong path, or the
        # data volume not mounted); the outbox's own status says what that costs.
        return DeviceStatus(kind, (Code.NOT_CONFIGURED,),
                            {"error": f"data_dir is not a folder: {devices.data_dir}"})  # fmt: skip
    try:
        usage = shutil.disk_usage(devices.data_dir)
    except OSError as exc:
        return DeviceStatus(kind, (Code.DISK_FULL,), {"error": str(exc)})
    facts: dict[str, Fact] = {"free_bytes": usage.free, "total_bytes": usage.total}
    lim = devices.limits
    if usage.free < lim.disk_full_bytes:
        return DeviceStatus(kind, (Code.DISK_FULL,), facts)
    if usage.free < lim.disk_low_bytes:
        return DeviceStatus(kind, (Code.DISK_LOW,), facts)
    return DeviceStatus(kind, (Code.OK,), facts)


def software_version() -> str:
    """The installed civicard version (the source tree's when not installed)."""
    try:
        return metadata.version("civicard")
    except metadata.PackageNotFoundError:
        return "0+source"


def config_hash(devices: Devices) -> str | None:
    """SHA-256 (first 24 hex digits) of the effective config, so a fleet can see
    which kiosks run the same settings; secrets never leave, only this digest."""
    cfg = devices.config
    if cfg is None:
        return None
    raw = json.dumps(config_values(cfg, redact=False), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:24].upper()


def software_status(devices: Devices, seen: Observed) -> DeviceStatus:
    """Version, config hash, uptime; out of service shows here."""
    facts: dict[str, Fact] = {
        "version": software_version(),
        "python": platform.python_version(),
        "config_hash": config_hash(devices),
        "uptime_s": int(devices.clock() - devices.started),
    }
    if seen.out_of_service is not None:
        facts["out_of_service_reason"] = seen.out_of_service.get("reason")
        return DeviceStatus(DeviceKind.SOFTWARE, (Code.OUT_OF_SERVICE,), facts)
    return DeviceStatus(DeviceKind.SOFTWARE, (Code.OK,), facts)
