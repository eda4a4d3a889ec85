"""The counter station on real devices: its config file and what it builds from it.

``civicard counter --config FILE`` reads a TOML file of the sections in :data:`SCHEMA`
(``kiosk.config.read_sections``: unknown sections and keys refused, every value
checked, ``CIVICARD_<SECTION>_<KEY>`` overrides), opens the PC/SC readers it names
(the clerk's card, the citizen's, the PSAM, optionally a supervisor's), the identity
card reader on its serial port, the receipt printer, and the central's client with
the counter terminal's key, and builds the :class:`CounterStation` and its ports
(:class:`CounterPortsAdapter`). Every problem is a :class:`CounterConfigError` naming
the key at fault (the CLI exits 2 with it). docs/counter.md shows an example file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.config import ConfigError, read_sections

log = logging.getLogger(__name__)

__all__ = ["SCHEMA", "CounterConfigError", "CounterRuntime", "build_counter", "load_counter_config"]

SCHEMA: Mapping[str, Mapping[str, tuple[str, Any]]] = {
    "counter": {
        "data_dir": ("str", "var/counter"),  # outbox, operation journal, downloads
        "drawer": ("str", ""),  # the cash drawer's id; empty: <terminal id>-1
        "language": ("str", "zh-Hans"),
        "idle_timeout_s": ("float", 300.0),
    },
    "readers": {  # PC/SC reader names (a unique part of each name is enough)
        "clerk_reader": ("str", ""),
        "citizen_reader": ("str", ""),
        "psam_reader": ("str", ""),
        "supervisor_reader": ("str", ""),  # empty: the supervisor uses the clerk's reader
        "psam_wait_s": ("float", 5.0),
    },
    "idcard": {"url": ("str", "")},  # serial://DEVICE?baudrate=115200
    "printer": {
        "url": ("str", ""),  # tcp://HOST:PORT or serial://DEVICE; empty: no receipts
        "profile": ("str", "gb18030-80mm"),
        "timeout": ("float", 5.0),
    },
    "central": {
        "url": ("str", ""),
        "terminal_key": ("str", ""),  # PEM: the counter terminal's key (signs, receipts)
        "central_key": ("str", ""),  # PEM: the central's public key (its answers)
        "issuer_ca": ("str", ""),  # PEM: operator and citizen cards chain to it
        "timeout": ("float", 10.0),
    },
}
_REQUIRED = ("readers.clerk_reader", "readers.citizen_reader", "readers.psam_reader",
             "idcard.url", "central.url", "central.terminal_key", "central.central_key",
             "central.issuer_ca")  # fmt: skip


class CounterConfigError(ConfigError):
    """The counter's config (or a device it names) is unusable; ``key`` says where."""


