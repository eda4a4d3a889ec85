"""Connections to a printer from a config URL, over python-escpos's transports.

URLs:

- ``tcp://host:9100`` -- raw TCP (python-escpos ``Network``)
- ``serial:///dev/ttyS0?baudrate=19200`` -- serial port or pty (``Serial``, pyserial)
- ``usb://04b8:0202?in_ep=0x82&out_ep=0x01`` -- USB printer class (``Usb``, needs pyusb)
- ``file:///dev/usb/lp0`` -- a one-way device or file (``File``): no status channel

Every read has a timeout: python-escpos reads a network printer with the socket's
60 s default and hands back whatever came, so this module does its own reads,
byte by byte, with a deadline, after draining any stale answer (at most
:data:`DRAIN_LIMIT` bytes: a printer that keeps talking is not answering; nor is one
whose answer has more than :data:`TRAILING_LIMIT` bytes already behind it). Every
write has one too (``write_timeout``): pyserial writes block for ever by default,
so a stalled printer would hang the kiosk. A printer that closes the connection is
:class:`PrinterUnreachable` at once, not a read timeout.
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from escpos import printer as escpos_printer
from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError

from drivers.printer.errors import PrinterConfigError, PrinterUnreachable

DLE_EOT = b"\x10\x04"
# DLE DC4 fn=8: clear the receive and print buffers, so the rest of a failed job is
# not printed when the fault clears (the queue reprints it whole, marked).
CLEAR_BUFFERS = b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"
# Unasked bytes discarded before a query; more means the printer is babbling.
DRAIN_LIMIT = 4096
# Bytes already waiting right behind a one-byte answer: a printer answers DLE EOT
# with one byte (automatic status back adds blocks of four), so more than this
# means the "answer" was a byte of a stream nobody asked for.
TRAILING_LIMIT = 64


@dataclass(frozen=True)
class ConnectionSpec:
    """A parsed printer URL."""

    scheme: str
    target: str
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> ConnectionSpec:
        """Parse and check a printer URL; ``PrinterConfigError`` says what is wrong."""
        parts = urlsplit(url)
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        scheme = parts.scheme.lower()
        if scheme == "tcp":
            if not parts.hostname:
                raise PrinterConfigError(f"{url}: tcp:// needs a host")
            try:
                port = parts.port or 9100
            except ValueError as exc:
                raise PrinterConfigError(f"{url}: bad port") from exc
            return cls("tcp", f"{parts.hostname}:{port}", options)
        if scheme in ("serial", "file"):
            path = parts.path or parts.netloc
            if not path:
                raise PrinterConfigError(f"{url}: {scheme}:// needs a device path")
            return cls(scheme, path, options)
        if scheme == "usb":
            ids = parts.netloc.split(":")
            if len(ids) != 2:
                raise PrinterConfigError(f"{url}: usb:// needs vendor:product in hex")
            try:
                int(ids[0], 16), int(ids[1], 16)
            except ValueError as exc:
                raise PrinterConfigError(f"{url}: vendor/product must be hex") from exc
            return cls("usb", parts.netloc, options)
        raise PrinterConfigError(f"{url}: unknown scheme {parts.scheme!r} (tcp, serial, usb, file)")


class Connection:
    """One open printer link: write bytes, ask one status byte with a deadline."""

    def __init__(
        self,
        spec: ConnectionSpec,
        device: Escpos,
        *,
        timeout: float,
        write_timeout: float | None = None,
    ) -> None:
        self.spec = spec
        self._device = device
        self._timeout = timeout
        self._write_timeout = max(timeout, write_timeout or timeout)

    @property
    def bidirectional(self) -> bool:
        """False for ``file://``: nothing can be read back."""
        return self.spec.scheme != "file"

    def write(self, data: bytes, timeout: float | None = None) -> None:
        """Send bytes within ``timeout`` (default: the write timeout); a printer that does
        not take them in time, or a transport failure, is :class:`PrinterUnreachable`."""
        dev = self._raw_device()
        limit = max(0.001, self._write_timeout if timeout is None else timeout)
        try:
            if isinstance(dev, socket.socket):
                dev.settimeout(limit)  # sendall: the limit of the whole write
            elif self.spec.scheme == "serial":
                dev.write_timeout = limit
            self._device._raw(data)
        except Exception as exc:  # sockets, pyserial and pyusb each raise their own
            raise PrinterUnreachable(f"{self.spec.scheme}://{self.spec.target}: {exc}") from exc
        finally:
            if isinstance(dev, socket.socket):
                with contextlib.suppress(OSError):
                    dev.settimeout(self._timeout)

    def query_status(self, n: int, timeout: float | None = None) -> int | None:
        """Send ``DLE EOT n`` and return the answer byte, or None if none came in time."""
        if not self.bidirectional:
            return None
        self._drain()
        self.write(DLE_EOT + bytes([n]))
        deadline = time.monotonic() + (self._timeout if timeout is None else timeout)
        answer = self._read_byte(deadline)
        if answer is not None:
            self._refuse_trailing(self._raw_device())
        return answer

    def clear_buffers(self) -> None:
        """Ask the printer to drop what it holds of the current job (best effort)."""
        with contextlib.suppress(PrinterUnreachable):
            self.write(CLEAR_BUFFERS)

    def close(self) -> None:
        """Close the transport (idempotent)."""
        with contextlib.suppress(Exception):
            self._device.close()

    def read_byte(self, deadline: float) -> int | None:
        """One byte from the printer, or None if none came before ``deadline`` (monotonic)."""
        return self._read_byte(deadline) if self.bidirectional else None

    def drain(self) -> None:
        """Discard whatever the printer sent that nobody asked for."""
        if self.bidirectional:
            self._drain()

    # -- reading, per transport ---------------------------------------------------
    def _raw_device(self) -> Any:
        return self._device.device

    def _drain(self) -> None:
        dev = self._raw_device()
        if isinstance(dev, socket.socket):
            waiting, closed = self._take_waiting(dev, DRAIN_LIMIT)
            if waiting > DRAIN_LIMIT:
                raise PrinterUnreachable("the printer sends data nobody asked for")
            if closed:
                raise PrinterUnreachable("connection closed by the printer")
        elif self.spec.scheme == "serial":
            dev.reset_input_buffer()

    def _take_waiting(self, dev: socket.socket, limit: int) -> tuple[int, bool]:
        """Read and drop what the socket holds now, without waiting, until more than
        ``limit`` bytes came: (bytes taken, whether the printer closed the connection)."""
        dev.setblocking(False)
        taken = 0
        try:
            while taken <= limit:
                chunk = dev.recv(512)
                if not chunk:
                    return taken, True
                taken += len(chunk)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            raise PrinterUnreachable(str(exc)) from exc
        finally:
            with contextlib.suppress(OSError):
                dev.settimeout(self._timeout)
        return taken, False

    def _read_byte(self, deadline: float) -> int | None:
        dev = self._raw_device()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            if isinstance(dev, socket.socket):
                dev.settimeout(remaining)
                data = dev.recv(1)
            elif self.spec.scheme == "serial":
                dev.timeout = remaining
                data = dev.read(1)
            else:  # usb: pyusb read(endpoint, size, timeout_ms)
                data = bytes(dev.read(self._device.in_ep, 1, max(1, int(remaining * 1000))))
        except TimeoutError:
            return None
        except OSError as exc:
            raise PrinterUnreachable(str(exc)) from exc
        except Exception:  # pyusb raises its own USBTimeoutError / USBError
            return None
        if not data and isinstance(dev, socket.socket):
            raise PrinterUnreachable("connection closed by the printer")
        return data[0] if data else None

    def _refuse_trailing(self, dev: Any) -> None:
        """A babbling printer can be quiet when the drain before a query looks, and its
        stream then seems to answer: the bytes already behind the answer tell."""
        waiting = 0
        if isinstance(dev, socket.socket):
            waiting, _ = self._take_waiting(dev, TRAILING_LIMIT)  # closed: the next query says
        elif self.spec.scheme == "serial":
            with contextlib.suppress(Exception):
                waiting = int(dev.in_waiting)
        if waiting > TRAILING_LIMIT:
            raise PrinterUnreachable("the printer sends data nobody asked for")


