"""Online load authorization and the suspense / void rule (docs/sync.md, "Loads").

Authorizing posts funding -> suspense, from the funding account the request
names (funding.py: a cash drawer, a bank, a deposit, the demo's own account).
The card's load TAC (a load record, or a proof record from GET TRANSACTION
PROVE) moves suspense -> card. An authorization is voided (suspense -> its
funding account) when the card itself shows the credit never happened: a new
INITIALIZE FOR LOAD whose MAC1 verifies with the same online ATC. When the card
shows the credit did happen (a later MAC1 with a higher online ATC) the load is
confirmed. Otherwise it is voided after ``load_void_after_s`` and flagged, so a
clerk can re-credit if the card turns up with the money.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from backend_sync.central import held_loads, ledger
from backend_sync.central.funding import FundingAccount, UnknownFunding
from backend_sync.central.models import anomalies, cards, load_auths
from backend_sync.central.providers import FundingRefused
from backend_sync.central.service import Central, Refused, check_signed
from backend_sync.wire import AuthorizeLoad, AuthorizeLoadRequest, LoadAuthorization, record_dict

__all__ = ["authorize_checked", "authorize_load", "void_expired"]


def authorize_load(central: Central, req: AuthorizeLoadRequest) -> LoadAuthorization:
    """Check the card's load MAC1, hold the amount in suspense, return MAC2."""
    try:
        return _authorize(central, req)
    except Refused as exc:
        central.count_refusal(exc.reason, req.body.terminal_id, exc.detail)
        raise


def _source_code(funding: str, terminal_id: str) -> tuple[str, bool]:
    """The ledger account a load's money comes from, and whether it is charged online
    (a bank); money held for the card (a bike deposit, a refunded fare) comes from
    the account it is held in (held_loads.py)."""
    held = held_loads.source_account(funding)
    if held is not None:
        return held, False
    source = _source(funding, terminal_id)
    return source.code, source.charged_online


def _source(funding: str, terminal_id: str) -> FundingAccount:
    try:
        return FundingAccount.parse(funding, terminal_id=terminal_id)
    except UnknownFunding as exc:
        raise Refused(422, "unknown_funding", str(exc)) from exc


def _resolve(
    conn: sa.Connection,
    central: Central,
    auth: sa.Row[Any],
    status: str,
) -> None:
    auth_id, asn, amount = auth.id, auth.asn, auth.amount
    # A void returns the money to the account it came from.
    source_code, charged_online = _source_code(auth.funding, auth.terminal_id)
    ids = ledger.account_ids(conn, [ledger.SUSPENSE, source_code, ledger.card_account(asn)])
    dest = ledger.card_account(asn) if status == "confirmed" else source_code
    ledger.post(
        conn,
        [
            ledger.posting(
                f"load_{status}", auth_id, (ids[ledger.SUSPENSE], -amount), (ids[dest], amount)
            )
        ],
        central.now_ms(),
    )
    if held_loads.source_account(auth.funding) is not None:
        held_loads.resolved(conn, [auth_id], status, central.now_ms())
    if status == "voided" and charged_online and central.funding is not None:
        central.funding.refund(source=auth.funding, asn=asn, amount=amount, ref=auth_id)
    conn.execute(
        load_auths.update()
        .where(load_auths.c.id == auth_id)
        .values(status=status, resolved_ms=central.now_ms())
    )


def _authorize(central: Central, req: AuthorizeLoadRequest) -> LoadAuthorization:
    b = req.body
    with central.engine.begin() as conn:
        check_signed(central, conn, b.terminal_id, record_dict(b), req.signature)
        return _authorize_in(central, conn, b)


def authorize_checked(central: Central, conn: sa.Connection, b: AuthorizeLoad) -> LoadAuthorization:
    """:func:`authorize_load` for a caller that has checked the request's signatures
    itself (the counter's cash top-up, signed by terminal and operator), in its
    transaction ``conn``."""
    return _authorize_in(central, conn, b)


