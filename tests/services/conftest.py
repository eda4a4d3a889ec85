"""Fixtures: the departments simulator as a real process, the central on uvicorn."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backend_sync import chain
from backend_sync.central.departments import Departments
from backend_sync.central.service import Central
from cardlib.crypto import Algorithm
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import (
    CardModel,
    Terminal,
    ThreadServer,
    asn_of,
    cards,
    free_port,
    make_central,
    terminal,
)

# The demo-wallet people the simulator is seeded with (ASN, name) before generated ones.
PEOPLE = [(asn_of(1), "张三"), (asn_of(2), "李四")]


@dataclass
class DepartmentsProcess:
    """``civicard sim departments`` running as its own process on a loopback port."""

    db: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DepartmentsProcess:
        args = [
            sys.executable,
            "-m",
            "kiosk.cli",
            "sim",
            "departments",
            "--db",
            str(self.db),
            "--port",
            str(self.port),
            "--extra",
            "300",
            "--today",
            dt.date.today().isoformat(),
        ]
        for asn, name in PEOPLE:
            args += ["--person", f"{asn}={name}"]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("departments simulator did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def fault(self, mode: str, prefix: str = "/", value: float = 0, count: int = 1) -> None:
        r = httpx.post(
            f"{self.url}/admin/faults",
            json={"prefix": prefix, "mode": mode, "value": value, "count": count},
        )
        r.raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.url}/admin/faults").raise_for_status()


@pytest.fixture(scope="session")
def departments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DepartmentsProcess]:
    d = DepartmentsProcess(tmp_path_factory.mktemp("dept") / "departments.db", free_port())
    d.start()
    yield d
    d.stop()


@pytest.fixture(autouse=True)
def _no_faults_left(departments: DepartmentsProcess) -> Iterator[None]:
    yield
    departments.clear_faults()


@dataclass
class World:
    central: Central
    server: ThreadServer
    kiosk: Terminal
    citizen: CardModel
    other: CardModel
    departments: DepartmentsProcess


@pytest.fixture(scope="session")
def issuer_keys() -> IssuerKeys:
    return IssuerKeys.generate(Algorithm.TDES)


@pytest.fixture
def world(
    tmp_path: Path, departments: DepartmentsProcess, issuer_keys: IssuerKeys
) -> Iterator[World]:
    central = make_central(
        f"sqlite:///{tmp_path / 'central.db'}", issuer_keys, chain.generate_key()
    )
    # Short timeouts so "department slow" costs the tests little.
    gateway = Departments(departments.url, timeout=0.5, attempts=2, budget_s=1.5, backoff=0.02)
    central.departments = gateway
    central.bills = gateway
    citizen, other = cards(central, issuer_keys, 2)
    with ThreadServer(central) as server:
        kiosk = terminal(central, server.url, tmp_path, "320500000001")
        yield World(central, server, kiosk, citizen, other, departments)
        kiosk.client.close()
    gateway.close()
    central.engine.dispose()
