"""The demo world's department systems: ``civicard sim departments`` on loopback.

TEST ONLY. The simulator (``simulators/departments``) is a real HTTP service over its
own SQLite file in the world's folder, seeded with the demo wallet's people first
(then generated citizens), so the central's adapter talks to it exactly as it would
to the departments. ``process=True`` runs it as its own process (the CLI demo);
otherwise its app is served by uvicorn on a thread of this process, as the printer
simulator is — the same HTTP, the same database, without a Python start-up per
test world. A folder copied with its ``departments.db`` keeps that state.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

__all__ = ["DemoDepartments"]

EXTRA_CITIZENS = 200  # generated citizens beside the wallet's: a lookup among many


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoDepartments:
    """The simulator for one world; :meth:`start`, then ``url``; :meth:`stop`."""

    def __init__(
        self,
        db: Path,
        people: Sequence[tuple[str, str]],
        *,
        today: dt.date,
        process: bool = False,
        extra: int = EXTRA_CITIZENS,
    ) -> None:
        self.db, self.people, self.today = db, list(people), today  # (name, ASN)
        self.process, self.extra = process, extra
        self.port = _free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._store: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DemoDepartments:
        if self.process:
            self._start_process()
        else:
            self._start_thread()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"departments simulator exited ({self._proc.returncode})")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.03)
        self.stop()
        raise RuntimeError("the departments simulator did not start")

    def _start_process(self) -> None:
        args = [sys.executable, "-m", "kiosk.cli", "sim", "departments", "--db", str(self.db),
                "--port", str(self.port), "--extra", str(self.extra),
                "--today", self.today.isoformat()]  # fmt: skip
        for name, asn in self.people:
            args += ["--person", f"{asn}={name}"]
        # The child imports the same code as this process (a worktree, an install).
        root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        self._proc = subprocess.Popen(args, env=dict(os.environ, PYTHONPATH=path),  # noqa: S603
                                      stdout=subprocess.DEVNULL)  # fmt: skip
        # A world whose build fails later, or a demo stopped by Ctrl-C, leaves no process.
        atexit.register(self.stop)

    def _start_thread(self) -> None:
        import uvicorn

        from simulators.departments.app import create_app
        from simulators.departments.seed import seed
        from simulators.departments.store import DepartmentStore

        self.db.parent.mkdir(parents=True, exist_ok=True)
        self._store = DepartmentStore(self.db)
        seed(self._store, self.people, extra=self.extra, seed=18, today=self.today)
        config = uvicorn.Config(create_app(self._store), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="off")  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="demo-departments",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def fault(self, mode: str, prefix: str = "/", value: float = 0, count: int = 1) -> None:
        """The next ``count`` requests under ``prefix`` misbehave (``delay`` seconds,
        ``status``, ``malformed``, ``wrong_person``): the simulator's own injection."""
        body = {"prefix": prefix, "mode": mode, "value": value, "count": count}
        httpx.post(f"{self.url}/admin/faults", json=body, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.url}/admin/faults", timeout=5).raise_for_status()

    def get(self, path: str) -> Any:
        """A department's own answer (what a test compares the kiosk's screen with)."""
        r = httpx.get(f"{self.url}{path}", timeout=5)
        r.raise_for_status()
        return r.json()

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            self._proc = None
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(5)
            self._server = None
        if self._store is not None:
            self._store.close()
            self._store = None
