"""The kiosk's operations over real parts: :class:`CardKioskOps` implements
:class:`kiosk.core.ports.KioskOps` with cardlib (card and PSAM), the outbox, the
central, the downloaded catalog and hotlist, and the receipt printer.

All of it runs on the session machine's worker thread, one call at a time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from backend_sync.terminal.client import CentralClient, CentralRefused, CentralUnavailable
from backend_sync.terminal.downloads import DownloadStore
from backend_sync.terminal.outbox import IntentId, Outbox, SalesStopped
from backend_sync.terminal.settle import prove_unsettled, settle_unfinished
from cardlib.apdu import ApduSession, Connection
from cardlib.certs import Role
from cardlib.errors import (
    ApplicationBlockedError,
    ApplicationLockedError,
    AuthenticationError,
    CardError,
    CertificateExpiredError,
    DeviceError,
    InsufficientBalanceError,
    InvalidPinError,
    PinBlockedError,
    RoleError,
)
from cardlib.identity import Identity
from cardlib.layout import Holder, PublicInfo
from cardlib.psam import PsamClient
from cardlib.purse import DebitOutcomeUnknown, Purse
from kiosk.core.clock import Clock
from kiosk.core.ports import (
    CardCheck,
    CardGone,
    FormError,
    InfoResult,
    JobContext,
    Outcome,
    PinOutcome,
    PrinterCheck,
    Quote,
    ServiceForm,
    ServiceUnavailable,
)
from kiosk.core.views import CardView, HistoryLine, Language, MenuGroup, MenuItem, pick
from kiosk.receipts.formatting import mask_card_number, mask_name
from kiosk.services.catalog import Catalog, ServiceEntry, builtin_catalog
from kiosk.services.printing import ReceiptDesk
from kiosk.services.transactions import Transactions

__all__ = ["CardKioskOps", "Network", "OfflineLimits"]

log = logging.getLogger(__name__)


@dataclass
class Network:
    """Whether the central answered lately (the sync agent and online calls set it)."""

    online: bool = True


@dataclass(frozen=True)
class OfflineLimits:
    max_hotlist_age_s: int = 24 * 3600
    max_card_offline_fen: int = 20_000


@dataclass
class _Card:
    purse: Purse
    identity: Identity
    info: PublicInfo
    holder: Holder

    @property
    def asn_hex(self) -> str:
        return self.info.asn.hex().upper()


class CardKioskOps:
    """KioskOps over a card slot, a PSAM slot, the outbox, the central and a printer."""

    def __init__(
        self,
        *,
        open_card: Callable[[], Connection],
        open_psam: Callable[[], Connection],
        open_outbox: Callable[[str], Outbox],
        trusted: list[x509.Certificate],
        clock: Clock,
        client: CentralClient | None = None,
        store: DownloadStore | None = None,
        receipts: ReceiptDesk | None = None,
        network: Network | None = None,
        limits: OfflineLimits | None = None,
        on_record: Callable[[], None] = lambda: None,
        language: Language = Language.ZH_HANS,
    ) -> None:
        self._open_card = open_card
        self._open_psam = open_psam
        self._open_outbox = open_outbox
        self.trusted = trusted
        self.clock = clock
        self.client = client
        self.store = store
        self.receipts = receipts
        self.network = network or Network(online=client is not None)
        self.limits = limits or OfflineLimits()
        self.on_record = on_record
        self.language = language  # receipts printed outside a session (settled on return)
        self.psam: PsamClient | None = None
        self.outbox: Outbox | None = None
        self.tx: Transactions | None = None
        self._card: _Card | None = None
        self._catalog: Catalog | None = None

    # -- devices ------------------------------------------------------------------
    @property
    def terminal_id(self) -> str:
        if self.psam is None:
            raise RuntimeError("no PSAM yet")
        return self.psam.terminal_id.hex().upper()

    def ready(self) -> str | None:
        if self.psam is None:
            try:
                self.psam = PsamClient(ApduSession(self._open_psam()))
            except CardError as exc:
                log.warning("PSAM not usable: %s", exc)
                return "no_psam"
        if self.outbox is None:
            self.outbox = self._open_outbox(self.terminal_id)
            self.tx = Transactions(self.outbox, self.psam, self.clock)
        if not self.outbox.status().sales_allowed:
            return "sales_stopped"
        return None

    def _need(self) -> tuple[_Card, Transactions]:
        if self._card is None or self.tx is None:
            raise CardGone("no card session")
        return self._card, self.tx

    # -- the card ----------------------------------------------------------------------
    def check_card(self, ctx: JobContext) -> CardCheck:
        if self.psam is None or self.outbox is None:
            return CardCheck(None, refusal="no_psam")
        try:
            return self._check(ctx)
        except DeviceError as exc:
            raise CardGone(str(exc)) from exc

    def _check(self, ctx: JobContext) -> CardCheck:
        assert self.psam is not None and self.outbox is not None
        ctx.progress("reading_card", 0.1)
        try:
            purse = Purse(ApduSession(self._open_card()))
            info, holder = purse.public_info(), purse.holder()
        except ApplicationLockedError:
            return CardCheck(None, refusal="card_terminated")
        except DeviceError:
            raise
        except CardError as exc:
            log.info("unreadable card: %s", exc)
            return CardCheck(None, refusal="unreadable")
        view = CardView(mask_card_number(holder.card_number), mask_name(holder.name), None,
                        info.expiry)  # fmt: skip
        asn = info.asn.hex().upper()
        # A purchase torn at DEBIT is settled from the card before anything else
        # touches it (the card's answer depends only on its committed state).
        ctx.progress("settling", 0.3)
        notices: list[str] = []
        mine = {it.id: it for it in self.outbox.unfinished() if it.asn == asn}
        for seq, outcome in settle_unfinished(self.outbox, [purse]):
            it = mine.get(IntentId(seq))
            if it is None:
                continue
            what = "debit" if it.kind == "purchase" else "load"
            word = {"completed": "completed", "aborted": "not_taken"}.get(outcome, outcome)
            notices.append(f"previous_{what}_{word}")
            if outcome == "completed" and self.receipts is not None:
                # The citizen left without the receipt of money that did move.
                ctx.progress("printing", None)
                self.receipts.print_settled(it.kind, it.fields, seq, holder,
                                            self.terminal_id, self.language)  # fmt: skip
        if prove_unsettled(self.outbox, purse):
            notices.append("previous_proven")
        if notices:
            self.on_record()
        ctx.check()
        ctx.progress("checking_hotlist", 0.5)
        if purse.blocked:
            return CardCheck(view, refusal="card_blocked", notices=tuple(notices))
        hotlist = self.store.hotlist() if self.store else None
        if hotlist is not None and hotlist.blocks(asn):
            try:
                purse.block(self.psam)
                log.warning("hotlisted card %s blocked on the card", asn)
            except CardError as exc:
                log.error("hotlisted card %s could not be blocked: %s", asn, exc)
            return CardCheck(view, refusal="hotlisted", notices=tuple(notices))
        today = self.clock.now().date()
        if info.expiry < today:
            return CardCheck(view, refusal="expired", notices=tuple(notices))
        if info.start > today:
            return CardCheck(view, refusal="not_yet_valid", notices=tuple(notices))
        ctx.progress("authenticating", 0.7)
        identity = Identity.of(purse)
        try:
            identity.authenticate(trusted=self.trusted, now=self.clock.now(), role=Role.CITIZEN)
        except RoleError:
            return CardCheck(view, refusal="not_citizen_card", notices=tuple(notices))
        except CertificateExpiredError:
            return CardCheck(view, refusal="expired", notices=tuple(notices))
        except AuthenticationError as exc:
            log.warning("card %s not genuine: %s", asn, exc)
            return CardCheck(view, refusal="not_genuine", notices=tuple(notices))
        tries = identity.pin_tries()
        balance = purse.balance()
        view = CardView(view.card_number_masked, view.holder_masked, balance, info.expiry)
        if tries == 0:
            return CardCheck(view, refusal="pin_blocked", notices=tuple(notices))
        ctx.progress("card_ok", 1.0)
        self._card = _Card(purse, identity, info, holder)
        return CardCheck(view, pin_tries=tries, notices=tuple(notices),
                         online=self.network.online)  # fmt: skip

    def verify_pin(self, pin: str, ctx: JobContext) -> PinOutcome:
        card, _tx = self._need()
        try:
            card.identity.verify_pin(pin)
        except InvalidPinError as exc:
            return PinOutcome(False, exc.tries_left, blocked=exc.tries_left == 0)
        except PinBlockedError:
            return PinOutcome(False, 0, blocked=True)
        except DeviceError as exc:
            raise CardGone(str(exc)) from exc
        return PinOutcome(True, 3)

    def end_card(self) -> None:
        self._card = None

    # -- catalog -------------------------------------------------------------------------
    def catalog(self) -> Catalog:
        """The last synced catalog (the built-in card services before the first sync)."""
        doc = self.store.document("catalog") if self.store else None
        version = doc.version if doc else 0
        if self._catalog is None or self._catalog.version != version:
            body = doc.payload.get("body", {}) if doc else builtin_catalog()
            self._catalog = Catalog.from_body(version, body if isinstance(body, dict) else {})
        return self._catalog

    def _why_not(self, s: ServiceEntry) -> str | None:
        online = self.network.online and self.client is not None
        if s.flow in ("bill", "top_up") or (s.needs.network and s.flow != "fixed_price"):
            return None if online else "needs_network"
        if s.flow == "fixed_price" and not online:
            if not (s.payment and s.payment.offline):
                return "needs_network"
            return self._offline_refusal(s.payment.amount_fen or 0)
        return None

    def _offline_refusal(self, amount: int) -> str | None:
        """Offline sales stay within the hotlist's age and the card's offline amount."""
        if self.store is None:
            return "offline_limit"
        age = self.store.hotlist().age_s(self.clock.now().timestamp())
        if age > self.limits.max_hotlist_age_s:
            return "offline_limit"
        if self._card is not None and self.outbox is not None:
            spent = self._unsent_spend(self._card.asn_hex)
            if spent + amount > self.limits.max_card_offline_fen:
                return "offline_limit"
        return None

    def _unsent_spend(self, asn: str) -> int:
        assert self.outbox is not None
        _prev, recs = self.outbox.pending(10_000)
        total = 0
        for r in recs:
            body = json.loads(r.body)
            if body.get("kind") == "purchase" and body.get("asn") == asn:
                total += int(body["amount"])
        return total

    def menu(self, language: Language) -> tuple[MenuGroup, ...]:
        cat = self.catalog()
        groups = []
        for g in cat.groups:
            items = []
            for s in cat.services.values():
                if g.id in s.groups:
                    why = self._why_not(s)
                    price = s.payment.amount_fen if s.payment else None
                    items.append(MenuItem(s.id, pick(s.names, language), why is None, why, price))
            if items:
                groups.append(MenuGroup(g.id, pick(g.names, language), tuple(items), g.kind))
        return tuple(groups)

    def form(self, service_id: str) -> ServiceForm | None:
        s = self.catalog().service(service_id)
        if s is None or not s.fields:
            return None
        return ServiceForm(s.id, s.names, tuple(f.spec() for f in s.fields))

    # -- services --------------------------------------------------------------------
    def prepare(
        self, service_id: str, values: Mapping[str, str], ctx: JobContext
    ) -> Quote | InfoResult:
        card, _tx = self._need()
        s = self.catalog().service(service_id)
        if s is None:
            raise ServiceUnavailable("unknown_service")
        why = self._why_not(s)
        if why:
            raise ServiceUnavailable(why)
        try:
            return self._prepare(s, card, values, ctx)
        except DeviceError as exc:
            raise CardGone(str(exc)) from exc

    def _prepare(
        self, s: ServiceEntry, card: _Card, values: Mapping[str, str], ctx: JobContext
    ) -> Quote | InfoResult:
        if s.flow == "balance":
            return InfoResult(s.id, s.names, balance_fen=card.purse.balance())
        if s.flow == "history":
            ctx.progress("reading_history", None)
            lines = tuple(
                HistoryLine(rec.when.replace(tzinfo=self.clock.now().tzinfo),
                            {6: "purchase", 2: "load"}.get(rec.ttype, f"type_{rec.ttype:02X}"),
                            rec.amount, rec.terminal_id.hex().upper())
                for rec in card.purse.log()
            )  # fmt: skip
            return InfoResult(s.id, s.names, balance_fen=card.purse.balance(), history=lines)
        balance = card.purse.balance()
        if s.flow == "change_pin":
            return Quote(s.id, s.names, "change_pin", 0, "", needs_receipt=False)
        if s.flow == "top_up":
            amount = int(values["amount"])
            return Quote(s.id, s.names, "load", amount, "bank", balance_fen=balance,
                         data={"funding": s.payment.funding if s.payment else "bank"})  # fmt: skip
        assert s.payment is not None  # the catalog checked it for bill and fixed_price
        if s.flow == "fixed_price":
            amount = s.payment.amount_fen or 0
            if balance < amount:
                raise ServiceUnavailable("insufficient_balance")
            details = tuple((k, v) for k, v in values.items())
            # The central derives the payee from this catalog version's item.
            version = self._catalog.version if self._catalog else 0
            return Quote(s.id, s.names, "debit", amount, s.payment.payee, details, balance,
                         data={"catalog_version": version})  # fmt: skip
        # bill: asked of the central (the biller's system behind it)
        if self.client is None:
            raise ServiceUnavailable("needs_network")
        ctx.progress("fetching_bill", None)
        try:
            bill = self.client.lookup_bill(payee=s.payment.payee, account=values["account"])
        except CentralRefused as exc:
            if exc.reason == "bill_not_found":
                raise FormError("bill_not_found", "account") from exc
            raise ServiceUnavailable(exc.reason) from exc
        except CentralUnavailable as exc:
            self.network.online = False
            raise ServiceUnavailable("needs_network") from exc
        self.network.online = True
        ctx.check()
        if balance < bill.amount:
            raise ServiceUnavailable("insufficient_balance")
        details = (("biller", bill.biller), ("account", bill.account), ("period", bill.period))
        return Quote(s.id, s.names, "debit", bill.amount, bill.payee, details, balance,
                     data={"reference": bill.reference, "utility": s.payment.utility or "",
                           "biller": bill.biller, "account": bill.account,
                           "period": bill.period})  # fmt: skip

    def release(self, quote: Quote) -> None:
        # Orders are held only inside execute(), right before the debit, so a quote
        # the citizen declines holds nothing at the central.
        log.debug("quote for %s declined", quote.service_id)

    def check_printer(self, ctx: JobContext) -> PrinterCheck:
        if self.receipts is None:
            return PrinterCheck(False, "no_printer")
        return self.receipts.check()

    def execute(
        self,
        quote: Quote,
        *,
        receipt: bool,
        pins: Mapping[str, str],
        language: Language,
        ctx: JobContext,
    ) -> Outcome:
        card, tx = self._need()
        try:
            if quote.kind == "change_pin":
                return self._change_pin(card, pins)
            if quote.kind == "load":
                outcome = self._load(card, tx, quote)
            else:
                outcome = self._debit(card, tx, quote, ctx)
        except (DebitOutcomeUnknown, DeviceError) as exc:
            # The intent stays open; the card's next insertion settles it.
            raise CardGone(str(exc)) from exc
        if outcome.ok:
            self.on_record()
            if receipt and self.receipts is not None:
                ctx.progress("printing", None)
                printed = self.receipts.print_for(quote, outcome, card.holder, self.terminal_id,
                                                  language, self.clock.now())  # fmt: skip
                outcome = Outcome(**{**outcome.__dict__, "receipt": printed})
            elif not receipt:
                outcome = Outcome(**{**outcome.__dict__, "receipt": "skipped"})
        return outcome

    def _change_pin(self, card: _Card, pins: Mapping[str, str]) -> Outcome:
        try:
            card.identity.change_pin(pins["old_pin"], pins["new_pin"])
        except InvalidPinError as exc:
            return Outcome(False, "pin_blocked" if exc.tries_left == 0 else "wrong_pin")
        except PinBlockedError:
            return Outcome(False, "pin_blocked")
        return Outcome(True, "pin_changed")

    def _debit(self, card: _Card, tx: Transactions, quote: Quote, ctx: JobContext) -> Outcome:
        online = self.network.online and self.client is not None
        order_id: str | None = None
        reference = str(quote.data.get("reference", ""))
        if reference:
            if self.client is None:
                return Outcome(False, "needs_network")
            ctx.progress("holding_order", None)
            try:
                held = self.client.hold_order(
                    asn=card.asn_hex, payee=quote.payee, reference=reference,
                    amount=quote.amount_fen,
                )  # fmt: skip
            except CentralRefused as exc:
                return Outcome(False, exc.reason)
            except CentralUnavailable:
                self.network.online = False
                return Outcome(False, "needs_network")
            order_id = held.order_id
        elif not online:
            why = self._offline_refusal(quote.amount_fen)
            if why:
                return Outcome(False, why)
        ctx.progress("debiting", None)
        hotlist = self.store.hotlist().version if self.store else None
        try:
            try:
                version = int(str(quote.data.get("catalog_version", 0)))
                done = tx.purchase(card.purse, quote.amount_fen, payee=quote.payee,
                                   order_id=order_id, hotlist_version=hotlist,
                                   catalog_version=version or None,
                                   service_id=quote.service_id if version else None)  # fmt: skip
            except Exception as exc:
                if order_id is not None and not isinstance(exc, DebitOutcomeUnknown):
                    self._release_hold(tx, order_id, type(exc).__name__)
                raise
        except InsufficientBalanceError:
            return Outcome(False, "insufficient_balance")
        except SalesStopped:
            return Outcome(False, "sales_stopped")
        except ApplicationBlockedError:
            return Outcome(False, "card_blocked")
        return Outcome(True, "paid", quote.amount_fen, done.balance_after, done.transaction_id,
                       ttc=done.ttc)  # fmt: skip

    def _release_hold(self, tx: Transactions, order_id: str, why: str) -> None:
        """The debit never began (no intent cites the order): free the bill now. Best
        effort: the central's hold expiry frees it anyway (docs/sync.md)."""
        if self.client is None or any(
            it.fields.get("order_id") == order_id for it in tx.outbox.unfinished()
        ):
            return  # an open intent: the card's settlement decides, not the kiosk
        try:
            self.client.release_order(order_id, reason=why)
        except (CentralRefused, CentralUnavailable) as exc:
            log.warning("hold %s not released (%s); it expires at the central", order_id, exc)

    def _load(self, card: _Card, tx: Transactions, quote: Quote) -> Outcome:
        if self.client is None:
            return Outcome(False, "needs_network")
        funding = str(quote.data.get("funding", "bank"))
        try:
            done = tx.load(card.purse, self.client, quote.amount_fen, funding=funding)
        except CentralRefused as exc:
            code = exc.reason
            if code == "funding_refused":
                code = "bank_" + ("insufficient_funds" if "insufficient_funds" in exc.detail
                                  else "refused")  # fmt: skip
            return Outcome(False, code)
        except CentralUnavailable:
            self.network.online = False
            return Outcome(False, "needs_network")
        except SalesStopped:
            return Outcome(False, "sales_stopped")
        return Outcome(True, "loaded", quote.amount_fen, done.balance_after, done.transaction_id)

    def debug_state(self) -> dict[str, Any]:
        """For the technician screen: what the ops hold now."""
        return {
            "terminal_id": self.terminal_id if self.psam else None,
            "card": self._card.asn_hex if self._card else None,
            "online": self.network.online,
            "catalog_version": self._catalog.version if self._catalog else None,
        }
