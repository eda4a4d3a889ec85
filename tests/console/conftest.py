"""One headless Chromium (Debian's, found at run time) for every console test, and a
central on uvicorn with TEST ONLY staff accounts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend_sync import chain
from backend_sync.central.console import accounts
from backend_sync.central.service import Central
from cardlib.crypto import Algorithm
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import ThreadServer, make_central

PASSWORD = "TEST-ONLY-pass-1234"  # TEST ONLY
STAFF = [
    # username, role, department, display name
    ("admin", "administrator", None, "管理员 孙丽"),
    ("water1", "department_staff", "water", "水务 刘洋"),
    ("transit1", "department_staff", "transit", "交通 黄磊"),
    ("super1", "supervisor", None, "督办 吴敏"),
    ("hot1", "hotlist_operator", None, "黑名单 郑浩"),
    ("cat1", "catalog_editor", None, "目录 冯雪"),
    ("audit1", "ledger_auditor", None, "审计 陈晨"),
]
SHOTS = Path(__file__).resolve().parents[2] / "out" / "console"


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("no chromium on PATH: scripts/setup.sh installs Debian's chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )  # fmt: skip
        yield b
        b.close()


@dataclass
class Console:
    central: Central
    url: str


@pytest.fixture(scope="session")
def console_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated central database with the staff accounts, made once: argon2id is
    deliberately slow, so each test copies this file instead of hashing again."""
    path = tmp_path_factory.mktemp("console") / "central.db"
    central = make_central(
        f"sqlite:///{path}", IssuerKeys.generate(Algorithm.TDES), chain.generate_key()
    )
    for username, role, dept, name in STAFF:
        accounts.create_account(central, username=username, password=PASSWORD, role=role,
                                display_name=name, department=dept)  # fmt: skip
    central.engine.dispose()
    return path


@pytest.fixture
def console(tmp_path: Path, console_template: Path) -> Iterator[Console]:
    db = tmp_path / "central.db"
    shutil.copyfile(console_template, db)
    central = make_central(
        f"sqlite:///{db}", IssuerKeys.generate(Algorithm.TDES), chain.generate_key()
    )
    with ThreadServer(central) as srv:
        # "localhost", not 127.0.0.1: the cookies are Secure, which browsers accept
        # over plain http only for localhost.
        yield Console(central, srv.url.replace("127.0.0.1", "localhost"))
    central.engine.dispose()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")  # type: ignore[attr-defined]
    ctx.set_default_timeout(15_000)
    pg = ctx.new_page()
    yield pg
    ctx.close()
