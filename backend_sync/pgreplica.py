"""A private PostgreSQL primary with a synchronous streaming standby (tests, benchmarks).

The primary runs with ``wal_level=replica``, ``synchronous_commit=on`` and
``synchronous_standby_names`` naming the standby, so a commit returns only when
the standby has flushed its WAL: nothing the central acknowledged exists only on
the primary. The standby is cloned with ``pg_basebackup -R`` (which writes
``standby.signal`` and ``primary_conninfo``) and streams from the primary.
:meth:`kill_primary` SIGKILLs the primary's postmaster (a crash, not a shutdown);
:meth:`promote` makes the standby the primary (``pg_promote()``).

Binaries come from ``pg_config --bindir`` at run time, as in
:mod:`backend_sync.pgserver`; as root they run as ``postgres`` through runuser.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from backend_sync.pgserver import free_port

# The commands run here are PostgreSQL's own binaries with arguments built here.
# ruff: noqa: S603

__all__ = ["ReplicatedPostgres"]

STANDBY_NAME = "civicard_standby"


class ReplicatedPostgres:
    """``start()``, then :meth:`url` (multi-host, read-write target) for the central."""

    def __init__(self) -> None:
        pg_config = shutil.which("pg_config")
        if pg_config is None:
            raise RuntimeError("pg_config not found: install PostgreSQL (scripts/setup.sh)")
        bindir = Path(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
        self.bin = {n: bindir / n for n in ("initdb", "postgres", "pg_basebackup")}
        for exe in self.bin.values():
            if not os.access(exe, os.X_OK):
                raise RuntimeError(f"{exe} missing: install PostgreSQL server binaries")
        self.root = Path(tempfile.mkdtemp(prefix="civicard-pgrepl-"))
        self.ports = {"primary": free_port(), "standby": free_port()}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]

    def _data(self, node: str) -> Path:
        return self.root / node

    def _run(self, node: str) -> None:
        log = open(self.root / f"{node}.log", "ab")  # noqa: SIM115 (the server keeps it)
        self.procs[node] = subprocess.Popen(
            [*self._as, str(self.bin["postgres"]), "-D", str(self._data(node)),
             "-p", str(self.ports[node]), "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={self.root}"],
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip

    def _wait(self, node: str, *, writable: bool | None = None, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            proc = self.procs.get(node)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError((self.root / f"{node}.log").read_text(errors="replace"))
            try:
                with psycopg.connect(self.dsn(node), connect_timeout=2) as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                    if writable is None or (row is not None and row[0] is not writable):
                        return
            except psycopg.Error as exc:
                last = exc
            time.sleep(0.05)
        raise RuntimeError(f"{node} not ready in {timeout} s: {last}")

    def start(self) -> ReplicatedPostgres:
        subprocess.run(
            [*self._as, str(self.bin["initdb"]), "-D", str(self._data("primary")), "-A", "trust",
             "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        # synchronous_commit = on with a named synchronous standby: a commit waits
        # until the standby has flushed the WAL to its disk.
        settings = {
            "wal_level": "replica",
            "max_wal_senders": "4",
            "wal_keep_size": "256MB",
            "synchronous_commit": "on",
            "synchronous_standby_names": f"'{STANDBY_NAME}'",
            "hot_standby": "on",
            "fsync": "on",
        }
        conf = self._data("primary") / "postgresql.conf"
        with conf.open("a") as f:
            f.writelines(f"{k} = {v}\n" for k, v in settings.items())
        self._run("primary")
        self._wait("primary")
        subprocess.run(
            [*self._as, str(self.bin["pg_basebackup"]), "-h", "127.0.0.1",
             "-p", str(self.ports["primary"]), "-U", "postgres", "-D", str(self._data("standby")),
             "-R", "-X", "stream", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        # The standby names itself, so the primary's synchronous_standby_names matches.
        with (self._data("standby") / "postgresql.auto.conf").open("a") as f:
            f.write(
                f"primary_conninfo = 'host=127.0.0.1 port={self.ports['primary']} "
                f"user=postgres application_name={STANDBY_NAME}'\n"
            )
        self._run("standby")
        self._wait("standby", writable=False)
        self.wait_sync()
        return self

    def wait_sync(self, timeout: float = 30) -> None:
        """Until the primary reports the standby streaming as synchronous."""
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with psycopg.connect(self.dsn("primary"), connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT sync_state FROM pg_stat_replication WHERE application_name = %s",
                    (STANDBY_NAME,),
                ).fetchone()
            if row is not None and row[0] == "sync":
                return
            time.sleep(0.05)
        raise RuntimeError("the standby did not become synchronous")

    def dsn(self, node: str, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports[node]}/{db}"

    def url(self, db: str) -> str:
        """SQLAlchemy URL naming both nodes: libpq tries them in order and keeps
        the one that accepts writes (``target_session_attrs=read-write``)."""
        p, s = self.ports["primary"], self.ports["standby"]
        return (
            f"postgresql+psycopg://postgres@/{db}?host=127.0.0.1:{p}&host=127.0.0.1:{s}"
            "&target_session_attrs=read-write&connect_timeout=2"
        )

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn("primary"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def postmaster_pid(self, node: str) -> int:
        """The postmaster's own pid (under runuser, not the Popen's)."""
        return int((self._data(node) / "postmaster.pid").read_text().split()[0])

    def kill_primary(self) -> None:
        """SIGKILL the primary's postmaster and its backends: a crash."""
        pid = self.postmaster_pid("primary")
        os.kill(pid, signal.SIGKILL)
        # The backends notice their postmaster is gone and exit; the Popen too.
        self.procs["primary"].wait(30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)

    def promote(self) -> float:
        """Promote the standby; returns the seconds until it accepts writes."""
        import psycopg

        t0 = time.monotonic()
        with psycopg.connect(self.dsn("standby"), autocommit=True) as conn:
            conn.execute("SELECT pg_promote(wait => true, wait_seconds => 30)")
            # The clone carries the old primary's synchronous_standby_names: alone,
            # the new primary would wait on every commit for a standby it does not
            # have. Until a new standby is attached it commits on its own (the
            # operator's choice of availability, docs/scale.md "Failover").
            conn.execute("ALTER SYSTEM SET synchronous_standby_names = ''")
            conn.execute("SELECT pg_reload_conf()")
        self._wait("standby", writable=True)
        return time.monotonic() - t0

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)
