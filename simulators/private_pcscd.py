"""A private pcscd for tests, benchmarks and demos: its own vpcd config on free ports.

pcscd 1.9.9 serves one machine-wide socket (/run/pcscd/pcscd.comm) and ignores
PCSCLITE_CSOCK_NAME, so only one pcscd can run at a time. :class:`PrivatePcscd`
therefore

- refuses to start, saying so plainly, when a pcscd it did not start is running;
- serialises civicard processes on this machine with a lock file, so two test runs
  wait for each other instead of killing each other's daemon;
- writes a reader.conf-style directory with one vpcd reader (two slots, ports P and
  P+1), or none, starts ``pcscd -f -i -c DIR``, waits for "daemon ready", and stops
  it with SIGTERM.

Reader hot-plug is simulated by :meth:`PrivatePcscd.restart` with another set of
readers (vpcd readers are static for the daemon's lifetime).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = [
    "PCSCD_SOCKET",
    "OtherPcscdRunning",
    "PcscdUnavailable",
    "PrivatePcscd",
    "VpcdReader",
    "find_vpcd_driver",
    "free_port_pair",
    "running_pcscd",
]

PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
_PID_FILE = Path("/run/pcscd/pcscd.pid")
_LOCK_FILE = Path("/tmp/civicard-private-pcscd.lock")  # noqa: S108 - one machine-wide lock on purpose
# The pid of the pcscd the lock holder started: a later holder finding that pcscd still
# running knows it was orphaned (its owner was killed before stopping it).
_OWNED_PID_FILE = Path("/tmp/civicard-private-pcscd.pid")  # noqa: S108
_READY = "daemon ready"


class PcscdUnavailable(RuntimeError):
    """pcscd or the vpcd driver is not installed, or pcscd did not start."""


class OtherPcscdRunning(RuntimeError):
    """A pcscd this process did not start owns the machine-wide socket."""


@dataclass(frozen=True)
class VpcdReader:
    """One vpcd reader: two slots, PC/SC names ``"<name> 00 00"`` / ``"<name> 00 01"``."""

    name: str
    port: int


def find_vpcd_driver() -> Path:
    """Path of vpcd's IFD handler, found at run time (Debian: vsmartcard-vpcd)."""
    dpkg = shutil.which("dpkg")
    if dpkg is not None:
        listing = subprocess.run(  # noqa: S603 - fixed argv
            [dpkg, "-L", "vsmartcard-vpcd"], capture_output=True, text=True, check=False
        )
        for line in listing.stdout.splitlines():
            if line.endswith("libifdvpcd.so"):
                return Path(line)
    for pattern in ("/usr/lib/pcsc/drivers*/**/libifdvpcd.so*", "/usr/lib*/**/libifdvpcd.so*"):
        hits = sorted(glob.glob(pattern, recursive=True))
        if hits:
            return Path(hits[0])
    raise PcscdUnavailable("vpcd driver libifdvpcd.so not found: install vsmartcard-vpcd")


def find_pcscd() -> str:
    """The pcscd executable (it lives in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("pcscd") or shutil.which("pcscd", path="/usr/sbin:/sbin")
    if found is None:
        raise PcscdUnavailable("pcscd not found: install pcscd (scripts/setup.sh does)")
    return found


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("0.0.0.0", port))  # noqa: S104 - vpcd itself binds all addresses
        except OSError:
            return False
    return True


def free_port_pair() -> int:
    """A port P with P and P+1 both free (vpcd listens on both, on all addresses)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", 0))  # noqa: S104
            port = int(s.getsockname()[1])
        if port < 65535 and _port_free(port + 1):
            return port
    raise OSError("no free pair of TCP ports")


def _socket_accepts() -> bool:
    if not PCSCD_SOCKET.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(str(PCSCD_SOCKET))
        except OSError:
            return False  # a socket file left behind by a daemon that died
    return True


def running_pcscd() -> str | None:
    """A description of a running pcscd (pid and command line), or None."""
    if not _socket_accepts():
        return None
    pids: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        pids.append(int(_PID_FILE.read_text().strip()))
    # pcscd writes its pid file a moment after its socket accepts: look in /proc too.
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() == "pcscd":
                pids.append(int(comm.parent.name))
    for pid in pids:
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            return f"pid {pid}: {cmdline.strip()}"
    return "pid unknown"


def _checked(readers: Sequence[VpcdReader]) -> tuple[VpcdReader, ...]:
    # Measured with vsmartcard-vpcd 0.8: with two vpcd readers in one pcscd, the
    # first reader's slots never accept their virtual card (the driver keeps one set
    # of slots). One reader per daemon; none is allowed (every reader unplugged).
    if len(readers) > 1:
        raise ValueError("vpcd supports one reader (two slots) per pcscd")
    return tuple(readers)


