"""The console's feedback pages: the department's queue, a case, the figures.

Registered onto the console router by :func:`register` with the console's own
``page`` and ``guarded`` helpers, so session, role and CSRF checks are the same
as every other page. A case of another department answers 404, the same as a
case that does not exist: staff cannot learn that it does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from backend_sync.central.console import accounts
from backend_sync.central.console.accounts import Staff
from backend_sync.central.console.texts import t
from backend_sync.central.feedback import cases, figures, rules
from backend_sync.central.feedback.calendar import TZ
from backend_sync.central.service import Central, Refused

__all__ = ["register"]

ACTIONS = ("take", "answer", "return", "escalate", "dispatch")


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, TZ).strftime("%Y-%m-%d %H:%M")


def _span(ms: int, lang: str) -> str:
    days, rest = divmod(ms // 1000, 86_400)
    return f"{days} {t('days', lang)} {rest // 3600} {t('hours', lang)}"


def _actor(staff: Staff) -> cases.Actor:
    return cases.Actor(staff.username, staff.role, staff.department)


def register(
    r: APIRouter,
    central: Central,
    page: Callable[..., HTMLResponse],
    guarded: Callable[..., Awaitable[Response]],
    lang_of: Callable[[Request], str],
) -> None:
    """Add /console/feedback, /console/feedback/{id} and /console/figures to ``r``."""

    def names(lang: str) -> dict[str, str]:
        with central.engine.connect() as conn:
            return {k: v.names[lang] for k, v in rules.categories(conn).items()}

    @r.get("/feedback", response_class=HTMLResponse)
    async def queue(request: Request) -> Response:
        def handler(staff: Staff, _f: dict[str, str]) -> dict[str, Any]:
            cases.escalate_overdue(central)
            now = central.now_ms()
            rows = cases.queue(central, _actor(staff))
            return {"rows": rows, "now": now, "when": _when, "cat": names(lang_of(request))}

        return await guarded(request, "feedback", handler)

    def case_page(
        request: Request, staff: Staff, case_id: int, message: str | None = None, ok: bool = True
    ) -> Response:
        lang = lang_of(request)
        try:
            row = cases.get_case(central, _actor(staff), case_id)
        except Refused:
            return page(request, "error", staff, message=t("error", lang) + "404", status=404)
        now = central.now_ms()
        wait, dept = cases.clocks(row, now)
        return page(
            request, "feedback_case", staff, row=row, events=cases.events(central, case_id),
            when=_when, wait=_span(wait, lang), dept=_span(dept, lang), now=now,
            cat=names(lang), message=message, ok=ok,
        )  # fmt: skip

    @r.get("/feedback/{case_id}", response_class=HTMLResponse)
    async def case(request: Request, case_id: int) -> Response:
        return await guarded(request, "feedback", lambda s, f: case_page(request, s, case_id))

    @r.post("/feedback/{case_id}/{action}", response_class=HTMLResponse)
    async def act(request: Request, case_id: int, action: str) -> Response:
        def handler(staff: Staff, form: dict[str, str]) -> Response:
            lang = lang_of(request)
            if action not in ACTIONS:
                return page(request, "error", staff, message=t("error", lang) + action, status=404)
            text = form.get("text", "")[:4000]

            def audit(conn: sa.Connection) -> None:
                accounts.audit(central, conn, staff.username, f"feedback_{action}",
                               str(case_id), text)  # fmt: skip

            a = _actor(staff)
            try:
                if action == "take":
                    cases.take(central, a, case_id, audit=audit)
                elif action == "answer":
                    cases.answer(central, a, case_id, text, audit=audit)
                elif action == "return":
                    cases.return_case(central, a, case_id, text, audit=audit)
                elif action == "escalate":
                    cases.escalate(central, a, case_id, text, audit=audit)
                else:
                    cases.dispatch(central, a, case_id, text.strip(), audit=audit)
            except Refused as exc:
                if exc.reason == "no_such_case":
                    return page(request, "error", staff, message=t("error", lang) + "404",
                                status=404)  # fmt: skip
                return case_page(request, staff, case_id, t("error", lang) + exc.reason, ok=False)
            if action in ("return", "dispatch") and staff.role != "supervisor":
                # Returned: no longer this department's, so back to the queue.
                return RedirectResponse("/console/feedback", status_code=303)
            return case_page(request, staff, case_id, t("done", lang))

        return await guarded(request, "feedback", handler)

    @r.get("/figures", response_class=HTMLResponse)
    async def figures_page(request: Request) -> Response:
        def handler(staff: Staff, _f: dict[str, str]) -> dict[str, Any]:
            dept = staff.department if staff.role == "department_staff" else None
            rows = figures.weekly(central, weeks=8, department=dept)
            with central.engine.connect() as conn:
                hours = rules.rules(conn).at_once_hours
            return {
                "rows": rows,
                "chart": Markup(figures.chart_svg(rows)),  # noqa: S704 -- built from numbers only
                "rule": t("at_once_rule", lang_of(request)).format(h=hours),
            }

        return await guarded(request, "figures", handler)
