"""The maintenance journey's work: one blocking job per technician action, and the
pages it leaves to show.

Each ``*_job`` runs on the worker with the kiosk's
:class:`~kiosk.journeys.ports.TechnicianTools` (the diagnostics facade, which audits
each action with the technician's card number) and returns a :class:`Page`: what
the journey shows next. Facts become text here, so the screen draws plain strings
(no floats: the facade's facts are ints, strings and booleans).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.codes import Step
from kiosk.core.views import DiagRow
from kiosk.core.worker import JobContext
from kiosk.journeys.ports import TechnicianTools

if TYPE_CHECKING:
    from kiosk.diagnostics import DeviceStatus, SelfTestResult

__all__ = ["REASONS", "TESTS", "Page", "PageKind"]

# The self-tests a technician can run, in the facade's order (SelfTestName values).
TESTS = ("readers", "test_print", "network", "outbox")
TEST_STEPS = {"readers": Step.TESTING_READERS, "test_print": Step.TESTING_PRINT,
              "network": Step.TESTING_NETWORK, "outbox": Step.TESTING_OUTBOX}  # fmt: skip
# Why a kiosk is out of service: chosen on the touch screen (no keyboard needed),
# kept as the code; the screen and the console have the words.
REASONS = ("repair", "printer_paper", "cleaning", "network", "inspection")
MAX_LINES = 400  # a page of config or trace lines


class PageKind(StrEnum):
    HOME = "home"
    STATUS = "status"
    TESTS = "tests"
    RESULT = "result"
    LINES = "lines"


@dataclass(frozen=True)
class Page:
    """What a job leaves to show: a page, its rows or lines, a result."""

    kind: PageKind
    action: str | None = None
    health: str | None = None
    rows: tuple[DiagRow, ...] = ()
    ok: bool | None = None
    details: tuple[tuple[str, str], ...] = ()
    lines: tuple[str, ...] = ()
    out_of_service: str | None = None  # the reason, read after the action
    known: bool = field(default=True)  # out_of_service was read (False: unchanged)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def _facts(facts: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((k, _text(v)) for k, v in facts.items() if v is not None and v != "")


def device_row(d: DeviceStatus) -> DiagRow:
    return DiagRow(d.device.value, d.health.value, d.code.value, d.next_step.value,
                   _facts(d.facts))  # fmt: skip


def test_row(t: SelfTestResult) -> DiagRow:
    return DiagRow(t.name.value, t.health.value, t.code.value, t.next_step.value,
                   (*_facts(t.facts), ("duration_ms", str(t.duration_ms))))  # fmt: skip


def reason_of(tools: TechnicianTools) -> str | None:
    state = tools.out_of_service()
    return None if state is None else str(state.get("reason") or "")


# -- jobs (on the worker) ------------------------------------------------------------------
def open_job(tools: TechnicianTools, _ctx: JobContext) -> Page:
    """After the PIN: the home page knows whether the kiosk is out of service."""
    return Page(PageKind.HOME, out_of_service=reason_of(tools))


def status_job(tools: TechnicianTools, ctx: JobContext) -> Page:
    ctx.progress(Step.CHECKING_STATUS, None)
    report = tools.status(central=True)
    return Page(PageKind.STATUS, "status", report.health.value,
                tuple(device_row(d) for d in report.devices))  # fmt: skip


def tests_job(
    tools: TechnicianTools,
    names: tuple[str, ...],
    done: Mapping[str, DiagRow],
    technician: str | None,
    language: str,
    ctx: JobContext,
) -> Page:
    """Run ``names`` one after the other (progress per test), keeping earlier results
    of the others (``done``); a cancel stops between two tests."""
    from kiosk.diagnostics import SelfTestName

    rows = dict(done)
    for i, name in enumerate(names):
        ctx.check()
        ctx.progress(TEST_STEPS[name], i / len(names))
        result = tools.run_self_test(SelfTestName(name), technician=technician, language=language)
        rows[name] = test_row(result)
    ctx.progress(TEST_STEPS[names[-1]], 1.0)
    return Page(PageKind.TESTS, "tests", rows=tuple(rows[n] for n in TESTS if n in rows))


def sync_job(tools: TechnicianTools, technician: str | None, ctx: JobContext) -> Page:
    ctx.progress(Step.SYNCING, None)
    r = tools.force_sync(technician=technician)
    details = (("uploaded", str(r.uploaded)), ("acked_seq", str(r.acked_seq)),
               ("hotlist_version", str(r.hotlist_version)),
               *((f"document:{k}", str(v)) for k, v in sorted(r.documents.items())),
               ("skew_ms", _text(r.skew_ms) or "-"))  # fmt: skip
    return Page(PageKind.RESULT, "force_sync", ok=r.ok, details=details, lines=r.problems)


def service_job(
    tools: TechnicianTools, reason: str | None, technician: str | None, ctx: JobContext
) -> Page:
    """Out of service with ``reason``, or back in service (``reason`` None)."""
    ctx.progress(Step.SAVING, None)
    if reason is None:
        tools.back_in_service(technician=technician)
    else:
        tools.take_out_of_service(reason, technician=technician)
    return Page(PageKind.HOME, "back_in_service" if reason is None else "out_of_service",
                out_of_service=reason_of(tools))  # fmt: skip


def config_job(tools: TechnicianTools, technician: str | None, ctx: JobContext) -> Page:
    ctx.progress(Step.PREPARING, None)
    view = tools.config_view(technician=technician)
    values = view.get("values") or {}
    lines = [f"config_hash = {view.get('config_hash', '')}"]
    lines += [f"{k} = {_text(v)}" for k, v in sorted(_flat(values).items())]
    return Page(PageKind.LINES, "config", lines=tuple(lines[:MAX_LINES]))


def _flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flat(v, key + "."))
        else:
            out[key] = ", ".join(map(str, v)) if isinstance(v, list | tuple) else v
    return out


def trace_job(tools: TechnicianTools, technician: str | None, ctx: JobContext) -> Page:
    ctx.progress(Step.PREPARING, None)
    lines = tools.apdu_trace(technician=technician)
    return Page(PageKind.LINES, "apdu_trace", lines=tuple(lines[-MAX_LINES:]))


def bundle_job(
    tools: TechnicianTools, directory: Path, technician: str | None, ctx: JobContext
) -> Page:
    ctx.progress(Step.WRITING_BUNDLE, None)
    r = tools.support_bundle(directory, technician=technician)
    uploaded = str(r.uploaded_id) if r.uploaded_id is not None else "-"
    details = (("file", r.path.name), ("directory", str(r.path.parent)), ("size", str(r.size)),
               ("sha256", r.sha256[:24]), ("uploaded_id", uploaded))  # fmt: skip
    problems = (r.upload_error,) if r.upload_error else ()
    return Page(PageKind.RESULT, "support_bundle", ok=r.upload_error is None, details=details,
                lines=problems)  # fmt: skip
