"""The counter station's operations on the demo world. TEST ONLY.

:class:`DemoCounterPorts` implements the station's :class:`CounterPorts` on what the
project has today: the clerk card authenticated (certificate role ``clerk`` chained
to the issuer CA, a fresh challenge) and its PIN verified on the card; the identity
card reader through its serial driver; a blank card personalized through its own
commands by the TEST ONLY issuer (as ``civicard issue`` does) and registered at the
central; cash loads (opening balance, top-up) as real CREDIT FOR LOADs authorized by
the central with the counter's drawer (``funding: cash``) as their source, recorded in
the counter's outbox and uploaded; loss, block and unblock through the central's
registry and hotlist; PIN reset with the PUK on the card; the shift's drawer from the
ledger. Replacement with the balance carried, refund and close, renewal and the PIN
reload without a PUK need the central's lifecycle endpoints, which the station core
(``kiosk.counter.CounterSession``) now drives; until these ports are an adapter over it
they are refused with ``needs_central``.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from typing import Any

from cardlib.apdu import ApduSession
from cardlib.bcd import CARD_TZ, card_now
from cardlib.certs import Role
from cardlib.idcard import IdentityDocument
from cardlib.identity import Identity
from cardlib.layout import Holder
from cardlib.purse import LoadAuthorization, LoadRequest, Purse
from drivers.idcard import IdReaderError, NoIdCardError
from drivers.printer.document import Document, Field, Rule, Text
from kiosk.counter.holder import HolderData, mask
from kiosk.counter.station_ports import Clerk, CounterRefused, Op, Outcome
from kiosk.money import format_fen
from terminal_ui.counter.texts import OP_TITLES as OP_TITLE
from terminal_ui.counter.texts import VALUE_WORDS

__all__ = ["DemoCounterPorts"]

log = logging.getLogger(__name__)


class DemoCounterPorts:
    """The station's operations on a :class:`kiosk.demo.counter_world.CounterWorld`."""

    def __init__(self, world: Any) -> None:
        self.w = world
        self._clerk: Clerk | None = None
        self._lock = threading.Lock()
        self._float: int | None = None
        self._cash_in = 0
        self._cash_out = 0
        self._ledger_at_open = 0

    # -- helpers -------------------------------------------------------------------------
    def _session(self, reader: Any, what: str) -> ApduSession:
        if not reader.present:
            raise CounterRefused(f"no_{what}_card")
        return ApduSession(reader)

    def _need_clerk(self) -> Clerk:
        if self._clerk is None or not self.w.clerk_reader.present:
            self._clerk = None
            raise CounterRefused("signed_out")
        return self._clerk

    def _print(self, op: Op, reference: str, rows: list[tuple[str, str]]) -> bool:
        from terminal_ui.i18n import load_catalog  # the station's words (no Kivy)

        words = load_catalog("zh-Hans")
        clerk = self._clerk
        blocks: list[Any] = [Text("张家港市民卡 · 服务窗口", bold=True),
                             Text(words.gettext(OP_TITLE[op])), Rule()]  # fmt: skip
        for label, value in rows:
            shown = words.gettext(value) if value in VALUE_WORDS else value  # a word, not data
            blocks.append(Field(words.gettext(label), shown))
        blocks += [Rule(), Field("操作员", clerk.name if clerk else ""),
                   Field("时间", dt.datetime.now(CARD_TZ).strftime("%Y-%m-%d %H:%M")),
                   Field("业务编号", reference)]  # fmt: skip
        if self.w.printer is None:
            return False
        try:
            self.w.printer.print_document(Document(f"counter_{op}", reference, "zh-Hans",
                                                            tuple(blocks)))  # fmt: skip
        except Exception as exc:  # a printer problem never undoes the operation
            log.warning("counter receipt not printed: %s", exc)
            return False
        return True  # print_document raises unless the job printed in full

    def _outcome(self, op: Op, rows: list[tuple[str, str]], warning: str = "") -> Outcome:
        reference = f"{op.value}-{secrets.token_hex(4)}"
        printed = self._print(op, reference, rows)
        return Outcome(op, tuple(rows), printed, reference, warning)

    def _cash_load(self, purse: Purse, amount: int) -> int:
        """A CREDIT FOR LOAD authorized by the central, from this counter's drawer."""
        client, outbox = self.w.client, self.w.outbox
        box: dict[str, Any] = {}
        date, time = card_now()

        def authorize(req: LoadRequest) -> LoadAuthorization:
            auth = client.authorize_load(
                asn=req.asn.hex(), amount=req.amount, balance_before=req.balance_before,
                atc=req.online_atc, card_random=req.card_random.hex(),
                key_version=req.key_version, algorithm=int(req.algorithm), mac1=req.mac1.hex(),
                date=date.hex(), time=time.hex(), funding="cash",
            )  # fmt: skip
            box["id"] = outbox.begin_load(
                asn=req.asn.hex(), amount=req.amount, atc=req.online_atc, date=date.hex(),
                time=time.hex(), key_version=req.key_version, algorithm=int(req.algorithm),
                balance_before=req.balance_before, load_id=auth.load_id,
            )  # fmt: skip
            return LoadAuthorization(date=date, time=time, mac2=bytes.fromhex(auth.mac2))

        res = purse.load(bytes.fromhex(outbox.terminal_id), amount, authorize=authorize)
        after = res.request.balance_before + amount
        outbox.complete(box["id"], tac=res.tac.hex(), balance_after=after)
        self._cash_in += amount
        self.w.upload()
        return after

    # -- the clerk -----------------------------------------------------------------------
    def sign_in(self, pin: str) -> Clerk:
        purse = Purse(self._session(self.w.clerk_reader, "clerk"))
        ident = Identity.of(purse)
        try:
            ident.authenticate(trusted=[self.w.issuer_ca], now=dt.datetime.now(dt.UTC),
                               role=Role.CLERK)  # fmt: skip
        except Exception as exc:
            raise CounterRefused("not_a_clerk_card", str(exc)) from exc
        try:
            ident.verify_pin(pin)
        except Exception as exc:
            raise CounterRefused("clerk_pin_wrong", str(exc)) from exc
        holder = purse.holder()
        self._clerk = Clerk(holder.name, holder.card_number, "clerk")
        return self._clerk

    def sign_out(self) -> None:
        self._clerk = None

    def read_id_card(self) -> IdentityDocument:
        self._need_clerk()
        try:
            return self.w.id_reader.read_card()  # type: ignore[no-any-return]
        except NoIdCardError as exc:
            raise CounterRefused("no_id_card") from exc
        except IdReaderError as exc:
            raise CounterRefused("id_reader_fault", str(exc)) from exc

    # -- operations ----------------------------------------------------------------------
    def issue_card(self, holder: HolderData, pin: str, opening_fen: int) -> Outcome:
        self._need_clerk()
        session = self._session(self.w.citizen_reader, "citizen")
        asn = self.w.next_asn()
        puk = f"{secrets.randbelow(10**8):08d}"  # TEST ONLY: a city's PUK is the central's
        today = dt.date.today()
        name = holder.name or holder.english_name
        card_holder = Holder(name, asn.hex(), holder.masked, holder.birth, services=0xFFFF)
        self.w.issuer.personalize(
            session,
            asn=asn,
            holder=card_holder,
            pin=pin,
            puk=puk,
            start=today,
            expiry=today.replace(year=today.year + 10),
        )
        self.w.register(asn.hex(), name, pin, puk)
        rows = [("Card number", asn.hex().upper()), ("Holder", name),
                ("ID number", holder.masked)]  # fmt: skip
        if opening_fen:
            purse = Purse(ApduSession(self.w.citizen_reader))
            Identity.of(purse).verify_pin(pin)
            after = self._cash_load(purse, opening_fen)
            rows += [("Cash received", format_fen(opening_fen)), ("Balance", format_fen(after))]
        return self._outcome(Op.ISSUE, rows)

    def top_up(self, amount_fen: int, pin: str) -> Outcome:
        self._need_clerk()
        purse = Purse(self._session(self.w.citizen_reader, "citizen"))
        before = purse.balance()
        Identity.of(purse).verify_pin(pin)
        after = self._cash_load(purse, amount_fen)
        rows = [("Card number", purse.public_info().asn.hex().upper()),
                ("Balance before", format_fen(before)), ("Cash received", format_fen(amount_fen)),
                ("Balance", format_fen(after))]  # fmt: skip
        return self._outcome(Op.TOP_UP, rows)

    def _status(self, op: Op, card_number: str, status: str) -> Outcome:
        from backend_sync.central import registry
        from backend_sync.central.service import Refused

        self._need_clerk()
        try:
            version = registry.set_card_status(self.w.central, asn=card_number.lower(),
                                               status=status)  # fmt: skip
        except Refused as exc:
            raise CounterRefused(exc.reason, str(exc)) from exc
        self.w.sync()
        return self._outcome(
            op,
            [
                ("Card number", card_number.upper()),
                ("Card status", status),
                ("Hotlist version", str(version)),
            ],
        )

    def report_loss(self, card_number: str, id_number: str) -> Outcome:
        holder = self.w.holder_of(card_number)
        if holder is None or holder.id_masked != mask(id_number.upper()):
            raise CounterRefused("identity_mismatch")
        return self._status(Op.REPORT_LOSS, card_number, "blocked")

    def block(self, card_number: str) -> Outcome:
        return self._status(Op.BLOCK, card_number, "blocked")

    def unblock(self, id_number: str) -> Outcome:
        purse = Purse(self._session(self.w.citizen_reader, "citizen"))
        holder = purse.holder()
        if holder.id_masked != mask(id_number.upper()):
            raise CounterRefused("identity_mismatch")
        return self._status(Op.UNBLOCK, holder.card_number, "active")

    def reset_pin(self, puk: str, id_number: str, pin: str) -> Outcome:
        self._need_clerk()
        purse = Purse(self._session(self.w.citizen_reader, "citizen"))
        holder = purse.holder()
        if holder.id_masked != mask(id_number.upper()):
            raise CounterRefused("identity_mismatch")
        if not puk:
            raise CounterRefused("needs_central", "PIN reload without a PUK")
        Identity.of(purse).unblock_pin(puk, pin)
        return self._outcome(Op.RESET_PIN, [("Card number", holder.card_number.upper()),
                                            ("PIN", "reset with the PUK")])  # fmt: skip

    def replace(self, card_number: str, id_number: str, pin: str) -> Outcome:
        raise CounterRefused("needs_central", "replacement with the balance carried")

    def refund(self, id_number: str) -> Outcome:
        raise CounterRefused("needs_central", "refund and close")

    def renew(self, id_number: str) -> Outcome:
        raise CounterRefused("needs_central", "renewal")

    def lookup(self, query: str) -> Outcome:
        self._need_clerk()
        found = self.w.find_cards(query.strip())
        if not found:
            raise CounterRefused("nothing_found")
        rows: list[tuple[str, str]] = []
        for asn, name, id_masked, status, ledger in found[:4]:
            rows += [("Card number", asn.upper()), ("Holder", name), ("ID number", id_masked),
                     ("Card status", status), ("Ledger balance", format_fen(ledger))]  # fmt: skip
        return Outcome(Op.LOOKUP, tuple(rows), False)

    def open_shift(self, float_fen: int) -> Outcome:
        self._need_clerk()
        self._float, self._cash_in, self._cash_out = float_fen, 0, 0
        self._ledger_at_open = self.w.drawer_ledger()
        return self._outcome(Op.SHIFT_OPEN, [("Float", format_fen(float_fen))])

    def close_shift(self, counted_fen: int) -> Outcome:
        self._need_clerk()
        if self._float is None:
            raise CounterRefused("no_shift")
        expected = self._float + self._cash_in - self._cash_out
        ledger = self.w.drawer_ledger() - self._ledger_at_open
        diff = counted_fen - expected
        rows = [
            ("Float", format_fen(self._float)),
            ("Cash in", format_fen(self._cash_in)),
            ("Cash out", format_fen(self._cash_out)),
            ("Expected in drawer", format_fen(expected)),
            ("Counted", format_fen(counted_fen)),
            ("Ledger: drawer this shift", format_fen(ledger)),
            ("Difference", format_fen(diff)),
        ]
        warning = "" if diff == 0 and ledger == self._cash_in else "drawer_mismatch"
        self._float = None
        return self._outcome(Op.SHIFT_CLOSE, rows, warning)
