"""The staff console in a real browser (headless Debian Chromium via Playwright)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from backend_sync.central import registry
from backend_sync.central.console import accounts
from backend_sync.central.console.models import staff_audit
from backend_sync.central.console.texts import LANGUAGES, TEXTS
from backend_sync.central.models import cards
from backend_sync.central.service import Refused

from .conftest import PASSWORD, SHOTS, Console

ASN = "32150000000000000042"


def log_in(page: Any, console: Console, username: str) -> None:
    page.goto(f"{console.url}/console/login?lang=en")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/home")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_login_logout_and_wrong_password(page: Any, console: Console) -> None:
    page.goto(f"{console.url}/console/")
    assert page.url.endswith("/console/login")
    shot(page, "01-login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong password!")
    page.click("button[type=submit]")
    page.wait_for_selector(".message.bad")
    assert "用户名或密码错误" in page.inner_text(".message.bad")
    log_in(page, console, "admin")
    assert "管理员 孙丽" in page.content()
    cookie = next(c for c in page.context.cookies() if c["name"] == "civicard_console")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    shot(page, "02-home-admin")
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/console/login")
    # The old cookie is worthless after logout.
    r = httpx.get(
        f"{console.url}/console/home",
        cookies={"civicard_console": cookie["value"]},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    with console.central.engine.connect() as conn:
        actions = [a for (a,) in conn.execute(sa.select(staff_audit.c.action))]
    assert {"login_failed", "login", "logout"} <= set(actions)


def test_roles_see_only_their_pages_even_by_url(page: Any, console: Console) -> None:
    log_in(page, console, "water1")
    nav = page.inner_text("nav")
    assert "Polls" in nav and "Hotlist" not in nav and "Staff accounts" not in nav
    for url in ("/console/hotlist", "/console/accounts", "/console/audit", "/console/catalog"):
        resp = page.goto(console.url + url)
        assert resp.status == 403, url
        assert "Your role may not open this page" in page.content()
    shot(page, "09-forbidden")


def test_csrf_refused(console: Console) -> None:
    token, staff = accounts.login(
        console.central, username="hot1", password=PASSWORD, client="test"
    )
    registry.register_card(console.central, asn=ASN, algorithm=0, key_version=1)
    with httpx.Client(base_url=console.url, cookies={"civicard_console": token}) as c:
        for form in (
            {"asn": ASN, "status": "blocked", "reason": "x"},
            {"asn": ASN, "status": "blocked", "reason": "x", "csrf": "forged"},
        ):
            r = c.post("/console/hotlist", data=form)
            assert r.status_code == 403
        r = c.post(
            "/console/hotlist",
            data={"asn": ASN, "status": "blocked", "reason": "lost", "csrf": staff.csrf_token},
        )
        assert r.status_code == 200
    with console.central.engine.connect() as conn:
        assert (
            conn.execute(sa.select(cards.c.status).where(cards.c.asn == ASN)).scalar() == "blocked"
        )


def test_login_rate_limited_in_the_database(console: Console) -> None:
    for _ in range(accounts.MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(Refused, match="bad_login"):
            accounts.login(console.central, username="cat1", password="nope", client="a")
    # Even the right password is refused now, from any address.
    with pytest.raises(Refused, match="too_many_attempts"):
        accounts.login(console.central, username="cat1", password=PASSWORD, client="b")
    console.central.clock = lambda: 10**10  # 15 minutes and more later
    accounts.login(console.central, username="cat1", password=PASSWORD, client="b")


def test_hotlist_block_with_reason(page: Any, console: Console) -> None:
    registry.register_card(console.central, asn=ASN, algorithm=0, key_version=1)
    before = registry.hotlist(console.central, 0)["version"]
    log_in(page, console, "hot1")
    page.goto(console.url + "/console/hotlist")
    page.fill("input[name=asn]", ASN)
    page.select_option("select[name=status]", "blocked")
    page.fill("input[name=reason]", "reported lost at the counter")
    page.click("form.card button[type=submit]")
    page.wait_for_selector(".message.ok")
    assert ASN in page.inner_text("table")
    assert registry.hotlist(console.central, 0)["version"] > before
    shot(page, "03-hotlist")
    with console.central.engine.connect() as conn:
        row = conn.execute(
            sa.select(staff_audit).where(staff_audit.c.action == "card_blocked")
        ).one()
    assert row.username == "hot1" and row.target == ASN and "lost" in row.detail
    # The audit log is append-only in the database itself.
    with pytest.raises(sa.exc.DBAPIError), console.central.engine.begin() as conn:
        conn.execute(sa.text("UPDATE staff_audit SET detail = 'nothing happened'"))


def test_catalog_publish_and_bad_json(page: Any, console: Console) -> None:
    log_in(page, console, "cat1")
    page.goto(console.url + "/console/catalog?lang=zh-Hant")
    page.fill("textarea[name=body]", "{not json")
    page.click("form.card button[type=submit]")
    page.wait_for_selector(".message.bad")
    page.fill("textarea[name=body]", '{"services": [{"id": "water_bill", "flow": "bill"}]}')
    page.click("form.card button[type=submit]")
    page.wait_for_selector(".message.ok")
    assert "已發佈版本 1" in page.content()
    shot(page, "04-catalog")


def test_polls_department_scoped_and_closed_with_results(page: Any, console: Console) -> None:
    now = console.central.now_ms()
    log_in(page, console, "water1")
    page.goto(console.url + "/console/polls")
    for lang, q, opts in (
        ("zh-Hans", "水价听证？", "同意\n不同意"),
        ("zh-Hant", "水價聽證？", "同意\n不同意"),
        ("en", "Water price hearing?", "Yes\nNo"),
    ):
        page.fill(f"input[name=question_{lang}]", q)
        page.fill(f"textarea[name=options_{lang}]", opts)
    local = dt.datetime.fromtimestamp(now / 1000, ZoneInfo("Asia/Shanghai"))
    page.fill("input[name=opens]", (local - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=closes]", (local + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.click("form.card button:has-text('New poll')")
    page.wait_for_selector(".message.ok")
    shot(page, "05-polls")
    poll_id = page.inner_text("td.mono").strip()
    # Transit staff do not see water's poll, and cannot close it by URL.
    token, staff = accounts.login(
        console.central, username="transit1", password=PASSWORD, client="t"
    )
    with httpx.Client(base_url=console.url, cookies={"civicard_console": token}) as c:
        assert poll_id not in c.get("/console/polls").text
        r = c.post(f"/console/polls/{poll_id}/close", data={"csrf": staff.csrf_token, "force": "1"})
        assert "Your role may not open this page" in r.text or "您的角色无权" in r.text
    page.check("input[name=force]")
    page.click("button:has-text('Close poll')")
    page.wait_for_selector("text=Results")
    assert "closed" in page.inner_text("main > table")
    assert "Yes" in page.inner_text("section.card")
    shot(page, "06-poll-results")


def test_admin_creates_an_account_and_reads_the_audit(page: Any, console: Console) -> None:
    log_in(page, console, "admin")
    page.goto(console.url + "/console/accounts")

    def fill(password: str) -> None:
        page.fill("input[name=username]", "gas1")
        page.fill("input[name=display_name]", "燃气 何静")
        page.fill("input[name=password]", password)
        page.select_option("select[name=role]", "department_staff")
        page.fill("input[name=department]", "gas")

    fill("short")
    # The browser itself refuses a short password (minlength); the server does too.
    page.evaluate("document.querySelector('input[name=password]').removeAttribute('minlength')")
    page.click("form.card button[type=submit]")
    page.wait_for_selector(".message.bad")
    assert "weak_password" in page.inner_text(".message.bad")
    fill("a-long-TEST-ONLY-password")
    page.click("form.card button[type=submit]")
    page.wait_for_selector(".message.ok")
    shot(page, "07-accounts")
    # A counter's refusal before its operator was proven is in the log too.
    from backend_sync.central.counter_events import record_refused_request

    record_refused_request(console.central, "320500009901", "operator_card_blocked",
                           asn="32158000000000000006")  # fmt: skip
    page.goto(console.url + "/console/audit")
    assert "account_created" in page.content() and "gas1" in page.content()
    assert "operator_card_blocked" in page.content() and "32158000000000000006" in page.content()
    shot(page, "08-audit")


def test_every_word_in_three_languages() -> None:
    for key, words in TEXTS.items():
        assert len(words) == len(LANGUAGES) and all(w.strip() for w in words), key
