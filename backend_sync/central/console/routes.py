"""The console's pages (FastAPI + Jinja2, server-rendered; mounted under /console).

Every page checks the session cookie and the staff member's role; every form
carries the session's CSRF token (the login form a pre-session one, double
submitted), and every change is audited in the same transaction as the change.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from backend_sync.central import documents, polls, reconcile, registry
from backend_sync.central.console import accounts, feedback_pages, fleet_pages
from backend_sync.central.console.accounts import Staff
from backend_sync.central.console.models import ROLES, staff_accounts, staff_audit
from backend_sync.central.console.texts import LANGUAGES, t
from backend_sync.central.counter_models import counter_events
from backend_sync.central.models import cards
from backend_sync.central.service import Central, Refused

__all__ = ["SESSION_COOKIE", "console_router"]

SESSION_COOKIE = "civicard_console"
PRELOGIN_COOKIE = "civicard_console_login"
LANG_COOKIE = "civicard_console_lang"
# Secure cookies everywhere: browsers accept them over plain http only for localhost,
# which is where the demo and the tests run.
SECURE_COOKIES = True
_VENDOR = Path(__file__).with_name("static") / "vendor"
_TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

# Which roles open which page.
PAGES: dict[str, tuple[str, ...]] = {
    "hotlist": ("hotlist_operator", "supervisor"),
    "catalog": ("catalog_editor",),
    "reconcile": ("ledger_auditor", "supervisor"),
    "polls": ("department_staff", "supervisor"),
    "feedback": ("department_staff", "supervisor"),
    "figures": ("department_staff", "supervisor"),
    "accounts": ("administrator",),
    "audit": ("administrator", "supervisor"),
    "fleet": ("supervisor", "administrator"),
}


def _lang(request: Request) -> str:
    q = request.query_params.get("lang")
    if q in LANGUAGES:
        return str(q)
    c = request.cookies.get(LANG_COOKIE)
    return c if c in LANGUAGES else "zh-Hans"


def _local_ms(value: str) -> int:
    """A ``datetime-local`` form value, read in the city's time zone (Asia/Shanghai)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    local = dt.datetime.fromisoformat(value).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return int(local.timestamp() * 1000)