def open_connection(
    url: str, *, timeout: float = 1.0, write_timeout: float | None = None
) -> Connection:
    """Open the printer at ``url``; every read and the TCP connect use ``timeout`` seconds,
    every write ``write_timeout`` (at least ``timeout``).

    Raises :class:`PrinterUnreachable` if the device cannot be opened and
    :class:`PrinterConfigError` if the URL is wrong.
    """
    spec = ConnectionSpec.parse(url)
    device = _make_device(spec, timeout)
    try:
        device.open()
    except DeviceNotFoundError as exc:
        raise PrinterUnreachable(f"{url}: {exc}") from exc
    except (OSError, ValueError) as exc:  # pyusb's NoBackendError is a ValueError
        raise PrinterUnreachable(f"{url}: {exc}") from exc
    if device.device is None:  # python-escpos logs instead of raising in some paths
        raise PrinterUnreachable(f"{url}: device did not open")
    if isinstance(device.device, socket.socket):
        # Status queries are 3-byte writes waiting on 1-byte answers: without this,
        # Nagle's algorithm and the peer's delayed ACK add ~40 ms to each.
        device.device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Connection(spec, device, timeout=timeout, write_timeout=write_timeout)


def _make_device(spec: ConnectionSpec, timeout: float) -> Escpos:
    opts = spec.options
    if spec.scheme == "tcp":
        host, port = spec.target.rsplit(":", 1)
        return escpos_printer.Network(host=host, port=int(port), timeout=timeout)
    if spec.scheme == "serial":
        return escpos_printer.Serial(
            devfile=spec.target,
            baudrate=int(opts.get("baudrate", "19200")),
            bytesize=int(opts.get("bytesize", "8")),
            parity=opts.get("parity", "N"),
            stopbits=float(opts.get("stopbits", "1")),
            timeout=timeout,
            xonxoff=opts.get("xonxoff", "0") == "1",
            dsrdtr=opts.get("dsrdtr", "0") == "1",
        )
    if spec.scheme == "file":
        return escpos_printer.File(devfile=spec.target)
    if not escpos_printer.Usb.is_usable():
        raise PrinterConfigError("usb:// needs pyusb, which is not installed")
    vendor, product = (int(x, 16) for x in spec.target.split(":"))
    return escpos_printer.Usb(
        idVendor=vendor,
        idProduct=product,
        timeout=int(timeout * 1000),
        in_ep=int(opts.get("in_ep", "0x82"), 16),
        out_ep=int(opts.get("out_ep", "0x01"), 16),
    )
