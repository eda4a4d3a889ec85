"""``civicard pcsc ...``: the technician's PC/SC tool.

- ``readers``: every reader, the card in it (ATR), virtual or not, and the roles.
- ``atr``: the ATR and protocol of the card in a reader.
- ``send APDU...``: raw APDUs, with a trace (VERIFY and other PIN/key-bearing
  commands are redacted in the trace).
- ``selftest``: the citizen card and the PSAM answer their basic commands.
- ``watch``: reader and card events as they happen (pcscd restarts included).

Readers are named by ``--reader`` (a shell pattern, case-insensitive) or chosen by the
role rules (``--card-reader``/``--card-atr``, ``--psam-reader``/``--psam-atr``).
Virtual readers are refused unless ``--allow-virtual`` (or
``CIVICARD_ALLOW_VIRTUAL_READERS=1``) is given, as in a production configuration.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from cardlib.apdu import format_command
from cardlib.errors import CardError

if TYPE_CHECKING:
    from drivers.pcsc import PcscConnection
    from drivers.pcsc_select import ReaderConfig

__all__ = ["register"]

T = TypeVar("T")

_ALLOW_ENV = "CIVICARD_ALLOW_VIRTUAL_READERS"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``civicard pcsc`` and its actions."""
    p = subparsers.add_parser("pcsc", help="technician tool: PC/SC readers, ATR, APDUs, selftest")
    sub = p.add_subparsers(dest="pcsc_command", metavar="ACTION")

    def roles(q: argparse.ArgumentParser) -> None:
        q.add_argument("--card-reader", metavar="PATTERN", help="card reader name pattern")
        q.add_argument("--card-atr", metavar="HEX", help="card ATR pattern (?? any byte)")
        q.add_argument("--psam-reader", metavar="PATTERN", help="PSAM reader name pattern")
        q.add_argument("--psam-atr", metavar="HEX", help="PSAM ATR pattern")
        q.add_argument(
            "--allow-virtual",
            action="store_true",
            default=os.environ.get(_ALLOW_ENV) == "1",
            help=f"accept virtual readers (vpcd); also {_ALLOW_ENV}=1",
        )

    def one_reader(q: argparse.ArgumentParser) -> None:
        roles(q)
        q.add_argument("--reader", metavar="PATTERN", help="reader name pattern")
        q.add_argument("--psam", action="store_true", help="the PSAM reader rather than the card")
        q.add_argument("--wait", type=float, default=0.0, metavar="S", help="wait for a card")

    readers = sub.add_parser("readers", help="list readers, cards, roles")
    roles(readers)
    readers.set_defaults(handler=_readers)

    atr = sub.add_parser("atr", help="ATR and protocol of the card in a reader")
    one_reader(atr)
    atr.set_defaults(handler=_atr)

    send = sub.add_parser("send", help="send raw APDUs (hex), with a trace")
    one_reader(send)
    send.add_argument("apdus", nargs="+", metavar="APDU", help='hex, e.g. "00A4040009..."')
    send.set_defaults(handler=_send)

    selftest = sub.add_parser("selftest", help="check the citizen card and the PSAM")
    roles(selftest)
    selftest.add_argument("--wait", type=float, default=0.0, metavar="S", help="wait for cards")
    selftest.add_argument("--rounds", type=int, default=20, help="GET BALANCE round trips timed")
    selftest.set_defaults(handler=_selftest)

    watch = sub.add_parser("watch", help="print reader and card events as they happen")
    watch.add_argument("--count", type=int, default=0, metavar="N", help="stop after N events")
    watch.add_argument("--timeout", type=float, default=0.0, metavar="S", help="stop after S s")
    watch.set_defaults(handler=_watch)

    def _help(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(handler=_help)


# -- helpers ---------------------------------------------------------------------------


def _config(args: argparse.Namespace) -> ReaderConfig:
    from drivers.pcsc_select import ReaderConfig, ReaderRule

    return ReaderConfig(
        card=ReaderRule(args.card_reader, args.card_atr),
        psam=ReaderRule(args.psam_reader, args.psam_atr),
        allow_virtual=args.allow_virtual,
    )


def _fail(exc: Exception) -> int:
    print(f"civicard pcsc: {exc}", file=sys.stderr)
    return 1


def _pick(args: argparse.Namespace) -> str:
    """The reader named by --reader, or the card (or PSAM) role's reader."""
    from drivers.pcsc import reader_atrs
    from drivers.pcsc_select import ReaderSelectionError, choose_readers, is_virtual

    atrs = reader_atrs()
    if args.reader:
        hits = [r for r in atrs if fnmatch.fnmatchcase(r.casefold(), args.reader.casefold())]
        hits = hits or [r for r in atrs if args.reader.casefold() in r.casefold()]
        if len(hits) != 1:
            raise ReaderSelectionError(
                f"{len(hits)} readers match {args.reader!r}; readers: {', '.join(atrs) or 'none'}"
            )
        if is_virtual(hits[0]) and not args.allow_virtual:
            raise ReaderSelectionError(f"{hits[0]} is a virtual reader: use --allow-virtual")
        return hits[0]
    chosen = choose_readers(atrs, _config(args))
    return chosen.psam if args.psam else chosen.card


def _connect(reader: str, wait: float) -> PcscConnection:
    from drivers.pcsc import PcscConnection

    if wait > 0:
        return PcscConnection.wait_for_card(reader, wait)
    return PcscConnection(reader)


def _parse_hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text.replace(":", " "))
    except ValueError:
        raise ValueError(f"not hex: {text!r}") from None


