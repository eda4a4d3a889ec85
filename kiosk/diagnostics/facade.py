"""The technician's diagnostics, as one object the maintenance journey calls.

:class:`Diagnostics` takes the kiosk's :class:`~kiosk.diagnostics.devices.Devices`
and offers status, self-tests and actions. Everything blocks (card, printer and
network I/O): call it on the kiosk's worker thread, never the UI's. Nothing here
imports Kivy or the kiosk core. Every action is audited with the technician's card
number when an audit sink is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.diagnostics import collectors, selftests
from kiosk.diagnostics.bundle import BundleError, make_bundle, write_bundle
from kiosk.diagnostics.collectors import Observed
from kiosk.diagnostics.devices import Devices
from kiosk.diagnostics.model import (
    Code,
    DeviceKind,
    DeviceStatus,
    Health,
    SelfTestName,
    SelfTestResult,
    StatusReport,
)
from kiosk.diagnostics.redact import config_values, mask_numbers
from kiosk.diagnostics.service_state import ServiceState
from kiosk.diagnostics.trace import ApduTrace, RecentLog

__all__ = ["BundleResult", "Diagnostics", "SyncResult"]

AuditSink = Callable[[str, Mapping[str, object]], None]


@dataclass(frozen=True)
class SyncResult:
    """A forced sync: what moved, and what went wrong (empty ``problems``: all fine)."""

    ok: bool
    uploaded: int = 0
    acked_seq: int = 0
    hotlist_version: int = 0
    documents: dict[str, int] = field(default_factory=dict)
    skew_ms: int | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class BundleResult:
    """Where the bundle went; ``upload_error`` says why it is only on the stick."""

    path: Path
    signature_path: Path
    sha256: str
    size: int
    uploaded_id: int | None = None
    upload_error: str | None = None


class Diagnostics:
    """Status, self-tests and technician actions over one kiosk's devices."""

    def __init__(
        self,
        devices: Devices,
        *,
        audit: AuditSink | None = None,
        trace: ApduTrace | None = None,
        log: RecentLog | None = None,
    ) -> None:
        self.devices = devices
        self.audit = audit
        self.trace = trace
        self.log = log
        self.seen = Observed()
        self.service = ServiceState(devices.data_dir / "service-state.json", devices.clock)
        self.last_tests: dict[SelfTestName, SelfTestResult] = {}

    # -- audit ----------------------------------------------------------------------------
    def _audit(self, event: str, technician: str | None, **fields: object) -> None:
        if self.audit is not None:
            self.audit(f"maintenance.{event}", {"technician": technician, **fields})

    # -- status ---------------------------------------------------------------------------
    def status(self, *, central: bool = True) -> StatusReport:
        """Every device now. ``central=False`` skips the signed time request (the
        heartbeat's frequent look: the central sees the kiosk's clock in it)."""
        d = self.devices
        self.seen.out_of_service = self.service.current()
        devices: list[DeviceStatus] = [
            collectors.card_reader_status(d),
            collectors.psam_status(d, self.seen),
            collectors.printer_status(d),
        ]
        if central:
            devices.append(collectors.central_status(d, self.seen))
        outbox, _check = collectors.outbox_status(d, self.seen)
        devices += [
            outbox,
            collectors.documents_status(d),
            collectors.disk_status(d),
            collectors.software_status(d, self.seen),
        ]
        return StatusReport(int(d.clock() * 1000), tuple(devices))

    # -- self-tests -----------------------------------------------------------------------
    def run_self_test(self, name: SelfTestName, *, technician: str | None = None,
                      language: str = "zh-Hans") -> SelfTestResult:  # fmt: skip
        """One self-test (see :mod:`kiosk.diagnostics.selftests`)."""
        d = self.devices
        if name is SelfTestName.READERS:
            result = selftests.readers_test(d, self.seen)
        elif name is SelfTestName.TEST_PRINT:
            result = selftests.test_print(d, language)
        elif name is SelfTestName.NETWORK:
            result = selftests.network_test(d, self.seen)
        else:
            result = selftests.outbox_test(d, self.seen)
        self.last_tests[name] = result
        self._audit("self_test", technician, test=name.value, code=result.code.value)
        return result

    def self_tests(
        self, names: Iterable[SelfTestName] | None = None, *, technician: str | None = None
    ) -> list[SelfTestResult]:
        """The self-tests in order (all by default)."""
        return [self.run_self_test(n, technician=technician) for n in (names or SelfTestName)]

    # -- actions --------------------------------------------------------------------------
    def force_sync(self, *, technician: str | None = None) -> SyncResult:
        """One sync pass now (uploads, downloads, the clock), and what it did."""
        agent = self.devices.agent
        if agent is None:
            result = SyncResult(ok=False, problems=("no central configured",))
        else:
            r = agent.run_once()
            result = SyncResult(ok=r.ok, uploaded=r.uploaded, acked_seq=r.acked_seq,
                                hotlist_version=r.hotlist_version, documents=dict(r.documents),
                                skew_ms=r.skew_ms,
                                problems=tuple(mask_numbers(p) for p in r.problems))  # fmt: skip
            if r.skew_ms is not None:
                self.seen.last_skew_ms = r.skew_ms
        self._audit("force_sync", technician, ok=result.ok, uploaded=result.uploaded)
        return result

    def take_out_of_service(self, reason: str, *, technician: str | None = None) -> None:
        """Stop serving citizens until :meth:`back_in_service` (kept across restarts)."""
        self.service.take_out(reason, technician)
        self._audit("out_of_service", technician, reason=reason[:200])

    def back_in_service(self, *, technician: str | None = None) -> None:
        self.service.put_back()
        self._audit("back_in_service", technician)

    def out_of_service(self) -> dict[str, Any] | None:
        """None when in service, else the reason, who and since when."""
        return self.service.current()

    def config_view(self, *, technician: str | None = None) -> dict[str, Any]:
        """The effective config with secrets redacted, and its hash."""
        self._audit("config_view", technician)
        cfg = self.devices.config
        values = config_values(cfg) if cfg is not None else {}
        return {"config_hash": collectors.config_hash(self.devices), "values": values}

    def apdu_trace(self, *, technician: str | None = None) -> list[str]:
        """Recent APDUs, data withheld (PINs, keys and card data never kept)."""
        self._audit("apdu_trace_view", technician)
        return self.trace.lines() if self.trace is not None else []

    def recent_log(self) -> list[str]:
        return self.log.lines() if self.log is not None else []

    def support_bundle(
        self,
        directory: Path,
        *,
        technician: str | None = None,
        upload: bool = True,
        run_tests: bool = True,
    ) -> BundleResult:
        """Status, self-tests, recent logs and trace, config without secrets: signed
        with the terminal key, written to ``directory``, uploaded to the central."""
        d = self.devices
        if d.terminal_key is None:
            raise BundleError("no terminal key: a bundle must be signed")
        tests = self.self_tests(technician=technician) if run_tests else list(
            self.last_tests.values())  # fmt: skip
        sections = {
            "status": self.status().to_dict(),
            "self_tests": [t.to_dict() for t in tests],
            "config": self.config_view(technician=technician),
            "log": self.recent_log(),
            "apdu_trace": self.trace.lines() if self.trace is not None else [],
            "out_of_service": self.out_of_service(),
            "technician": technician,
        }
        bundle = make_bundle(d.terminal_key, d.terminal_id, sections, now=d.clock())
        path, sig = write_bundle(bundle, Path(directory))
        uploaded: int | None = None
        error: str | None = None
        if upload and d.client is not None:
            from backend_sync.terminal.client import CentralRefused, CentralUnavailable
            from backend_sync.terminal.heartbeat import upload_bundle

            try:
                uploaded = upload_bundle(d.client, bundle.name, bundle.content,
                                         bundle.signature).id  # fmt: skip
            except (CentralUnavailable, CentralRefused) as exc:
                error = str(exc)[:300]
        elif upload:
            error = "no central configured"
        self._audit("support_bundle", technician, sha256=bundle.sha256, uploaded=uploaded)
        return BundleResult(path, sig, bundle.sha256, len(bundle.content), uploaded, error)

    # -- heartbeat --------------------------------------------------------------------------
    def note_sync(self, skew_ms: int | None) -> None:
        """The sync agent's latest clock sample (the kiosk's sync loop reports each pass),
        so heartbeats carry a skewed clock without asking the central again."""
        if skew_ms is not None:
            self.seen.last_skew_ms = skew_ms

    def heartbeat_summary(self) -> dict[str, Any]:
        """The status in the heartbeat's shape (:class:`backend_sync.fleet_wire.Heartbeat`);
        the central's reachability is the heartbeat itself, the clock the last sample."""
        report = self.status(central=False)
        skew = self.seen.last_skew_ms
        if skew is not None and abs(skew) > self.devices.limits.drift_warn_ms:
            code = Code.CLOCK_SKEW if abs(skew) > self.devices.limits.max_skew_ms else (
                Code.CLOCK_DRIFT)  # fmt: skip
            clock = DeviceStatus(DeviceKind.CENTRAL, (code,), {"skew_ms": skew})
            report = StatusReport(report.at_ms, (*report.devices, clock))
        outbox = report.device(DeviceKind.OUTBOX).facts
        paper = report.device(DeviceKind.PRINTER).facts.get("paper")
        faults = [
            {"device": s.device.value, "health": s.health.value, "code": s.code.value,
             "next_step": s.next_step.value}
            for s in report.devices if s.health is not Health.OK
        ]  # fmt: skip
        sw = report.device(DeviceKind.SOFTWARE).facts
        docs = report.device(DeviceKind.DOCUMENTS).facts
        versions = {"software": str(sw.get("version"))}
        if sw.get("config_hash"):
            versions["config"] = str(sw["config_hash"])
        for name in ("hotlist", "catalog", "fees"):
            v = docs.get(f"{name}_version")
            if v is not None:
                versions[name] = str(v)
        oldest = outbox.get("oldest_unsent_s")
        return {
            "health": report.health.value,
            "faults": faults,
            "backlog": int(outbox.get("waiting") or 0),
            "oldest_unsent_s": max(0, int(oldest)) if isinstance(oldest, int) else None,
            "paper": str(paper) if paper is not None else "none",
            "out_of_service": self.seen.out_of_service is not None,
            "versions": versions,
        }
