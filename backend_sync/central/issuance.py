"""Issuing a card at a counter: the central personalizes, the counter relays.

The central's issuer (:class:`CentralIssuer`: the personalization and card master
keys and the issuer CA key, where an HSM would sit; configured apart from the load
and TAC keys of :class:`backend_sync.central.cardcrypto.CardCrypto`) computes every
personalization command with :class:`cardlib.perso_script.PersoScript`; the counter
sends them to the blank card and relays the card's answers (docs/sync.md, "Counter
operations"). Steps, each a clerk-signed request of one operation id:

1. **open**: the application (holder data, opening balance, drawer) and the blank
   card's chip serial and challenge. The operation is recorded and a card number
   assigned (once per operation: one card per application); the session opened.
   Asked again (a tear, another blank card) it opens a new session for the same
   number — the card's own MUTUAL AUTHENTICATE throws away whatever was staged; once
   a certificate was made for a chip, only that chip (a tear before its ACTIVATE
   answered), so an application never yields two cards.
2. **write**: the card's cryptogram and the PIN the citizen typed → the STORE DATA
   commands (keys, PIN and a PUK the central generates, all encrypted under the
   session key) and GENERATE KEY PAIR. The PUK goes to the sealed-mailer queue.
3. **certify**: the card's public point (MAC-checked) → the certificate, its STORE
   DATA commands and ACTIVATE; the card registered, the deposit and fee posted from
   the drawer (once), the operation ``personalized``. The opening balance follows
   through the load path (``/v1/counter/ops/topup`` with this operation id).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync.central import deposits, ledger, registry
from backend_sync.central.counter import drawer_account, open_shift_row
from backend_sync.central.counter_close import deposit_account
from backend_sync.central.counter_models import counter_ops, issued_cards, puk_mailers
from backend_sync.central.holder_index import holder_columns
from backend_sync.central.models import cards
from backend_sync.central.operators import Operator
from backend_sync.central.service import Central, Refused
from backend_sync.counter_wire import (
    IssueCertify,
    IssueOpen,
    IssueScript,
    IssueWrite,
    PersoCommand,
    PinReset,
    PinResetAnswer,
)
from cardlib import crypto
from cardlib.certs import Role, issue_card_certificate
from cardlib.keys import IssuerKeys, KeyRole
from cardlib.layout import Holder, PublicInfo
from cardlib.perso_script import Command, PersoScript, PersoScriptError, card_dates

__all__ = [
    "CentralIssuer",
    "issue_certify",
    "issue_open",
    "issue_write",
    "load_issuer",
    "reset_pin",
]

ASN_PREFIX = "32159"  # cards issued at counters: 3215 9 and a 15-digit serial


@dataclass
class CentralIssuer:
    """The issuer's keys and the city's card rules (fen)."""

    keys: IssuerKeys
    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate
    issuer_id: bytes = bytes.fromhex("3215000000000001")
    years: int = 10
    key_version: int = 1
    max_balance: int = 100_000
    overdraft_limit: int = 0
    deposit_fen: int = 2_000  # the card's deposit, refunded when it is closed
    fee_fen: int = 0  # the issuing fee, the city's revenue (``fee:issuance``)
    # The card numbers this issuer assigns: the prefix and a 15-digit sequence (the
    # counters' series; the TEST ONLY demo wallet's desk has a series of its own).
    asn_prefix: str = ASN_PREFIX


def load_issuer(
    root: Path, *, production: bool = False, deposit_fen: int = 2_000, fee_fen: int = 0
) -> CentralIssuer:
    """The issuer from a folder: ``issuer-keys.json`` (``production`` refuses TEST ONLY
    keys), ``issuer-ca.crt`` and ``issuer-ca.key`` (PEM)."""
    keys = IssuerKeys.load(root / "issuer-keys.json", production=production)
    cert = x509.load_pem_x509_certificate((root / "issuer-ca.crt").read_bytes())
    key = serialization.load_pem_private_key((root / "issuer-ca.key").read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the issuer CA key is not an EC key")
    return CentralIssuer(keys, key, cert, issuer_id=keys.issuer_id or CentralIssuer.issuer_id,
                         deposit_fen=deposit_fen, fee_fen=fee_fen)  # fmt: skip


def _issuer(central: Central) -> CentralIssuer:
    issuer: CentralIssuer | None = getattr(central, "issuer", None)
    if issuer is None:
        raise Refused(503, "no_issuer", "this central does not issue cards")
    return issuer


def _cmds(cmds: list[Command]) -> list[PersoCommand]:
    return [PersoCommand(**c.to_json()) for c in cmds]


def _next_asn(conn: sa.Connection, prefix: str) -> str:
    last = conn.execute(
        sa.select(sa.func.max(issued_cards.c.asn)).where(issued_cards.c.asn.like(prefix + "%"))
    ).scalar()
    n = int(str(last)[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{n:0{20 - len(prefix)}d}"


def issue_open(
    central: Central, op: Operator, b: IssueOpen, *, role: Role = Role.CITIZEN
) -> IssueScript:
    """Step 1 (see the module doc). ``role``: the certificate's role; the counter's
    route issues citizen cards only; an operator card's application is made at the
    central's own desk (the TEST ONLY demo wallet's: ``kiosk.demo.issuing_desk``)."""
    issuer = _issuer(central)
    holder = {"name": b.name, "id_masked": b.id_masked, "birth": b.birth}
    if role is not Role.CITIZEN:
        holder["role"] = role.value
    now = central.now_ms()
    with central.engine.begin() as conn:
        row = conn.execute(sa.select(issued_cards).where(issued_cards.c.op_id == b.op_id)).first()
        opr = conn.execute(sa.select(counter_ops).where(counter_ops.c.op_id == b.op_id)).first()
        if opr is not None and (opr.kind != "issue" or int(opr.amount) != b.opening_fen
                                or opr.drawer != b.drawer):  # fmt: skip
            raise Refused(409, "op_id_reused", b.op_id)
        if row is not None and json.loads(row.holder) != holder:
            raise Refused(409, "op_id_reused", "another application under this id")
        if row is not None and row.step == "certified" and row.chip_serial != b.chip_serial:
            # A certificate went to that chip: only it may finish (a tear at ACTIVATE),
            # never a second card with the same number.
            raise Refused(409, "card_issued", row.asn)
        funding = None
        if b.replaces is not None:
            rep = conn.execute(
                sa.select(counter_ops).where(counter_ops.c.op_id == b.replaces)
            ).first()
            if rep is None or rep.kind != "replace" or rep.state not in ("authorized", "done"):
                raise Refused(409, "no_carry", "transfer the old card's balance first")
            if int(rep.amount) != b.opening_fen:
                raise Refused(409, "carry_mismatch", f"the carry is {rep.amount} fen")
            funding = f"deposit:carry-{b.replaces}"
        if opr is None:
            if open_shift_row(conn, b.drawer) is None:
                raise Refused(409, "no_open_shift", b.drawer)
            if b.opening_fen > issuer.max_balance:
                raise Refused(422, "amount_out_of_range")
        try:
            Holder(b.name, "0" * 20, b.id_masked, _date(b.birth)).to_bytes()
        except ValueError as exc:
            raise Refused(422, "bad_holder", str(exc)) from exc
        script, cmd = PersoScript.open(
            issuer.keys.master(KeyRole.PERSONALIZATION, 1), issuer.keys.algorithm,
            bytes.fromhex(b.chip_serial), bytes.fromhex(b.challenge),
        )  # fmt: skip
        channel = json.dumps(script.state())
        if row is None:
            asn = _next_asn(conn, issuer.asn_prefix)
            conn.execute(issued_cards.insert().values(
                op_id=b.op_id, asn=asn, holder=json.dumps(holder), chip_serial=b.chip_serial,
                **holder_columns(b.name, b.id_masked),
                channel=channel, step="open", posted=False, created_ms=now, updated_ms=now,
            ))  # fmt: skip
        else:
            asn = row.asn
            conn.execute(issued_cards.update().where(issued_cards.c.op_id == b.op_id).values(
                chip_serial=b.chip_serial, channel=channel, step="open", updated_ms=now,
            ))  # fmt: skip
        if opr is None:
            conn.execute(counter_ops.insert().values(
                op_id=b.op_id, kind="issue", terminal_id=op.terminal_id, operator_asn=op.asn,
                operator_number=op.number, asn=asn, amount=b.opening_fen, drawer=b.drawer,
                state="begun", funding=funding, ref_op=b.replaces, created_ms=now,
                updated_ms=now,
            ))  # fmt: skip
    return IssueScript(op_id=b.op_id, asn=asn, card_number=asn, commands=_cmds([cmd]),
                       deposit_fen=issuer.deposit_fen, fee_fen=issuer.fee_fen)  # fmt: skip


def _date(digits: str) -> dt.date:
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError as exc:
        raise Refused(422, "bad_holder", f"birth date {digits}") from exc


def _row(conn: sa.Connection, op_id: str, step: str) -> Any:
    row = conn.execute(sa.select(issued_cards).where(issued_cards.c.op_id == op_id)).first()
    if row is None:
        raise Refused(404, "unknown_op", op_id)
    if row.step != step:
        raise Refused(409, "wrong_step", f"personalization is at {row.step}: open it again")
    return row


def issue_write(central: Central, op: Operator, b: IssueWrite) -> IssueScript:
    """Step 2 (see the module doc)."""
    issuer = _issuer(central)
    with central.engine.begin() as conn:
        row = _row(conn, b.op_id, "open")
        script = PersoScript.from_state(json.loads(row.channel))
        holder = json.loads(row.holder)
        start, expiry = card_dates(central.now_utc().date(), issuer.years)
        asn = bytes.fromhex(row.asn)
        puk = f"{secrets.randbelow(10**8):08d}"
        try:
            cmds = script.write(
                bytes.fromhex(b.card_cryptogram),
                public_info=PublicInfo(issuer_id=issuer.issuer_id, asn=asn, start=start,
                                       expiry=expiry,
                                       fci=bytes([issuer.key_version, issuer.keys.algorithm])),
                holder=Holder(holder["name"], row.asn, holder["id_masked"],
                              _date(holder["birth"]), services=0xFFFF),
                card_keys=issuer.keys.card_keys(asn, issuer.key_version), pin=b.pin, puk=puk,
                overdraft_limit=issuer.overdraft_limit, max_balance=issuer.max_balance,
            )  # fmt: skip
        except PersoScriptError as exc:
            raise Refused(403, "not_our_card", str(exc)) from exc
        conn.execute(issued_cards.update().where(issued_cards.c.op_id == b.op_id).values(
            channel=json.dumps(script.state()), step="written", updated_ms=central.now_ms(),
        ))  # fmt: skip
        # The mailer's PUK is the one written last (a restarted personalization makes
        # a new one, and only the card that is activated keeps it).
        conn.execute(puk_mailers.delete().where(puk_mailers.c.asn == row.asn))
        conn.execute(puk_mailers.insert().values(asn=row.asn, puk=puk,
                                                 created_ms=central.now_ms()))  # fmt: skip
    return IssueScript(op_id=b.op_id, asn=row.asn, card_number=row.asn, commands=_cmds(cmds))


def issue_certify(central: Central, op: Operator, b: IssueCertify) -> IssueScript:
    """Step 3 (see the module doc)."""
    issuer = _issuer(central)
    with central.engine.begin() as conn:
        row = _row(conn, b.op_id, "written")
        script = PersoScript.from_state(json.loads(row.channel))
        try:
            point = script.public_point(bytes.fromhex(b.key_answer))
        except PersoScriptError as exc:
            raise Refused(403, "not_our_card", str(exc)) from exc
        start, expiry = card_dates(central.now_utc().date(), issuer.years)
        cert = issue_card_certificate(
            ca_key=issuer.ca_key, ca_cert=issuer.ca_cert, card_public_key=point,
            asn=bytes.fromhex(row.asn), card_number=row.asn,
            role=Role(json.loads(row.holder).get("role", Role.CITIZEN.value)),
            not_before=dt.datetime.combine(start, dt.time(), dt.UTC) - dt.timedelta(hours=8),
            not_after=dt.datetime.combine(expiry, dt.time(15, 59, 59), dt.UTC),
        )  # fmt: skip
        cmds = script.certify(cert.public_bytes(serialization.Encoding.DER))
        if not row.posted:
            _post_deposit_and_fee(conn, central, issuer, row)
        conn.execute(issued_cards.update().where(issued_cards.c.op_id == b.op_id).values(
            channel=json.dumps(script.state()), step="certified", posted=True,
            updated_ms=central.now_ms(),
        ))  # fmt: skip
        conn.execute(counter_ops.update().where(
            counter_ops.c.op_id == b.op_id, counter_ops.c.state == "begun",
        ).values(state="personalized", updated_ms=central.now_ms()))  # fmt: skip
    registry.register_card(central, asn=row.asn, algorithm=int(issuer.keys.algorithm),
                           key_version=issuer.key_version)  # fmt: skip
    return IssueScript(op_id=b.op_id, asn=row.asn, card_number=row.asn, commands=_cmds(cmds),
                       deposit_fen=issuer.deposit_fen, fee_fen=issuer.fee_fen)  # fmt: skip


def _post_deposit_and_fee(
    conn: sa.Connection, central: Central, issuer: CentralIssuer, row: Any
) -> None:
    """Cash taken at the drawer: the card's deposit (held for it) and the fee."""
    opr = conn.execute(sa.select(counter_ops).where(counter_ops.c.op_id == row.op_id)).first()
    assert opr is not None
    drawer, deposit, fee = drawer_account(opr.drawer), deposit_account(row.asn), "fee:issuance"
    ids = ledger.account_ids(conn, [drawer, deposit, fee])
    postings = []
    old = None
    if opr.ref_op is not None:  # a replacement: the old card's deposit comes with it
        old = conn.execute(
            sa.select(counter_ops.c.asn).where(counter_ops.c.op_id == opr.ref_op)
        ).scalar()
    held = ledger.balance(conn, deposit_account(old)) if old else 0
    if old:  # and the deposits other services hold for it (a public bike's)
        deposits.carry_over(conn, str(old), row.asn)
    if held:
        old_id = ledger.account_ids(conn, [deposit_account(str(old))])[deposit_account(str(old))]
        postings.append(ledger.posting("deposit_carried", row.op_id, (old_id, -held),
                                       (ids[deposit], held)))  # fmt: skip
    elif issuer.deposit_fen:
        postings.append(ledger.posting("card_deposit", row.op_id,
                                       (ids[drawer], -issuer.deposit_fen),
                                       (ids[deposit], issuer.deposit_fen)))  # fmt: skip
    if issuer.fee_fen:
        postings.append(ledger.posting("issue_fee", row.op_id, (ids[drawer], -issuer.fee_fen),
                                       (ids[fee], issuer.fee_fen)))  # fmt: skip
    ledger.post(conn, postings, central.now_ms())


