"""Bill lookup: the kiosk asks the central, the central asks the biller's system."""

from __future__ import annotations

import sqlalchemy as sa

from backend_sync.central.departments import DepartmentError, DepartmentUnavailable
from backend_sync.central.models import orders
from backend_sync.central.service import Central, Refused, check_signed
from backend_sync.wire import Bill, BillQueryRequest, record_dict

__all__ = ["lookup_bill", "taken_references"]


def taken_references(central: Central, payee: str, refs: list[str]) -> set[str]:
    """References of ``payee`` already held or paid at the central."""
    if not refs:
        return set()
    q = sa.select(orders.c.reference).where(
        orders.c.payee == payee,
        orders.c.reference.in_(refs),
        orders.c.status.in_(("held", "paid")),
    )
    with central.engine.connect() as conn:
        return set(conn.execute(q).scalars())


def lookup_bill(central: Central, req: BillQueryRequest) -> Bill:
    """The oldest unpaid bill; ``bill_not_found`` (404) or ``no_biller`` (503)."""
    b = req.body
    with central.engine.connect() as conn:
        check_signed(central, conn, b.terminal_id, record_dict(b), req.signature)
    if central.bills is None:
        raise Refused(503, "no_biller", b.payee)
    try:
        unpaid = central.bills.unpaid(b.payee, b.account)
    except DepartmentUnavailable as exc:
        raise Refused(503, "department_unavailable", str(exc)[:200]) from exc
    except DepartmentError as exc:
        raise Refused(502, "department_bad_answer", str(exc)[:200]) from exc
    # A bill whose order is held or paid here is never offered again, even before
    # its biller has been told of the payment.
    taken = taken_references(central, b.payee, [u.reference for u in unpaid])
    found = next((u for u in unpaid if u.reference not in taken), None)
    if found is None:
        raise Refused(404, "bill_not_found", f"{b.payee} {b.account}")
    return Bill(payee=found.payee, account=found.account, reference=found.reference,
                period=found.period, amount=found.amount, biller=found.biller)  # fmt: skip