class PrivatePcscd:
    """pcscd with its own vpcd readers, owned by this process.

    Use as a context manager, or :meth:`start` / :meth:`close`. ``log_path`` keeps
    pcscd's own log (info level) for post-mortems.
    """

    def __init__(
        self,
        workdir: Path,
        readers: Sequence[VpcdReader] | None = None,
        *,
        lock_timeout: float = 120.0,
    ) -> None:
        self.workdir = Path(workdir)
        self.readers: tuple[VpcdReader, ...] = _checked(
            [VpcdReader("Virtual PCD", free_port_pair())] if readers is None else readers
        )
        self.lock_timeout = lock_timeout
        self.log_path = self.workdir / "pcscd.log"
        self._proc: subprocess.Popen[str] | None = None
        self._lock_fd: int | None = None
        self._ready = threading.Event()
        self._log_thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The reader's port (card slot; the PSAM slot is port + 1)."""
        if not self.readers:
            raise ValueError("this pcscd has no reader")
        return self.readers[0].port

    def slot_names(self) -> tuple[str, str]:
        """PC/SC names of the reader's two slots (card, PSAM)."""
        if not self.readers:
            raise ValueError("this pcscd has no reader")
        name = self.readers[0].name
        return f"{name} 00 00", f"{name} 00 01"

    @property
    def running(self) -> bool:
        """pcscd was started by us and has not exited."""
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Write the config, start pcscd and wait until it is ready with its readers."""
        self._acquire_lock()
        self._stop_orphan()
        other = running_pcscd()
        if other is not None:
            raise OtherPcscdRunning(
                f"another pcscd is running ({other}) and owns the machine-wide socket "
                f"{PCSCD_SOCKET}; stop it first (scripts/setup.sh disables the system "
                "pcscd service; a stray one: kill its pid)"
            )
        pcscd = find_pcscd()
        config_dir = self.workdir / "reader.conf.d"
        self._write_config(config_dir)
        self._ready.clear()
        log = self.log_path.open("a", encoding="utf-8")
        self._proc = subprocess.Popen(  # noqa: S603 - argv built from fixed parts
            [pcscd, "--foreground", "--info", "--config", str(config_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        _OWNED_PID_FILE.write_text(str(self._proc.pid), encoding="ascii")
        self._log_thread = threading.Thread(
            target=self._pump_log, args=(self._proc.stdout, log), daemon=True
        )
        self._log_thread.start()
        deadline = time.monotonic() + timeout
        ready = self._ready.wait(timeout)
        # Measured: pcscd 1.9.9 logs "daemon ready" a moment before its socket accepts
        # clients (2 starts in 30), so wait for the socket too.
        while ready and not _socket_accepts():
            if time.monotonic() > deadline or not self.running:
                ready = False
                break
            time.sleep(0.005)
        if not ready:
            self.stop()
            tail = self.log_path.read_text(encoding="utf-8")[-2000:]
            raise PcscdUnavailable(f"pcscd did not become ready in {timeout} s; log:\n{tail}")

    def _stop_orphan(self) -> None:
        """Stop a pcscd left running by a civicard process that was killed (we hold the lock)."""
        try:
            pid = int(_OWNED_PID_FILE.read_text(encoding="ascii"))
        except (OSError, ValueError):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            cmdline = b""
        if b"pcscd" in cmdline and b"reader.conf.d" in cmdline:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5.0
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        _OWNED_PID_FILE.unlink(missing_ok=True)

    def _pump_log(self, stream: IO[str] | None, log: IO[str]) -> None:
        if stream is None:
            return
        with log:
            for line in stream:
                log.write(line)
                log.flush()
                if _READY in line:
                    self._ready.set()

    def _write_config(self, config_dir: Path) -> None:
        driver = find_vpcd_driver()
        if config_dir.exists():
            shutil.rmtree(config_dir)
        # The directory must hold config files only: pcscd parses every regular file in it.
        config_dir.mkdir(parents=True)
        for i, reader in enumerate(self.readers):
            (config_dir / f"vpcd-{i}").write_text(
                f'FRIENDLYNAME "{reader.name}"\n'
                f"DEVICENAME   /dev/null:0x{reader.port:04X}\n"
                f"LIBPATH      {driver}\n"
                f"CHANNELID    0x{reader.port:04X}\n",
                encoding="utf-8",
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop pcscd (SIGTERM, then SIGKILL); keeps the machine lock for a restart."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._log_thread is not None:
            self._log_thread.join(timeout)
            self._log_thread = None
        _OWNED_PID_FILE.unlink(missing_ok=True)
        # pcscd removes its socket on a clean exit; wait for it so the next start is clean.
        deadline = time.monotonic() + timeout
        while PCSCD_SOCKET.exists() and running_pcscd() and time.monotonic() < deadline:
            time.sleep(0.01)

    def restart(self, readers: Sequence[VpcdReader] | None = None) -> None:
        """Stop and start again, optionally with other readers (simulated hot-plug)."""
        self.stop()
        if readers is not None:
            self.readers = _checked(readers)
        self.start()

    def close(self) -> None:
        """Stop pcscd and release the machine lock."""
        try:
            self.stop()
        finally:
            self._release_lock()

    def __enter__(self) -> PrivatePcscd:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the machine-wide lock ---------------------------------------------------------

    def _acquire_lock(self) -> None:
        if self._lock_fd is not None:
            return
        fd = os.open(_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise OtherPcscdRunning(
                        f"another civicard process holds {_LOCK_FILE} (a private pcscd) "
                        f"for more than {self.lock_timeout:.0f} s"
                    ) from None
                time.sleep(0.1)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