def _authorize_in(central: Central, conn: sa.Connection, b: AuthorizeLoad) -> LoadAuthorization:
    card = conn.execute(sa.select(cards).where(cards.c.asn == b.asn)).first()
    if card is None:
        raise Refused(404, "unknown_card", b.asn)
    if card.status != "active":
        raise Refused(403, "card_not_active", b.asn)
    if (card.algorithm, card.key_version) != (b.algorithm, b.key_version):
        raise Refused(403, "wrong_key")
    mac1, mac2 = central.crypto.load_macs(
        asn=b.asn,
        algorithm=b.algorithm,
        key_version=b.key_version,
        card_random=b.card_random,
        atc=b.atc,
        balance_before=b.balance_before,
        amount=b.amount,
        terminal_id=b.terminal_id,
        date=b.date,
        time=b.time,
    )
    if mac1 != b.mac1:
        raise Refused(403, "bad_mac1")
    same = conn.execute(
        sa.select(load_auths).where(
            load_auths.c.terminal_id == b.terminal_id,
            load_auths.c.request_id == b.request_id,
        )
    ).first()
    if same is not None:
        if same.mac1 != b.mac1:
            raise Refused(409, "request_id_reused")
        return LoadAuthorization(load_id=same.id, mac2=same.mac2, status=same.status)
    if b.amount <= 0 or b.balance_before + b.amount > central.max_purse_balance:
        raise Refused(422, "amount_out_of_range")
    # The MAC1 just verified proves the card's online ATC: settle earlier
    # authorizations of this card that are still open.
    open_auths = conn.execute(
        sa.select(load_auths).where(load_auths.c.asn == b.asn, load_auths.c.status == "authorized")
    ).all()
    source_code, charged_online = _source_code(b.funding, b.terminal_id)
    for a in open_auths:
        status = "voided" if a.atc >= b.atc else "confirmed"
        _resolve(conn, central, a, status)
    auth_id = uuid.uuid4().hex
    if held_loads.source_account(b.funding) is not None:
        # Only the card's own held money, to the fen, in this transaction.
        held_loads.claim(conn, b.funding, b.asn, b.amount, auth_id)
    if charged_online and central.funding is not None:
        # The citizen's bank pays first; a refusal leaves nothing posted.
        try:
            central.funding.charge(source=b.funding, asn=b.asn, amount=b.amount, ref=auth_id)
        except FundingRefused as exc:
            raise Refused(402, "funding_refused", exc.reason) from exc
    ids = ledger.account_ids(conn, [ledger.SUSPENSE, source_code])
    ledger.post(
        conn,
        [
            ledger.posting(
                "load_authorized",
                auth_id,
                (ids[source_code], -b.amount),
                (ids[ledger.SUSPENSE], b.amount),
            )
        ],
        central.now_ms(),
    )
    conn.execute(
        load_auths.insert().values(
            id=auth_id,
            terminal_id=b.terminal_id,
            request_id=b.request_id,
            asn=b.asn,
            atc=b.atc,
            amount=b.amount,
            balance_before=b.balance_before,
            mac1=mac1,
            mac2=mac2,
            card_date=b.date,
            card_time=b.time,
            funding=b.funding,
            status="authorized",
            created_ms=central.now_ms(),
        )
    )
    return LoadAuthorization(load_id=auth_id, mac2=mac2, status="authorized")


def void_expired(central: Central) -> int:
    """Void authorizations older than the window with no card proof either way."""
    limit = central.now_ms() - central.load_void_after_s * 1000
    n = 0
    with central.engine.begin() as conn:
        rows = conn.execute(
            sa.select(load_auths).where(
                load_auths.c.status == "authorized", load_auths.c.created_ms < limit
            )
        ).all()
        for a in rows:
            _resolve(conn, central, a, "voided")
            conn.execute(
                anomalies.insert().values(
                    terminal_id=a.terminal_id,
                    asn=a.asn,
                    kind="load_voided_unconfirmed",
                    detail=a.id,
                    at_ms=central.now_ms(),
                )
            )
            n += 1
    return n
