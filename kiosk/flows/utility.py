"""``utility``: water, electricity and gas bills — the card holder's own household
(the account left empty) or any account typed — shown with the oldest unpaid one
to pay from the purse.

It is the ``bill`` flow with another lookup: the bills come from the utility through
the central (``CentralClient.utility_bills``), which leaves out every bill whose
order is held or paid there; paying holds the order and debits the purse exactly as
:class:`~kiosk.flows.bill.BillFlow` does, and the central tells the utility once the
purchase is posted. A paid bill is therefore never offered again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kiosk.codes import FieldError
from kiosk.core.views import Language, pick
from kiosk.core.worker import JobContext
from kiosk.flows.base import (
    Answer,
    FlowEnv,
    FormError,
    PayeeRef,
    PayeeSource,
    Quote,
    QuoteKind,
)
from kiosk.flows.bill import BillFlow
from kiosk.flows.city import ask, money
from kiosk.money import ascii_digits

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry

__all__ = ["UtilityFlow"]

UTILITIES = ("water", "electricity", "gas")


class UtilityFlow(BillFlow):
    name = "utility"
    fields = ("account",)  # may be left empty: the holder's own household

    def check(self, entry: ServiceEntry) -> str | None:
        problem = super().check(entry)
        if problem is None and (entry.payment is None or entry.payment.utility not in UTILITIES):
            problem = f"a utility service needs payment.utility, one of {UTILITIES}"
        return problem

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        assert entry.payment is not None and entry.payment.utility  # check() holds it
        utility, payee = entry.payment.utility, entry.payment.payee
        account = values.get("account", "").strip()
        if account and not ascii_digits(account):
            raise FormError(FieldError.NOT_DIGITS, "account")
        balance = card.purse.balance()
        got = ask(env, ctx, lambda c: c.utility_bills(asn=card.asn_hex, utility=utility,
                                                      account=account or None),
                  not_found={"utility_bills_not_found": (FieldError.BILL_NOT_FOUND,
                                                         "account")})  # fmt: skip
        if not got.bills:
            if account:  # a number typed that has nothing to pay: check the number
                raise FormError(FieldError.BILL_NOT_FOUND, "account")
            return Answer(entry.id, entry.names, details=(("account", got.account),
                                                          ("bills", "v.none")))  # fmt: skip
        bill, rest = got.bills[0], got.bills[1:]
        biller = entry.payment.biller or pick(entry.names, Language.ZH_HANS)
        # The oldest first; how many there are in all, so none comes as a surprise.
        details = (("account", bill.account), ("period", bill.period),
                   ("bills", str(1 + len(rest))))  # fmt: skip
        if balance < bill.amount:
            # Not enough to pay here: the citizen still sees what is due.
            return Answer(entry.id, entry.names, details=(*details, ("bill", money(bill.amount)),
                          ("payable", "v.balance_short")))  # fmt: skip
        ref = PayeeRef(PayeeSource.PAYMENT_ORDER, entry.id, env.catalog_version, bill.reference)
        return Quote(entry.id, entry.names, self.name, QuoteKind.DEBIT, bill.amount, payee,
                     details, balance, payee_ref=ref,
                     data={"reference": bill.reference, "utility": utility, "biller": biller,
                           "account": bill.account, "period": bill.period})  # fmt: skip
