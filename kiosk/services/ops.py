"""The kiosk's operations over real parts: :class:`CardKioskOps` implements
:class:`kiosk.journeys.ports.KioskOps` with cardlib (card and PSAM), the outbox,
the central, the downloaded catalog and hotlist, the receipt printer and the
service flows (:mod:`kiosk.flows`): what a service does is its flow's; this module
checks cards, lists the menu and hands each flow its :class:`FlowEnv`.

All of it runs on the machine's worker thread, one call at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from cryptography import x509

from backend_sync.terminal.ballots import BallotBox
from backend_sync.terminal.client import CentralClient
from backend_sync.terminal.downloads import DownloadStore
from backend_sync.terminal.outbox import IntentId, Outbox
from backend_sync.terminal.settle import prove_unsettled, settle_unfinished
from cardlib.apdu import ApduSession, Connection
from cardlib.certs import Role
from cardlib.errors import (
    ApplicationLockedError,
    AuthenticationError,
    CardError,
    CertificateExpiredError,
    DeviceError,
    InvalidPinError,
    PinBlockedError,
    RoleError,
)
from cardlib.identity import Identity
from cardlib.psam import PsamClient
from cardlib.purse import DebitOutcomeUnknown, Purse
from kiosk.catalog import Catalog, ServiceEntry, builtin_catalog
from kiosk.codes import Notice, PrinterProblem, ReceiptState, Refusal
from kiosk.core.clock import Clock
from kiosk.core.forms import ServiceForm
from kiosk.core.views import CardView, Language, MenuGroup, MenuItem, pick
from kiosk.core.worker import JobContext
from kiosk.flows import FlowRegistry, builtin_flows
from kiosk.flows.base import (
    Answer,
    CardGone,
    CardSession,
    Flow,
    FlowEnv,
    Network,
    OfflineLimits,
    Outcome,
    Quote,
    ServiceUnavailable,
)
from kiosk.journeys.ports import CardCheck, PinOutcome, PrinterCheck, TechnicianTools
from kiosk.receipts.formatting import mask_card_number, mask_name
from kiosk.receipts.slips import Slip
from kiosk.services.printing import ReceiptDesk
from kiosk.services.transactions import Transactions

__all__ = ["CardKioskOps", "Network", "OfflineLimits"]

log = logging.getLogger(__name__)


# The card log's transaction types as history kinds (09: a bus validator's ride).
class CardKioskOps:
    """KioskOps over a card slot, a PSAM slot, the outbox, the central and a printer."""

    def __init__(
        self,
        *,
        open_card: Callable[[], Connection],
        open_psam: Callable[[], Connection],
        outbox: Outbox,
        trusted: list[x509.Certificate],
        clock: Clock,
        client: CentralClient | None = None,
        store: DownloadStore | None = None,
        receipts: ReceiptDesk | None = None,
        network: Network | None = None,
        limits: OfflineLimits | None = None,
        on_record: Callable[[], None] = lambda: None,
        language: Language = Language.ZH_HANS,
        flows: FlowRegistry | None = None,
        ballots: BallotBox | None = None,
    ) -> None:
        self._open_card = open_card
        self._open_psam = open_psam
        self.trusted = trusted
        self.clock = clock
        self.client = client
        self.store = store
        self.receipts = receipts
        self.network = network or Network(online=client is not None)
        self.limits = limits or OfflineLimits()
        self.on_record = on_record
        self.upload: Callable[[], object] | None = None  # build_kiosk: the agent's upload
        self.language = language  # receipts printed outside a session (settled on return)
        self.flows = flows or builtin_flows()
        self.outbox = outbox
        self.ballots = ballots
        self.psam: PsamClient | None = None
        self.tx: Transactions | None = None
        self._card: CardSession | None = None
        self._catalog: Catalog | None = None
        # The technician's tools and where bundles go (build_kiosk sets them).
        self.diagnostics: TechnicianTools | None = None
        self.support_dir: Path | None = None

    # -- devices ------------------------------------------------------------------
    @property
    def terminal_id(self) -> str:
        if self.psam is None:
            raise RuntimeError("no PSAM yet")
        return self.psam.terminal_id.hex().upper()

    def ready(self) -> Notice | None:
        if self.taken_out():
            return Notice.TAKEN_OUT_OF_SERVICE
        if self.psam is None:
            try:
                self.psam = PsamClient(ApduSession(self._open_psam()))
            except CardError as exc:
                log.warning("PSAM not usable: %s", exc)
                return Notice.NO_PSAM
            self.tx = Transactions(self.outbox, self.psam, self.clock)
        if not self.outbox.status().sales_allowed:
            return Notice.SALES_STOPPED
        return None

    def env(self) -> FlowEnv:
        """What a flow may use now (the card, if a session is on)."""
        return FlowEnv(clock=self.clock, network=self.network, limits=self.limits,
                       catalog_version=self.catalog().version,
                       terminal_id=self.terminal_id if self.psam else "", card=self._card,
                       tx=self.tx, outbox=self.outbox, client=self.client, store=self.store,
                       on_record=self.on_record, ballots=self.ballots,
                       upload=self.upload)  # fmt: skip

    def taken_out(self) -> bool:
        """A technician took the kiosk out of service (kept across restarts)."""
        return self.diagnostics is not None and self.diagnostics.out_of_service() is not None

    # -- the card ----------------------------------------------------------------------
    def check_card(self, ctx: JobContext) -> CardCheck:
        if self.psam is None:
            return CardCheck(None, refusal=Refusal.NO_PSAM)
        try:
            check = self._check(ctx)
        except DeviceError as exc:
            raise CardGone(str(exc)) from exc
        # Out of service: only an operator's card goes on (a technician brings it back).
        if check.role is Role.CITIZEN and check.refusal is None and self.taken_out():
            return CardCheck(None, refusal=Refusal.OUT_OF_SERVICE)
        return check

    def _check(self, ctx: JobContext) -> CardCheck:
        assert self.psam is not None
        ctx.progress("reading_card", 0.1)
        try:
            purse = Purse(ApduSession(self._open_card()))
            info, holder = purse.public_info(), purse.holder()
        except ApplicationLockedError:
            return CardCheck(None, refusal=Refusal.CARD_TERMINATED)
        except DeviceError:
            raise
        except CardError as exc:
            log.info("unreadable card: %s", exc)
            return CardCheck(None, refusal=Refusal.UNREADABLE)
        view = CardView(mask_card_number(holder.card_number), mask_name(holder.name), None,
                        info.expiry)  # fmt: skip
        asn = info.asn.hex().upper()
        # A purchase torn at DEBIT is settled from the card before anything else
        # touches it (the card's answer depends only on its committed state).
        ctx.progress("settling", 0.3)
        notices: list[Notice] = []
        mine = {it.id: it for it in self.outbox.unfinished() if it.asn == asn}
        for seq, outcome in settle_unfinished(self.outbox, [purse]):
            it = mine.get(IntentId(seq))
            if it is None:
                continue
            notices.append(Notice.settled(it.kind, outcome))
            if outcome == "completed" and self.receipts is not None:
                # The citizen left without the receipt of money that did move.
                ctx.progress("printing", None)
                self.receipts.print_settled(it.kind, it.fields, seq, holder,
                                            self.terminal_id, self.language)  # fmt: skip
        if prove_unsettled(self.outbox, purse):
            notices.append(Notice.PREVIOUS_PROVEN)
        if notices:
            self.on_record()
        ctx.check()
        ctx.progress("checking_hotlist", 0.5)
        if purse.blocked:
            return CardCheck(view, refusal=Refusal.CARD_BLOCKED, notices=tuple(notices))
        hotlist = self.store.hotlist() if self.store else None
        if hotlist is not None and hotlist.blocks(asn):
            try:
                purse.block(self.psam)
                log.warning("hotlisted card %s blocked on the card", asn)
            except CardError as exc:
                log.error("hotlisted card %s could not be blocked: %s", asn, exc)
            return CardCheck(view, refusal=Refusal.HOTLISTED, notices=tuple(notices))
        today = self.clock.now().date()
        if info.expiry < today:
            return CardCheck(view, refusal=Refusal.EXPIRED, notices=tuple(notices))
        if info.start > today:
            return CardCheck(view, refusal=Refusal.NOT_YET_VALID, notices=tuple(notices))
        ctx.progress("authenticating", 0.7)
        identity = Identity.of(purse)
        try:
            # Any role the issuer grants: the role picks the journey (a clerk's card is
            # refused by the citizen journey, a technician's opens maintenance).
            cert = identity.authenticate(trusted=self.trusted, now=self.clock.now(), role=None)
        except RoleError:
            return CardCheck(view, refusal=Refusal.NOT_CITIZEN_CARD, notices=tuple(notices))
        except CertificateExpiredError:
            return CardCheck(view, refusal=Refusal.EXPIRED, notices=tuple(notices))
        except AuthenticationError as exc:
            log.warning("card %s not genuine: %s", asn, exc)
            return CardCheck(view, refusal=Refusal.NOT_GENUINE, notices=tuple(notices))
        tries = identity.pin_tries()
        balance = purse.balance()
        view = CardView(view.card_number_masked, view.holder_masked, balance, info.expiry)
        if tries == 0:
            return CardCheck(view, refusal=Refusal.PIN_BLOCKED, notices=tuple(notices))
        ctx.progress("card_ok", 1.0)
        self._card = CardSession(purse, identity, info, holder)
        operator = None if cert.role is Role.CITIZEN else holder.card_number
        return CardCheck(view, pin_tries=tries, notices=tuple(notices),
                         online=self.network.online, role=cert.role,
                         operator_number=operator)  # fmt: skip

    def verify_pin(self, pin: str, ctx: JobContext) -> PinOutcome:
        card = self.env().need_card()
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
            self._catalog = Catalog.from_body(version, body if isinstance(body, dict) else {},
                                              self.flows)  # fmt: skip
        return self._catalog

    def _entry(self, service_id: str) -> tuple[ServiceEntry, Flow]:
        s = self.catalog().service(service_id)
        flow = self.flows.get(s.flow) if s else None
        if s is None or flow is None:
            raise ServiceUnavailable(Notice.UNKNOWN_SERVICE)
        return s, flow

    def menu(self, language: Language, *, card: bool = True) -> tuple[MenuGroup, ...]:
        """Each service once, under its first group; groups with no service hidden."""
        cat, env = self.catalog(), self.env()
        listed: dict[str, list[MenuItem]] = {g.id: [] for g in cat.groups}
        for s in cat.services.values():
            flow = self.flows.get(s.flow)
            group = next((g for g in s.groups if g in listed), None)
            if flow is None or group is None or (not card and flow.needs_card and s.needs.card):
                continue
            why = flow.why_not(s, env)
            price = s.payment.amount_fen if s.payment else None
            listed[group].append(MenuItem(s.id, pick(s.names, language), why is None, why, price))
        return tuple(MenuGroup(g.id, pick(g.names, language), tuple(listed[g.id]), g.kind)
                     for g in cat.groups if listed[g.id])  # fmt: skip

    def form(self, service_id: str) -> ServiceForm | None:
        s = self.catalog().service(service_id)
        if s is None or not s.fields:
            return None
        fields = tuple(f.spec() for f in s.fields)
        # A flow may fill in choices from a signed download (feedback's categories).
        adapt = getattr(self.flows.get(s.flow), "adapt_fields", None)
        if adapt is not None:
            fields = adapt(fields, self.env())
        return ServiceForm(s.id, s.names, fields)

    # -- services: each the flow's ------------------------------------------------------
    def prepare(
        self, service_id: str, values: Mapping[str, str], ctx: JobContext
    ) -> Quote | Answer:
        env = self.env()
        entry, flow = self._entry(service_id)
        if flow.needs_card and entry.needs.card:
            env.need_card()
        why = flow.why_not(entry, env)
        if why:
            raise ServiceUnavailable(Notice(why.value))
        try:
            result = flow.prepare(entry, values, env, ctx)
        except DeviceError as exc:
            raise CardGone(str(exc)) from exc
        return replace(result, flow=flow.name) if isinstance(result, Answer) else result

    def print_answer(self, answer: Answer, language: Language, ctx: JobContext) -> ReceiptState:
        flow = self.flows.get(answer.flow)
        slip = flow.answer_slip(answer, language, self.clock.now()) if flow else None
        if slip is None or self.receipts is None:
            return ReceiptState.NONE
        ctx.progress("printing", None)
        holder = self._card.holder if self._card else None
        return self.receipts.print_receipt(slip, holder, self.terminal_id, language)

    def release(self, quote: Quote) -> None:
        flow = self.flows.get(quote.flow)
        if flow is not None:
            flow.release(quote, self.env())

    def check_printer(self, ctx: JobContext) -> PrinterCheck:
        if self.receipts is None:
            return PrinterCheck(False, PrinterProblem.NO_PRINTER)
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
        env = self.env()
        flow = self.flows.get(quote.flow)
        if flow is None:
            raise ServiceUnavailable(Notice.UNKNOWN_SERVICE)
        try:
            outcome = flow.execute(quote, env, ctx, pins)
        except (DebitOutcomeUnknown, DeviceError) as exc:
            # The intent stays open; the card's next insertion settles it.
            raise CardGone(str(exc)) from exc
        if not outcome.ok or not quote.needs_receipt:
            return outcome
        if not receipt:
            return outcome.with_receipt(ReceiptState.SKIPPED)
        printable = flow.receipt(quote, outcome, language, self.clock.now())
        if printable is None or self.receipts is None:
            return outcome
        ctx.progress("printing", None)
        if getattr(flow, "anonymous_receipt", False) and isinstance(printable, Slip):
            # A poll's slip names no card and is kept nowhere: card and token hash
            # must not meet on paper or in the print queue.
            return outcome.with_receipt(self.receipts.print_unkept(
                printable, self.terminal_id, language))  # fmt: skip
        holder = env.card.holder if env.card else None
        return outcome.with_receipt(self.receipts.print_receipt(
            printable, holder, self.terminal_id, language))  # fmt: skip
