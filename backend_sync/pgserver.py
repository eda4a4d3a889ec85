"""A private PostgreSQL server in a temporary folder, on a free loopback port (tests, benchmarks).

initdb and postgres refuse to run as root: as root, they run as the ``postgres``
user through runuser, in a folder that user owns. Binaries come from
``pg_config --bindir`` at run time. Missing binaries are an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# The commands run here are PostgreSQL's own binaries with arguments built here.
# ruff: noqa: S603

__all__ = ["PrivatePostgres", "free_port"]


def free_port() -> int:
    """A TCP port free on loopback now (for a server about to be started)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url(db)`` for SQLAlchemy."""

    def __init__(self, *, durable: bool = False, settings: dict[str, str] | None = None) -> None:
        pg_config = shutil.which("pg_config")
        if pg_config is None:
            raise RuntimeError("pg_config not found: install PostgreSQL (scripts/setup.sh)")
        bindir = Path(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
        self.initdb = bindir / "initdb"
        self.postgres = bindir / "postgres"
        for exe in (self.initdb, self.postgres):
            if not os.access(exe, os.X_OK):
                raise RuntimeError(f"{exe} missing: install PostgreSQL server binaries")
        self.durable = durable
        # Server settings (``-c name=value``) on top of these defaults: a benchmark
        # states the memory a production server would give PostgreSQL.
        self.settings = dict(settings or {})
        self.root = Path(tempfile.mkdtemp(prefix="civicard-pg-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]

    def start(self) -> PrivatePostgres:
        data = self.root / "data"
        subprocess.run(
            [*self._as, str(self.initdb), "-D", str(data), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--no-locale", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        opts = ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}"]
        if not self.durable:
            # Test databases are thrown away: durability only costs time here.
            opts += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        for name, value in self.settings.items():
            opts += ["-c", f"{name}={value}"]
        self.proc = subprocess.Popen(
            [*self._as, str(self.postgres), "-D", str(data), "-p", str(self.port), *opts],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "server.log", "wb"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.root / "server.log").read_text(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                import psycopg

                with psycopg.connect(self.url("postgres", driver=False), connect_timeout=2):
                    return self
            except OSError:
                time.sleep(0.05)
            except Exception:  # the server is up but not accepting yet
                time.sleep(0.05)
        raise RuntimeError("PostgreSQL did not start in 30 s")

    def url(self, db: str, *, driver: bool = True) -> str:
        scheme = "postgresql+psycopg" if driver else "postgresql"
        return f"{scheme}://postgres@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str, template: str | None = None) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres", driver=False), autocommit=True) as conn:
            tmpl = f" TEMPLATE {template}" if template else ""
            conn.execute(f"CREATE DATABASE {name}{tmpl}")
        return self.url(name)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)