def console_router(central: Central) -> APIRouter:
    """The console bound to one central."""
    r = APIRouter(prefix="/console", include_in_schema=False)

    def page(
        request: Request, name: str, staff: Staff | None, status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        lang = _lang(request)
        resp = _TEMPLATES.TemplateResponse(
            request,
            f"{name}.html",
            {
                "t": lambda k: t(k, lang),
                "lang": lang,
                "languages": LANGUAGES,
                "staff": staff,
                "pages": [p for p, roles in PAGES.items() if staff and staff.role in roles],
                "path": request.url.path,
                **ctx,
            },
            status_code=status,
        )
        for k, v in _SECURITY_HEADERS.items():
            resp.headers[k] = v
        if request.query_params.get("lang") in LANGUAGES:
            resp.set_cookie(
                LANG_COOKIE,
                lang,
                httponly=True,
                samesite="strict",
                secure=SECURE_COOKIES,
                path="/console",
            )
        return resp

    def current(request: Request) -> Staff | None:
        return accounts.session(central, request.cookies.get(SESSION_COOKIE))

    def to_login() -> RedirectResponse:
        return RedirectResponse("/console/login", status_code=303)

    async def guarded(
        request: Request, name: str, handler: Callable[[Staff, dict[str, str]], Any]
    ) -> Response:
        """Session, role and (for POST) CSRF, then ``handler(staff, form)``."""
        staff = current(request)
        if staff is None:
            return to_login()
        if name in PAGES and staff.role not in PAGES[name]:
            return page(request, "error", staff, message=t("forbidden", _lang(request)), status=403)
        form: dict[str, str] = {}
        if request.method == "POST":
            raw = await request.form()
            form = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
            if not hmac.compare_digest(form.get("csrf", ""), staff.csrf_token):
                with central.engine.begin() as conn:
                    accounts.audit(central, conn, staff.username, "csrf_refused", name, "")
                return page(request, "error", staff, message=t("csrf", _lang(request)), status=403)
        out = handler(staff, form)
        return out if isinstance(out, Response) else page(request, name, staff, **out)

    @r.get("/static/console.css")
    def stylesheet() -> Response:
        css = Path(__file__).with_name("static").joinpath("console.css").read_bytes()
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    @r.get("/static/htmx.min.js")
    def htmx() -> Response:
        # htmx as published on npm (static/vendor, installed by scripts/setup.sh from its
        # lockfile). Without it every page still works as plain forms and links.
        path = _VENDOR / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
        if not path.is_file():
            return Response("/* htmx not installed: plain forms */", media_type="text/javascript")
        return Response(
            path.read_bytes(),
            media_type="text/javascript",
            headers={"Cache-Control": "max-age=3600"},
        )

    @r.get("", response_class=HTMLResponse)
    @r.get("/", response_class=HTMLResponse)
    def root(request: Request) -> Response:
        return RedirectResponse("/console/home" if current(request) else "/console/login", 303)

    @r.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        token = secrets.token_urlsafe(24)
        m = request.query_params.get("m")
        message = t(m, _lang(request)) if m in ("bad_login", "too_many_attempts") else None
        resp = page(request, "login", None, csrf=token, message=message, ok=False)
        resp.set_cookie(
            PRELOGIN_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=SECURE_COOKIES,
            path="/console",
        )
        return resp

    @r.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        raw = await request.form()
        form = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
        lang = _lang(request)
        pre = request.cookies.get(PRELOGIN_COOKIE, "")
        if not pre or not hmac.compare_digest(form.get("csrf", ""), pre):
            return page(request, "error", None, message=t("csrf", lang), status=403)
        client = request.client.host if request.client else "unknown"
        try:
            token, _staff = accounts.login(
                central,
                username=form.get("username", "")[:64],
                password=form.get("password", "")[:1024],
                client=client,
            )
        except Refused as exc:
            return RedirectResponse(f"/console/login?m={quote(exc.reason)}", status_code=303)
        resp = RedirectResponse("/console/home", status_code=303)
        resp.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=SECURE_COOKIES,
            path="/console",
            max_age=accounts.SESSION_S,
        )
        resp.delete_cookie(PRELOGIN_COOKIE, path="/console")
        return resp

    @r.post("/logout", response_class=HTMLResponse)
    async def logout(request: Request) -> Response:
        def handler(staff: Staff, _form: dict[str, str]) -> Response:
            accounts.end_session(central, request.cookies.get(SESSION_COOKIE), staff.username)
            resp = RedirectResponse("/console/login", status_code=303)
            resp.delete_cookie(SESSION_COOKIE, path="/console")
            return resp

        return await guarded(request, "logout", handler)

    @r.get("/home", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        return await guarded(request, "home", lambda s, f: {})

    # -- hotlist -------------------------------------------------------------------------
    def hotlist_ctx(message: str | None = None, ok: bool = True) -> dict[str, Any]:
        with central.engine.connect() as conn:
            rows = conn.execute(
                sa.select(cards.c.asn, cards.c.status, cards.c.updated_ms)
                .where(cards.c.status != "active")
                .order_by(cards.c.updated_ms.desc())
                .limit(200)
            ).all()
        return {
            "rows": rows,
            "version": registry.hotlist(central, 0)["version"],
            "message": message,
            "ok": ok,
        }

    @r.get("/hotlist", response_class=HTMLResponse)
    async def hotlist(request: Request) -> Response:
        return await guarded(request, "hotlist", lambda s, f: hotlist_ctx())

    @r.post("/hotlist", response_class=HTMLResponse)
    async def hotlist_change(request: Request) -> Response:
        def handler(staff: Staff, form: dict[str, str]) -> dict[str, Any]:
            asn, status = form.get("asn", "").strip().upper(), form.get("status", "")
            reason = form.get("reason", "").strip()
            lang = _lang(request)
            if status not in ("blocked", "active") or not reason:
                return hotlist_ctx(t("error", lang) + "status/reason", ok=False)
            try:
                version = registry.set_card_status(central, asn=asn, status=status)
            except (Refused, ValueError) as exc:
                return hotlist_ctx(t("error", lang) + str(exc), ok=False)
            with central.engine.begin() as conn:
                accounts.audit(central, conn, staff.username, f"card_{status}", asn, reason)
            return hotlist_ctx(f"{t('done', lang)} {t('hotlist_version', lang)} {version}")

        return await guarded(request, "hotlist", handler)

    # -- catalog -------------------------------------------------------------------------
    def catalog_ctx(message: str | None = None, ok: bool = True) -> dict[str, Any]:
        try:
            sd = documents.signed_document(central, "catalog")
            body, version = json.dumps(sd.payload["body"], ensure_ascii=False, indent=2), sd.version
        except Refused:
            body, version = "{}", 0
        return {"body": body, "version": version, "message": message, "ok": ok}

    @r.get("/catalog", response_class=HTMLResponse)
    async def catalog(request: Request) -> Response:
        return await guarded(request, "catalog", lambda s, f: catalog_ctx())

    @r.post("/catalog", response_class=HTMLResponse)
    async def catalog_publish(request: Request) -> Response:
        def handler(staff: Staff, form: dict[str, str]) -> dict[str, Any]:
            lang = _lang(request)
            try:
                body = json.loads(form.get("body", ""))
                if not isinstance(body, dict):
                    raise ValueError("the catalog is a JSON object")
                version = documents.publish(central, "catalog", body)
            except (ValueError, Refused) as exc:
                ctx = catalog_ctx(t("error", lang) + str(exc), ok=False)
                ctx["body"] = form.get("body", "")
                return ctx
            with central.engine.begin() as conn:
                accounts.audit(central, conn, staff.username, "catalog_published", str(version), "")
            return catalog_ctx(f"{t('done', lang)} {t('version', lang)} {version}")

        return await guarded(request, "catalog", handler)

    # -- reconciliation ------------------------------------------------------------------
    @r.get("/reconcile", response_class=HTMLResponse)
    async def reconciliation(request: Request) -> Response:
        def handler(_s: Staff, _f: dict[str, str]) -> dict[str, Any]:
            report = reconcile.reconcile(central)
            data = (
                asdict(report) if is_dataclass(report) and not isinstance(report, type) else report
            )
            return {"report": json.dumps(data, ensure_ascii=False, indent=2, default=str)}

        return await guarded(request, "reconcile", handler)

    # -- polls ---------------------------------------------------------------------------
    def polls_ctx(staff: Staff, message: str | None = None, ok: bool = True) -> dict[str, Any]:
        from backend_sync.central.poll_models import polls as polls_t

        with central.engine.connect() as conn:
            rows = conn.execute(
                sa.select(polls_t.c.poll_id, polls_t.c.document, polls_t.c.status).order_by(
                    polls_t.c.poll_id
                )
            ).all()
        items = []
        for row in rows:
            doc = json.loads(row.document)
            if staff.role == "department_staff" and doc["department"] != staff.department:
                continue
            items.append({"id": row.poll_id, "status": row.status, "doc": doc})
        return {"polls": items, "message": message, "ok": ok}

    @r.get("/polls", response_class=HTMLResponse)
    async def polls_page(request: Request) -> Response:
        return await guarded(request, "polls", lambda s, f: polls_ctx(s))

    @r.post("/polls", response_class=HTMLResponse)
    async def polls_create(request: Request) -> Response:
        def handler(staff: Staff, form: dict[str, str]) -> dict[str, Any]:
            lang = _lang(request)
            department = staff.department or form.get("department", "")
            try:
                qs = [form.get(f"question_{x}", "").strip() for x in LANGUAGES]
                opts = [
                    [o.strip() for o in form.get(f"options_{x}", "").splitlines() if o.strip()]
                    for x in LANGUAGES
                ]
                if len({len(o) for o in opts}) != 1:
                    raise ValueError("each language needs the same number of options")
                spec = {
                    "department": department,
                    "question": dict(zip(LANGUAGES, qs, strict=True)),
                    "options": [
                        dict(zip(LANGUAGES, o, strict=True)) for o in zip(*opts, strict=True)
                    ],
                    "opens_ms": _local_ms(form.get("opens", "")),
                    "closes_ms": _local_ms(form.get("closes", "")),
                    "min_batch": int(form.get("min_batch", "10")),
                }
                poll_id = polls.create_poll(central, spec)
            except (ValueError, Refused) as exc:
                detail = exc.detail if isinstance(exc, Refused) else str(exc)
                return polls_ctx(staff, t("error", lang) + detail, ok=False)
            with central.engine.begin() as conn:
                accounts.audit(central, conn, staff.username, "poll_created", poll_id, department)
            return polls_ctx(staff, f"{t('done', lang)} {poll_id}")

        return await guarded(request, "polls", handler)

    @r.post("/polls/{poll_id}/close", response_class=HTMLResponse)
    async def polls_close(request: Request, poll_id: str) -> Response:
        def handler(staff: Staff, form: dict[str, str]) -> dict[str, Any]:
            lang = _lang(request)
            mine = {p["id"] for p in polls_ctx(staff)["polls"]}
            if poll_id not in mine:
                return polls_ctx(staff, t("forbidden", lang), ok=False)
            try:
                polls.close_poll(central, poll_id, force=form.get("force") == "1")
            except Refused as exc:
                return polls_ctx(staff, t("error", lang) + exc.detail, ok=False)
            with central.engine.begin() as conn:
                accounts.audit(central, conn, staff.username, "poll_closed", poll_id, "")
            ctx = polls_ctx(staff, t("done", lang))
            res = polls.results(central, poll_id)
            doc = next(p["doc"] for p in ctx["polls"] if p["id"] == poll_id)
            ctx["results"] = res
            ctx["result_rows"] = [
                (o[lang], n) for o, n in zip(doc["options"], res.totals, strict=True)
            ]
            return ctx

        return await guarded(request, "polls", handler)

    # -- accounts and audit --------------------------------------------------------------
    def accounts_ctx(message: str | None = None, ok: bool = True) -> dict[str, Any]:
        with central.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    staff_accounts.c.username,
                    staff_accounts.c.display_name,
                    staff_accounts.c.role,
                    staff_accounts.c.department,
                    staff_accounts.c.active,
                ).order_by(staff_accounts.c.username)
            ).all()
        return {"rows": rows, "roles": ROLES, "message": message, "ok": ok}

    @r.get("/accounts", response_class=HTMLResponse)
    async def accounts_page(request: Request) -> Response:
        return await guarded(request, "accounts", lambda s, f: accounts_ctx())

    @r.post("/accounts", response_class=HTMLResponse)
    async def accounts_create(request: Request) -> Response:
        def handler(staff: Staff, form: dict[str, str]) -> dict[str, Any]:
            lang = _lang(request)
            try:
                accounts.create_account(
                    central,
                    username=form.get("username", ""),
                    password=form.get("password", ""),
                    role=form.get("role", ""),
                    display_name=form.get("display_name", ""),
                    department=form.get("department") or None,
                    by=staff.username,
                )
            except Refused as exc:
                return accounts_ctx(t("error", lang) + exc.reason, ok=False)
            return accounts_ctx(t("done", lang))

        return await guarded(request, "accounts", handler)

    @r.get("/audit", response_class=HTMLResponse)
    async def audit_page(request: Request) -> Response:
        def handler(_s: Staff, _f: dict[str, str]) -> dict[str, Any]:
            with central.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(staff_audit).order_by(staff_audit.c.id.desc()).limit(200)
                ).all()
                # The counters' refusals before an operator was proven (counter_events.py).
                events = conn.execute(
                    sa.select(counter_events).order_by(counter_events.c.id.desc()).limit(200)
                ).all()
            return {"rows": rows, "counter_events": events}

        return await guarded(request, "audit", handler)

    feedback_pages.register(r, central, page, guarded, _lang)
    fleet_pages.register(r, central, page, guarded, _lang)
    return r
