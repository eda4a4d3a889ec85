"""Bill lookup: the kiosk asks the central, the central asks the biller's system."""

from __future__ import annotations

from backend_sync.central.service import Central, Refused, check_signed
from backend_sync.wire import Bill, BillQueryRequest, record_dict

__all__ = ["lookup_bill"]


def lookup_bill(central: Central, req: BillQueryRequest) -> Bill:
    """The oldest unpaid bill; ``bill_not_found`` (404) or ``no_biller`` (503)."""
    b = req.body
    with central.engine.connect() as conn:
        check_signed(central, conn, b.terminal_id, record_dict(b), req.signature)
    if central.bills is None:
        raise Refused(503, "no_biller", b.payee)
    found = central.bills.lookup(b.payee, b.account)
    if found is None:
        raise Refused(404, "bill_not_found", f"{b.payee} {b.account}")
    return Bill(payee=found.payee, account=found.account, reference=found.reference,
                period=found.period, amount=found.amount, biller=found.biller)  # fmt: skip