def _describe(conn: PcscConnection) -> str:
    from drivers.pcsc import Protocol

    return f"ATR {conn.atr.hex().upper()} ({Protocol.name(conn.protocol)})"


def _fen(amount: int) -> str:
    sign = "-" if amount < 0 else ""
    yuan, fen = divmod(abs(amount), 100)
    return f"{sign}{yuan}.{fen:02d}"


# -- actions ---------------------------------------------------------------------------


def _readers(args: argparse.Namespace) -> int:
    from drivers.pcsc import reader_atrs
    from drivers.pcsc_select import choose_readers, is_virtual

    try:
        atrs = reader_atrs()
    except CardError as exc:
        return _fail(exc)
    if not atrs:
        print("no readers")
        return 1
    for name, atr in atrs.items():
        tag = "  [virtual]" if is_virtual(name) else ""
        print(f"{name}{tag}\n    {'ATR ' + atr.hex(' ').upper() if atr else 'no card'}")
    try:
        chosen = choose_readers(atrs, _config(args))
        print(f"roles: card = {chosen.card}; PSAM = {chosen.psam}")
    except CardError as exc:
        print(f"roles: not assigned: {exc}")
    return 0


def _atr(args: argparse.Namespace) -> int:
    from drivers.pcsc import Protocol

    try:
        reader = _pick(args)
        with _connect(reader, args.wait) as conn:
            print(f"{reader}: ATR {conn.atr.hex(' ').upper()} ({Protocol.name(conn.protocol)})")
    except CardError as exc:
        return _fail(exc)
    return 0


def _send(args: argparse.Namespace) -> int:
    try:
        apdus = [_parse_hex(a) for a in args.apdus]
    except ValueError as exc:
        return _fail(exc)
    try:
        reader = _pick(args)
        with _connect(reader, args.wait) as conn:
            print(f"# {reader}, ATR {conn.atr.hex().upper()}")
            for apdu in apdus:
                print(f"> {format_command(apdu)}")
                start = time.perf_counter()
                data, sw = conn.send_and_receive(apdu)
                ms = (time.perf_counter() - start) * 1000
                shown = data.hex(" ").upper()
                print(f"< {shown + ' ' if shown else ''}{sw:04X}  ({ms:.2f} ms)")
    except CardError as exc:
        return _fail(exc)
    return 0