def load_counter_config(path: Path, *, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The config's values by ``section.key``; every required key present."""
    values = read_sections(path, SCHEMA, env=env, error=CounterConfigError)
    for key in _REQUIRED:
        if not values[key]:
            raise CounterConfigError(key, "required")
    if values["counter.language"] not in ("zh-Hans", "zh-Hant", "en"):
        raise CounterConfigError("counter.language", "zh-Hans, zh-Hant or en")
    return values


@dataclass
class CounterRuntime:
    """What :func:`build_counter` made; :meth:`close` releases the devices."""

    station: Any  # kiosk.counter.CounterStation
    ports: Any  # kiosk.counter.ports_adapter.CounterPortsAdapter
    language: str
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for fn in reversed(self.closers):
            try:
                fn()
            except Exception as exc:  # closing one device never stops the others closing
                log.warning("counter: closing a device: %s", exc)


def _pick(readers: list[str], wanted: str, key: str) -> str:
    if wanted in readers:
        return wanted
    found = [r for r in readers if wanted in r]
    if len(found) != 1:
        have = "; ".join(readers) or "none"
        raise CounterConfigError(key, f"{len(found)} readers match {wanted!r} (readers: {have})")
    return found[0]


def _pem(values: Mapping[str, Any], key: str, load: Callable[[bytes], Any]) -> Any:
    try:
        return load(Path(values[key]).read_bytes())
    except (OSError, ValueError) as exc:
        raise CounterConfigError(key, str(exc)) from exc


def build_counter(
    values: Mapping[str, Any],
    *,
    reader_names: Callable[[], list[str]] | None = None,
    open_reader: Callable[[str], Any] | None = None,
    card_present: Callable[[str], bool] | None = None,
    translate: Callable[[str], str] = lambda s: s,
) -> CounterRuntime:
    """The station on the devices ``values`` names. PC/SC through ``drivers.pcsc``
    unless ``reader_names``/``open_reader``/``card_present`` are given (tests)."""
    from cryptography import x509

    from backend_sync import chain
    from backend_sync.terminal.agent import SyncAgent
    from backend_sync.terminal.client import CentralClient
    from backend_sync.terminal.downloads import DownloadStore
    from backend_sync.terminal.outbox import Outbox
    from backend_sync.terminal.station_events import send_station_events
    from cardlib.apdu import ApduSession
    from cardlib.errors import CardError, DeviceError
    from cardlib.psam import PsamClient
    from kiosk.counter import CounterDevices, CounterStation, OpJournal
    from kiosk.counter.events import StationEvents
    from kiosk.counter.ports_adapter import CounterPortsAdapter

    if reader_names is None or open_reader is None or card_present is None:
        from drivers.pcsc import PcscConnection, reader_atrs

        reader_names = reader_names or (lambda: list(reader_atrs()))
        open_reader = open_reader or PcscConnection
        card_present = card_present or (lambda name: reader_atrs().get(name) is not None)
    rt = CounterRuntime(None, None, values["counter.language"])
    try:
        try:
            names = reader_names()
        except DeviceError as exc:
            raise CounterConfigError("readers", str(exc)) from exc
        slot = {role: _pick(names, values[f"readers.{role}_reader"], f"readers.{role}_reader")
                for role in ("clerk", "citizen", "psam")}  # fmt: skip
        if values["readers.supervisor_reader"]:
            slot["supervisor"] = _pick(names, values["readers.supervisor_reader"],
                                       "readers.supervisor_reader")  # fmt: skip
        seen: dict[str, str] = {}
        for role, name in slot.items():  # one card per reader: a shared one mixes them up
            if name in seen:
                raise CounterConfigError(
                    f"readers.{role}_reader", f"the same reader as readers.{seen[name]}_reader"
                )
            seen[name] = role
        try:
            psam = open_reader(slot["psam"])
            terminal_id = PsamClient(ApduSession(psam)).terminal_id.hex().upper()
        except CardError as exc:
            raise CounterConfigError("readers.psam_reader", f"no usable PSAM: {exc}") from exc
        held: dict[str, Any] = {}

        def opener(role: str) -> Callable[[], Any]:
            def open_card() -> Any:
                old = held.pop(role, None)  # a fresh connection per card: the old is gone
                if old is not None and hasattr(old, "close"):
                    old.close()
                held[role] = open_reader(slot[role])
                return held[role]

            return open_card

        tkey = _pem(values, "central.terminal_key", chain.load_private_key)
        central_key = _pem(values, "central.central_key", chain.load_public_key)
        issuer_ca = _pem(values, "central.issuer_ca", x509.load_pem_x509_certificate)
        data = Path(values["counter.data_dir"])
        data.mkdir(parents=True, exist_ok=True)
        outbox = Outbox(data / "outbox.db", terminal_id)
        rt.closers.append(outbox.close)
        client = CentralClient(values["central.url"], terminal_id=terminal_id, key=tkey,
                               central_key=central_key,
                               timeout=values["central.timeout"])  # fmt: skip
        rt.closers.append(client.close)
        agent = SyncAgent(outbox, client, DownloadStore(data / "downloads", central_key))
        clerk = slot["clerk"]
        devices = CounterDevices(
            open_clerk_card=opener("clerk"), open_citizen_card=opener("citizen"), psam=psam,
            clerk_present=lambda: card_present(clerk),
            open_supervisor_card=opener("supervisor") if "supervisor" in slot else None,
        )  # fmt: skip
        rt.station = CounterStation(
            devices, central=client, outbox=outbox, trusted=[issuer_ca],
            drawer=values["counter.drawer"] or f"{terminal_id}-1", receipt_key=tkey,
            journal=OpJournal(data / "counter-ops.json"), upload=agent.run_once,
            idle_timeout_s=values["counter.idle_timeout_s"],
            events=StationEvents(data / "station-events",
                                 lambda evs: send_station_events(client, evs)),
        )  # fmt: skip
        id_reader = _open_idcard(values["idcard.url"])
        rt.closers.append(id_reader.close)
        printer = None
        if values["printer.url"]:
            from drivers.printer.printer import Printer
            from drivers.printer.profiles import get_profile

            try:
                printer = Printer(values["printer.url"], get_profile(values["printer.profile"]),
                                  timeout=values["printer.timeout"])  # fmt: skip
            except (KeyError, ValueError, OSError) as exc:
                raise CounterConfigError("printer.url", str(exc)) from exc
            rt.closers.append(printer.close)
        rt.ports = CounterPortsAdapter(rt.station, id_reader=id_reader, printer=printer,
                                       translate=translate, language=rt.language)  # fmt: skip
    except BaseException:
        rt.close()
        raise
    return rt


def _open_idcard(url: str) -> Any:
    from drivers.idcard import IdCardReader, IdReaderError

    try:
        return IdCardReader.open(url)
    except (IdReaderError, OSError, ValueError) as exc:
        raise CounterConfigError("idcard.url", str(exc)) from exc
