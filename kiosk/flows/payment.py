"""Paying from the purse, shared by the flows that debit it (``bill``, ``fixed_price``).

The purchase itself is :meth:`kiosk.services.transactions.Transactions.purchase`
(intent written before DEBIT); here are the refusals it can meet, as outcomes, and
the purchase receipt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from backend_sync.terminal.client import CentralRefused, CentralUnavailable
from backend_sync.terminal.outbox import SalesStopped
from cardlib.errors import ApplicationBlockedError, InsufficientBalanceError
from kiosk.codes import OutcomeCode
from kiosk.core.views import Language, pick
from kiosk.core.worker import JobContext
from kiosk.flows.base import FlowEnv, Outcome, OutcomeKind, PayeeSource, Quote
from kiosk.receipts.layouts import Purchase, TopUp

__all__ = ["load_onto_purse", "load_receipt", "pay_from_purse", "purchase_receipt"]


def pay_from_purse(
    quote: Quote, env: FlowEnv, ctx: JobContext, *, order_id: str | None = None
) -> Outcome:
    """Debit ``quote.amount_fen`` for ``quote.payee``. Raises DebitOutcomeUnknown or a
    DeviceError when the card left mid-way (the intent stays open, settled later)."""
    card, tx = env.need_card(), env.need_tx()
    ctx.progress("debiting", None)
    hotlist = env.store.hotlist().version if env.store else None
    # A fixed-price sale names its catalog item: the central derives the payee from it.
    ref = quote.payee_ref
    item = ref.source is PayeeSource.CATALOG_ITEM and ref.catalog_version is not None
    try:
        done = tx.purchase(card.purse, quote.amount_fen, payee=quote.payee, order_id=order_id,
                           hotlist_version=hotlist,
                           catalog_version=ref.catalog_version if item else None,
                           service_id=ref.service_id if item else None)  # fmt: skip
    except InsufficientBalanceError:
        return Outcome(False, OutcomeCode.INSUFFICIENT_BALANCE)
    except SalesStopped:
        return Outcome(False, OutcomeCode.SALES_STOPPED)
    except ApplicationBlockedError:
        return Outcome(False, OutcomeCode.CARD_BLOCKED)
    env.on_record()  # a record to upload now
    return Outcome(True, OutcomeCode.PAID, OutcomeKind.PAYMENT, quote.amount_fen,
                   done.balance_after, done.transaction_id, ttc=done.ttc)  # fmt: skip


def purchase_receipt(
    quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
) -> Purchase:
    return Purchase(quote.payee, pick(quote.titles, language), quote.amount_fen,
                    outcome.balance_after_fen or 0, outcome.transaction_id or "-",
                    outcome.ttc or 0, at)  # fmt: skip


def load_onto_purse(
    env: FlowEnv,
    quote: Quote,
    funding: str,
    code: OutcomeCode,
    *,
    refused: Callable[[CentralRefused], OutcomeCode] | None = None,
    reference: str = "",
) -> Outcome:
    """An online load of ``quote.amount_fen`` from ``funding`` (the central gives MAC2):
    the outcome ``code`` when credited; a refusal in words (``refused`` maps it, else
    the central's reason), the central unreachable (offline now), sales stopped."""
    card, tx = env.need_card(), env.need_tx()
    if env.client is None:
        return Outcome(False, OutcomeCode.NEEDS_NETWORK, OutcomeKind.LOAD)
    try:
        done = tx.load(card.purse, env.client, quote.amount_fen, funding=funding)
    except CentralRefused as exc:
        why = refused(exc) if refused else OutcomeCode.from_central(exc.reason)
        return Outcome(False, why, OutcomeKind.LOAD)
    except CentralUnavailable:
        env.central_down()
        return Outcome(False, OutcomeCode.NEEDS_NETWORK, OutcomeKind.LOAD)
    except SalesStopped:
        return Outcome(False, OutcomeCode.SALES_STOPPED, OutcomeKind.LOAD)
    env.on_record()  # a record to upload now
    return Outcome(True, code, OutcomeKind.LOAD, quote.amount_fen, done.balance_after,
                   done.transaction_id, reference=reference)  # fmt: skip


def load_receipt(
    quote: Quote, outcome: Outcome, at: dt.datetime, funding_account: str = ""
) -> TopUp:
    """The receipt of a load onto the purse (a top-up, a deposit or a fare given back)."""
    after = outcome.balance_after_fen or 0
    before = quote.balance_fen if quote.balance_fen is not None else after - quote.amount_fen
    return TopUp(quote.amount_fen, before, after, outcome.transaction_id or "-", at,
                 funding_account=funding_account)  # fmt: skip