class _Checks:
    """Prints one line per check; counts failures."""

    def __init__(self) -> None:
        self.failures = 0

    def run(
        self, label: str, action: Callable[[], T], describe: Callable[[T], str] = str
    ) -> T | None:
        try:
            result = action()
        except CardError as exc:
            self.failures += 1
            print(f"  FAIL {label}: {exc}")
            return None
        text = describe(result)
        print(f"  ok   {label}{': ' + text if text else ''}")
        return result


def _selftest(args: argparse.Namespace) -> int:
    from cardlib.apdu import ApduSession
    from cardlib.psam import PsamClient
    from cardlib.purse import Purse
    from drivers.pcsc import reader_atrs, wait_for_card
    from drivers.pcsc_select import choose_readers

    try:
        chosen = choose_readers(reader_atrs(), _config(args))
        if args.wait > 0:
            wait_for_card(chosen.card, args.wait)
            wait_for_card(chosen.psam, args.wait)
        card = _connect(chosen.card, 0)
        sam = _connect(chosen.psam, 0)
    except CardError as exc:
        return _fail(exc)
    checks = _Checks()
    with card, sam:
        print(f"card reader {chosen.card}: {_describe(card)}")
        purse = checks.run(
            "SELECT citizen application",
            lambda: Purse(ApduSession(card)),
            lambda p: "application BLOCKED" if p.blocked else "",
        )
        if purse is not None:
            checks.run(
                "public info",
                purse.public_info,
                lambda i: f"card {i.card_number}, valid {i.start} to {i.expiry}",
            )
            checks.run("GET BALANCE", purse.balance, _fen)
            checks.run("transaction log", purse.log, lambda log: f"{len(log)} records")

            def timed() -> list[float]:
                times = []
                for _ in range(max(1, args.rounds)):
                    start = time.perf_counter()
                    purse.balance()
                    times.append((time.perf_counter() - start) * 1000)
                return times

            checks.run(
                "round trip (GET BALANCE)",
                timed,
                lambda t: f"median {statistics.median(t):.2f} ms over {len(t)}",
            )
        print(f"PSAM reader {chosen.psam}: {_describe(sam)}")
        checks.run(
            "SELECT PSAM, read terminal id",
            lambda: PsamClient(ApduSession(sam)),
            lambda c: c.terminal_id.hex().upper(),
        )
    print(
        "selftest passed" if checks.failures == 0 else f"selftest FAILED ({checks.failures} checks)"
    )
    return 0 if checks.failures == 0 else 1


def _watch(args: argparse.Namespace) -> int:
    import queue
    from datetime import datetime

    from drivers.pcsc_events import (
        CardInserted,
        CardRemoved,
        PcscEvent,
        PcscMonitor,
        ReaderAdded,
        ReaderRemoved,
        ServiceLost,
        ServiceRestored,
    )

    def describe(event: PcscEvent) -> str:
        match event:
            case ReaderAdded(reader):
                return f"reader added    {reader}"
            case ReaderRemoved(reader):
                return f"reader removed  {reader}"
            case CardInserted(reader, atr):
                return f"card inserted   {reader}  ATR {atr.hex(' ').upper()}"
            case CardRemoved(reader):
                return f"card removed    {reader}"
            case ServiceLost(reason):
                return f"pcscd lost      {reason}"
            case ServiceRestored():
                return "pcscd back"
        return repr(event)

    events: queue.Queue[PcscEvent] = queue.Queue()
    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    seen = 0
    with PcscMonitor(events.put):
        while args.count <= 0 or seen < args.count:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                break
            try:
                event = events.get(timeout=wait)
            except queue.Empty:
                break
            seen += 1
            print(f"{datetime.now():%H:%M:%S.%f}"[:-3] + f"  {describe(event)}", flush=True)
    return 0
