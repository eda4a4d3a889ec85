"""The console's fleet page: every kiosk from its last heartbeat (docs/console.md).

Registered onto the console router by :func:`register` with the console's own
``page`` and ``guarded`` helpers (session, role, CSRF as on every page). The rows
come from :func:`backend_sync.central.fleet.fleet_status`; the worst kiosks come
first (out of service or faulty, then silent, then warnings), so a supervisor sees
what needs a technician without scrolling.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backend_sync.central import fleet
from backend_sync.central.console.accounts import Staff
from backend_sync.central.console.texts import TEXTS, t
from backend_sync.central.feedback.calendar import TZ
from backend_sync.central.service import Central

__all__ = ["FleetRow", "register", "rows"]

INTERVAL_S = 60  # the kiosks' heartbeat interval (docs/diagnostics.md)
SILENT_AFTER = 3  # intervals without a heartbeat before a kiosk counts as silent
_RANK = {"out_of_service": 0, "fault": 1, "silent": 2, "never": 2, "warning": 3, "ok": 4}


@dataclass(frozen=True)
class FleetRow:
    """One kiosk as the page shows it (words chosen in the template)."""

    terminal_id: str
    status: str  # ok, warning, fault, silent, never, out_of_service
    last_ms: int | None
    ago_s: int | None
    paper: str
    printer: tuple[str, ...]  # the printer's fault codes
    backlog: int | None
    oldest_unsent_s: int | None
    reasons: tuple[tuple[str, str, str], ...]  # (device, code, next step) of each fault
    skew_ms: int | None
    software: str


def rows(central: Central) -> list[FleetRow]:
    """Every kiosk heard from, and every enrolled terminal never heard from."""
    status = fleet.fleet_status(central, interval_s=INTERVAL_S, silent_after=SILENT_AFTER)
    out: list[FleetRow] = []
    for k in status.kiosks:
        if k.out_of_service:
            state = "out_of_service"
        elif k.silent:
            state = "silent"
        else:
            state = k.health
        out.append(FleetRow(
            terminal_id=k.terminal_id, status=state, last_ms=k.last_ms, ago_s=k.silent_s,
            paper=k.paper, printer=tuple(f.code for f in k.faults if f.device == "printer"),
            backlog=k.backlog, oldest_unsent_s=k.oldest_unsent_s,
            reasons=tuple((f.device, f.code, f.next_step) for f in k.faults),
            skew_ms=k.skew_ms, software=k.versions.get("software", ""),
        ))  # fmt: skip
    heard = {k.terminal_id for k in status.kiosks}
    for tid in status.silent:
        if tid not in heard:
            out.append(FleetRow(tid, "never", None, None, "", (), None, None, (), None, ""))
    out.sort(key=lambda r: (_RANK.get(r.status, 5), r.terminal_id))
    return out


def _word(prefix: str, code: str, lang: str) -> str:
    """A code's word when the console has one (``prefix_code``), else the code."""
    key = f"{prefix}_{code}"
    return t(key, lang) if key in TEXTS else code


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, TZ).strftime("%Y-%m-%d %H:%M:%S")


def _ago(seconds: int | None, lang: str) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return t("ago_s", lang).format(n=seconds)
    if seconds < 2 * 3600:
        return t("ago_min", lang).format(n=seconds // 60)
    return t("ago_h", lang).format(n=seconds // 3600)


def register(
    r: APIRouter,
    central: Central,
    page: Callable[..., HTMLResponse],
    guarded: Callable[..., Awaitable[Response]],
    lang_of: Callable[[Request], str],
) -> None:
    """Add /console/fleet to ``r``."""

    @r.get("/fleet", response_class=HTMLResponse)
    async def fleet_page(request: Request) -> Response:
        def handler(_staff: Staff, _f: dict[str, str]) -> dict[str, Any]:
            lang = lang_of(request)
            listed = rows(central)
            counts = {s: sum(1 for x in listed if x.status == s) for s in _RANK}
            return {
                "rows": listed, "counts": counts, "when": _when,
                "ago": lambda s: _ago(s, lang), "word": lambda p, c: _word(p, c, lang),
                "silent_after": INTERVAL_S * SILENT_AFTER,
            }  # fmt: skip

        return await guarded(request, "fleet", handler)