def reset_pin(central: Central, op: Operator, b: PinReset) -> PinResetAnswer:
    """A PIN reset: ``puk`` is only audited (the card checked the PUK itself);
    ``reload`` answers RELOAD PIN data made with the card's PIN-reload key (new PIN in
    BCD ‖ MAC), for an active card whose holder the clerk identified (this request)."""
    with central.engine.connect() as conn:
        card = conn.execute(sa.select(cards).where(cards.c.asn == b.asn)).first()
    if card is None:
        raise Refused(404, "unknown_card", b.asn)
    if card.status != "active":
        raise Refused(409, "card_not_active", b.asn)
    if b.mode == "puk":
        return PinResetAnswer(asn=b.asn)
    if b.new_pin is None:
        raise Refused(422, "new_pin_required")
    issuer = _issuer(central)
    if (int(issuer.keys.algorithm), issuer.key_version) != (card.algorithm, card.key_version):
        raise Refused(409, "wrong_key", "not a card of this issuer's keys")
    drpk = issuer.keys.card_key(KeyRole.PIN_RELOAD, card.key_version, bytes.fromhex(b.asn))
    bcd = bytes.fromhex(b.new_pin)
    data = bcd + crypto.mac(crypto.tac_key(drpk, issuer.keys.algorithm), bcd, issuer.keys.algorithm)
    return PinResetAnswer(asn=b.asn, reload_data=data.hex().upper())
