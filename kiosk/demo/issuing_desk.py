"""The TEST ONLY demo wallet's issuing desk: its cards issued through the central's
issuance path, as a counter issues one (docs/counter.md, "The demo wallet").

For each demo person an application is recorded at the central (one operation id, one
card: ``issued_cards``), the central assigns the card number and its issuer computes
every personalization command (:mod:`backend_sync.central.issuance`); the desk relays
them to the blank chip with the counter's own relay
(:func:`kiosk.counter.issue.relay_personalization`). The opening balances follow
through the central's load path (:mod:`kiosk.opening_loads`).

What differs from a counter, and why: the desk sits at the central (the requests are
the central's function calls, not HTTP), and the applications are approved by the
desk's bootstrap operator ``DESK_OPERATOR`` instead of a clerk's card, because the
wallet's first clerk card is itself one of these cards — the way a city makes its
first operator cards at the issuer. The audit names that operator. Operator cards
(clerk, technician, supervisor) are issued here only: the counter's route issues
citizen cards. The desk's issuer has its own card-number series (``DESK_ASN_PREFIX``)
and takes no deposit or fee (the demo people have no drawer to pay from).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync.central import counter, issuance, operators
from backend_sync.central.counter_models import puk_mailers
from backend_sync.central.issuance import CentralIssuer
from backend_sync.central.operators import Operator
from backend_sync.central.service import Central, Refused
from backend_sync.counter_wire import (
    IssueCertify,
    IssueOpen,
    IssueScript,
    IssueWrite,
    OpFinish,
    ShiftClose,
    ShiftOpen,
)
from backend_sync.terminal.counter_client import new_op_id
from cardlib.apdu import ApduSession
from cardlib.certs import Role
from cardlib.keys import IssuerKeys
from cardlib.layout import CARD_AID, Ins
from kiosk.counter.issue import relay_personalization

__all__ = [
    "DESK_ASN_PREFIX",
    "DESK_OPERATOR_NUMBER",
    "DeskApplication",
    "DeskCard",
    "IssuingDesk",
    "desk_issuer",
]

DESK_ASN_PREFIX = "32158"  # the demo wallet's series: 3215 8 and a 15-digit serial
DESK_OPERATOR_NUMBER = "TEST-ONLY-issuing-desk"


@dataclass(frozen=True)
class DeskApplication:
    """One demo person's application (holder data as the counter's form has it)."""

    name: str
    id_masked: str
    birth: dt.date
    pin: str
    role: Role = Role.CITIZEN


@dataclass(frozen=True)
class DeskCard:
    """A card the desk issued: its number and the PUK from its sealed mailer (TEST
    ONLY: the demo wallet keeps it, a city's mailer goes to the holder)."""

    asn: str
    puk: str
    op_id: str


class IssuingDesk:
    """Issues cards at ``central`` (which must have an ``issuer``) with its bootstrap
    operator, on a drawer of its own, its shift open while the desk is (``with``)."""

    def __init__(self, central: Central, terminal_id: str) -> None:
        self.central = central
        self.terminal_id = terminal_id.upper()
        self.drawer = f"{self.terminal_id}-desk"
        self.operator = Operator(asn="", number=DESK_OPERATOR_NUMBER, role=Role.SUPERVISOR,
                                 terminal_id=self.terminal_id)  # fmt: skip

    def _audited(self, action: str, fn: Callable[[], IssueScript], op_id: str) -> IssueScript:
        try:
            out = fn()
        except Refused as exc:
            operators.audit(self.central, self.operator, action, exc.reason, op_id=op_id)
            raise
        operators.audit(self.central, self.operator, action, "ok", op_id=op_id)
        return out

    def __enter__(self) -> IssuingDesk:
        c, tid = self.central, self.terminal_id
        with c.engine.connect() as conn:
            is_open = counter.open_shift_row(conn, self.drawer) is not None
        if not is_open:
            body = ShiftOpen(terminal_id=tid, ts=c.now_ms(), drawer=self.drawer, float_fen=0)
            counter.open_shift(c, self.operator, body)
        return self

    def __exit__(self, *exc: object) -> None:
        c = self.central
        counter.close_shift(c, self.operator, ShiftClose(terminal_id=self.terminal_id,
                            ts=c.now_ms(), drawer=self.drawer, counted_fen=0))  # fmt: skip

    def issue(self, apdu: ApduSession, app: DeskApplication) -> DeskCard:
        """Personalize the blank card in ``apdu`` for ``app`` through the central."""
        c, op, op_id, tid = self.central, self.operator, new_op_id(), self.terminal_id
        apdu.send_apdu(0x00, Ins.SELECT, 0x04, 0x00, CARD_AID, le=256)

        def open_(serial: bytes, challenge: bytes) -> IssueScript:
            b = IssueOpen(terminal_id=tid, ts=c.now_ms(), op_id=op_id, drawer=self.drawer,
                          name=app.name, id_masked=app.id_masked,
                          birth=app.birth.strftime("%Y%m%d"), opening_fen=0,
                          chip_serial=serial.hex().upper(),
                          challenge=challenge.hex().upper())  # fmt: skip
            return self._audited("issue_open", lambda: issuance.issue_open(c, op, b, role=app.role),
                                 op_id)  # fmt: skip

        def write(cryptogram: bytes) -> IssueScript:
            b = IssueWrite(terminal_id=tid, ts=c.now_ms(), op_id=op_id,
                           card_cryptogram=cryptogram.hex().upper(), pin=app.pin)  # fmt: skip
            return self._audited("issue_write", lambda: issuance.issue_write(c, op, b), op_id)

        def certify(key_answer: bytes) -> IssueScript:
            b = IssueCertify(terminal_id=tid, ts=c.now_ms(), op_id=op_id,
                             key_answer=key_answer.hex().upper())  # fmt: skip
            return self._audited("issue_certify", lambda: issuance.issue_certify(c, op, b), op_id)

        certified = relay_personalization(apdu, open_=open_, write=write, certify=certify)
        counter.finish_op(c, op, OpFinish(terminal_id=tid, ts=c.now_ms(), op_id=op_id,
                                          outcome="done"))  # fmt: skip
        operators.audit(c, op, "op_done", "ok", asn=certified.asn, op_id=op_id)
        with c.engine.connect() as conn:
            puk = conn.execute(
                sa.select(puk_mailers.c.puk).where(puk_mailers.c.asn == certified.asn)
            ).scalar_one()
        return DeskCard(asn=certified.asn, puk=str(puk), op_id=op_id)


def desk_issuer(
    keys: IssuerKeys, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
    *, max_balance: int,
) -> CentralIssuer:  # fmt: skip
    """The desk's issuer: the wallet's keys and CA, the desk's series, no deposit or fee."""
    return CentralIssuer(keys, ca_key, ca_cert, issuer_id=keys.issuer_id or CentralIssuer.issuer_id,
                         max_balance=max_balance, deposit_fen=0, fee_fen=0,
                         asn_prefix=DESK_ASN_PREFIX)  # fmt: skip
