"""Paid orders reach their biller: a payment notice per order, keyed by the order id.

The notice is sent after the purchase has posted (outside the posting
transaction: a slow biller never holds the ledger); one still pending because
the biller was down is sent again on the next upload or by the admin call. The
biller acts once per key, and the central never re-offers a bill whose order is
held or paid, even before the notice arrives.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from backend_sync.central.departments import BILLERS, DepartmentError, DepartmentRefused
from backend_sync.central.models import orders
from backend_sync.central.service import Central
from backend_sync.central.service_models import bus_tickets, department_notices

__all__ = [
    "deliver_paid_notices",
    "notify_after_posting",
    "pending_notices",
    "release_unpaid_seats",
]


def pending_notices(central: Central) -> list[tuple[str, str, str, int]]:
    """Paid orders of a department payee whose biller has not confirmed the notice."""
    q = (
        sa.select(orders.c.id, orders.c.payee, orders.c.reference, orders.c.amount)
        .select_from(
            orders.outerjoin(department_notices, department_notices.c.order_id == orders.c.id)
        )
        .where(
            orders.c.status == "paid",
            orders.c.payee.in_(list(BILLERS)),
            department_notices.c.delivered_ms.is_(None),
            # A notice the biller refused (4xx) waits for staff, not for a retry.
            sa.or_(
                department_notices.c.last_error.is_(None),
                sa.not_(department_notices.c.last_error.startswith("refused")),
            ),
        )
        .order_by(orders.c.created_ms)
    )
    with central.engine.connect() as conn:
        return [(str(a), str(b), str(c), int(d)) for a, b, c, d in conn.execute(q)]


def deliver_paid_notices(central: Central) -> int:
    """Send every pending notice once; how many the billers confirmed."""
    dept = central.departments
    if dept is None:
        return 0
    done = 0
    # Two runs at once are harmless: the biller answers a repeated key with its first answer.
    for oid, payee, ref, amount in pending_notices(central):
        error: str | None = None
        try:
            dept.notify_paid(payee=payee, reference=ref, order_id=oid, amount=int(amount))
        except DepartmentRefused as exc:
            error = f"refused {exc.reason}"[:200]
        except DepartmentError as exc:
            error = str(exc)[:200]
        delivered = None if error else central.now_ms()
        with central.engine.begin() as conn:
            n = conn.execute(
                department_notices.update()
                .where(department_notices.c.order_id == oid)
                .values(
                    attempts=department_notices.c.attempts + 1,
                    delivered_ms=delivered,
                    last_error=error,
                )
            ).rowcount
            if n == 0:
                conn.execute(
                    department_notices.insert().values(
                        order_id=oid, attempts=1, delivered_ms=delivered, last_error=error
                    )
                )
        done += error is None
    return done


def release_unpaid_seats(central: Central) -> int:
    """Give the station back the seats of bus tickets whose order was released (the
    kiosk's debit did not happen); keyed by the ticket, so a retry releases once."""
    dept = central.departments
    if dept is None:
        return 0
    q = (
        sa.select(bus_tickets.c.ticket_id)
        .join(orders, orders.c.id == bus_tickets.c.order_id)
        .where(bus_tickets.c.status == "held", orders.c.status == "released")
    )
    with central.engine.connect() as conn:
        tickets = list(conn.execute(q).scalars())
    done = 0
    for t in tickets:
        try:
            dept.release_seat(key=f"rf-{t}", seat_id=t)
        except DepartmentRefused:
            pass  # departed, or the station no longer knows it: nothing to give back
        except DepartmentError:
            continue  # down: tried again after the next upload
        with central.engine.begin() as conn:
            conn.execute(
                bus_tickets.update()
                .where(bus_tickets.c.ticket_id == t, bus_tickets.c.status == "held")
                .values(status="released")
            )
        done += 1
    return done


def _after_posting(central: Central) -> None:
    deliver_paid_notices(central)
    release_unpaid_seats(central)


def notify_after_posting(central: Central) -> None:
    """Called after an upload posted: send pending notices and release unpaid seats on
    a thread of their own, so the terminal's upload is answered without waiting."""
    if central.departments is None:
        return
    threading.Thread(target=_after_posting, args=(central,), daemon=True).start()
