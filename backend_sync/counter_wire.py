"""Wire schemas of the counter station's requests to the central (docs/sync.md,
"Counter operations"), shared by ``backend_sync.terminal.counter_client`` and
``backend_sync.central.counter_api``.

Every counter request carries two signatures over one body:

- the counter terminal's (its enrolled terminal key, over ``canonical(body)``, as
  every signed online request), and
- the operator card's: the card signs ``OPERATOR_SIGN_TAG ‖ digest`` with
  ``digest = SHA-256(nonce ‖ canonical(body))`` (INTERNAL AUTHENTICATE P1 01, only
  after the card's own PIN was verified in this session); the nonce is the
  central's, single use, so one signature authorizes exactly one request.

A two-person operation adds a ``supervisor`` proof over the same body with a nonce
of its own.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from backend_sync import chain
from backend_sync.wire import (
    Asn,
    Balance,
    BcdDate,
    BcdTime,
    Byte,
    CardRandom,
    Counter16,
    Fen,
    Mac,
    TerminalId,
    _Inbound,
    _Model,
    record_dict,
)

__all__ = [
    "CARRY_PAYEE",
    "REFUND_PAYEE",
    "BlockCard",
    "BlockCardRequest",
    "CardFind",
    "CardFindRequest",
    "CardLookup",
    "CardLookupRequest",
    "CardMatch",
    "CardMatches",
    "CardProof",
    "CardReport",
    "CounterOp",
    "CounterTopUp",
    "CounterTopUpRequest",
    "IssueCertify",
    "IssueCertifyRequest",
    "IssueOpen",
    "IssueOpenRequest",
    "IssueScript",
    "IssueWrite",
    "IssueWriteRequest",
    "Nonce",
    "NonceRequest",
    "OpBegin",
    "OpBeginRequest",
    "OpFinish",
    "OpFinishRequest",
    "OperatorProof",
    "PersoCommand",
    "PinReset",
    "PinResetAnswer",
    "PinResetRequest",
    "RefundBegin",
    "RefundBeginRequest",
    "RefundFinish",
    "RefundFinishRequest",
    "RefundState",
    "ReplaceBegin",
    "ReplaceBeginRequest",
    "ReplaceState",
    "ReplaceTransfer",
    "ReplaceTransferRequest",
    "ShiftClose",
    "ShiftCloseRequest",
    "ShiftOpen",
    "ShiftOpenRequest",
    "ShiftReport",
    "operator_digest",
]

NonceHex = Annotated[str, Field(pattern=r"^[0-9A-F]{32}$", description="the central's nonce")]
DrawerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,48}$", description="cash drawer")]
OpId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="operation id (uuid4 hex)")]


REFUND_PAYEE = "counter_refunds"  # the payee of the purchase that empties a refunded card


def operator_digest(nonce: str, body: BaseModel) -> bytes:
    """SHA-256(nonce ‖ canonical(body)): what an operator card signs (after the tag)."""
    return hashlib.sha256(bytes.fromhex(nonce) + chain.canonical(record_dict(body))).digest()


class OperatorProof(_Inbound):
    """An operator card's signature of one request body."""

    asn: Asn
    certificate: Annotated[str, Field(pattern=r"^[0-9A-F]+$", max_length=8192)]
    nonce: NonceHex
    signature: Annotated[str, Field(pattern=r"^[0-9A-F]+$", max_length=200)]


class CardProof(_Inbound):
    """The citizen's card was in the counter's reader for this request: its
    INTERNAL AUTHENTICATE (P1 00) signature of the same digest the operator signed."""

    certificate: Annotated[str, Field(pattern=r"^[0-9A-F]+$", max_length=8192)]
    signature: Annotated[str, Field(pattern=r"^[0-9A-F]+$", max_length=200)]


class _Body(_Inbound):
    terminal_id: TerminalId
    ts: int = Field(description="terminal clock, Unix ms")


class _Signed(_Inbound):
    signature: Annotated[str, Field(pattern=r"^[0-9A-F]+$", max_length=400)]
    operator: OperatorProof
    supervisor: OperatorProof | None = None
    card: CardProof | None = None


class NonceRequest(_Inbound):
    terminal_id: TerminalId


class Nonce(_Model):
    nonce: str
    expires_ms: int


class ShiftOpen(_Body):
    drawer: DrawerId
    float_fen: Fen = Field(description="cash in the drawer at the start")


class ShiftOpenRequest(_Signed):
    body: ShiftOpen


class ShiftClose(_Body):
    """Close the drawer's open shift (a restarted counter need not know its id)."""

    drawer: DrawerId
    counted_fen: Fen = Field(description="cash the clerk counted in the drawer")


class ShiftCloseRequest(_Signed):
    body: ShiftClose


class ShiftReport(_Model):
    """A shift's drawer against the ledger: ``expected_fen`` = float + cash in - cash
    out as the ledger's drawer account moved; ``mismatch_fen`` = counted - expected
    (shown, never hidden; 0 when they agree)."""

    shift_id: str
    drawer: str
    status: Literal["open", "closed"]
    float_fen: int
    cash_in_fen: int
    cash_out_fen: int
    expected_fen: int
    counted_fen: int | None = None
    mismatch_fen: int | None = None
    by_kind: dict[str, int] = Field(
        default_factory=dict,
        description="net cash by what moved it: load_authorized (top-ups, opening and "
        "carried loads), load_voided, card_deposit, issue_fee, refund_balance, "
        "refund_deposit, replace_cash; + in, - out",
    )


OpKind = Literal["topup", "issue", "refund", "replace", "recredit"]


class OpBegin(_Body):
    """Record an operation before anything irreversible (cash taken, card written)."""

    op_id: OpId
    kind: OpKind
    asn: Asn
    amount: Fen
    drawer: DrawerId
    ref: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = Field(
        default=None,
        description="a re-credit's voided load; a replacement card's replaced operation",
    )


class OpBeginRequest(_Signed):
    body: OpBegin


class OpFinish(_Body):
    op_id: OpId
    outcome: Literal["done", "reversed"]


class OpFinishRequest(_Signed):
    body: OpFinish


class CounterOp(_Model):
    """The central's record of one counter operation (what a resumed counter reads)."""

    op_id: str
    kind: str
    state: Literal["begun", "personalized", "authorized", "done", "reversed"]
    asn: str
    amount: int
    drawer: str
    operator: str = Field(description="operator card number")
    load_id: str | None = None
    loaded: bool = Field(default=False, description="a load of it confirmed by the card's TAC")
    in_suspense: bool = Field(default=False, description="a load of it authorized, unconfirmed")


class CounterTopUp(_Body):
    """A cash top-up's load step: the card's INITIALIZE FOR LOAD answer."""

    op_id: OpId
    asn: Asn
    amount: Fen
    balance_before: Balance
    atc: Counter16
    card_random: CardRandom
    key_version: Byte
    algorithm: Byte
    mac1: Mac
    date: BcdDate
    time: BcdTime


class CounterTopUpRequest(_Signed):
    body: CounterTopUp


class BlockCard(_Body):
    """Report loss, block or unblock a card (unblock: the card was present)."""

    asn: Asn
    action: Literal["report_loss", "block", "unblock"]
    reason: Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


class BlockCardRequest(_Signed):
    body: BlockCard


class CardLookup(_Body):
    asn: Asn


class CardLookupRequest(_Signed):
    body: CardLookup


class CardFind(_Body):
    """Find a citizen's cards by the holder's name or masked ID number (as written on
    the card at issue, e.g. ``3205**********1234``)."""

    query: Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[^\x00-\x1f\x7f]*$")]


class CardFindRequest(_Signed):
    body: CardFind


class CardMatch(_Model):
    asn: str
    name: str
    id_masked: str
    status: str


class CardMatches(_Model):
    """The cards the central issued whose holder matches (at most 20)."""

    cards: list[CardMatch]


class CardReport(_Model):
    """What the clerk sees of a card: registry status, ledger balance and history,
    loads in suspense, voided loads that can be re-credited, hotlist version."""

    asn: str
    status: str
    balance_fen: int
    hotlist_version: int
    history: list[dict[str, int | str]]
    loads_in_suspense: list[dict[str, int | str]]
    voided_loads: list[dict[str, int | str]]


Hex16 = Annotated[str, Field(pattern=r"^[0-9A-F]{16}$")]


class IssueOpen(_Body):
    """Issue a card for an application the clerk approved (this signed request): the
    blank card's chip serial and challenge; the central assigns the card number."""

    op_id: OpId
    drawer: DrawerId
    name: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")]
    id_masked: Annotated[str, Field(pattern=r"^[0-9X*]{18}$")]
    birth: BcdDate
    opening_fen: Fen = Field(description="opening balance paid in cash, loaded after")
    chip_serial: Hex16
    challenge: Hex16
    replaces: OpId | None = Field(
        default=None, description="a transferred replacement: its carry is the opening load"
    )


class IssueOpenRequest(_Signed):
    body: IssueOpen


class IssueWrite(_Body):
    op_id: OpId
    card_cryptogram: Hex16
    pin: Annotated[str, Field(pattern=r"^[0-9]{6}$", description="typed by the citizen")]


class IssueWriteRequest(_Signed):
    body: IssueWrite


class IssueCertify(_Body):
    op_id: OpId
    key_answer: Annotated[str, Field(pattern=r"^[0-9A-F]{138}$", description="point ‖ MAC")]


class IssueCertifyRequest(_Signed):
    body: IssueCertify


class PersoCommand(_Model):
    cla: int
    ins: int
    p1: int
    p2: int
    data: str
    le: int | None = None


class IssueScript(_Model):
    """Commands for the counter to relay to the card, in order, as they are."""

    op_id: str
    asn: str
    card_number: str
    commands: list[PersoCommand]
    deposit_fen: int = 0
    fee_fen: int = 0


class RefundBegin(_Body):
    """Refund and close the card present: its balance (GET BALANCE, to be emptied by
    a counter purchase whose TAC the central verifies) and its deposit, in cash."""

    op_id: OpId
    drawer: DrawerId
    asn: Asn
    balance_fen: Fen


class RefundBeginRequest(_Signed):
    body: RefundBegin


class RefundFinish(_Body):
    op_id: OpId


class RefundFinishRequest(_Signed):
    body: RefundFinish


class RefundState(_Model):
    """A refund: the order the emptying purchase cites, what is paid out in cash."""

    op_id: str
    asn: str
    state: str
    balance_fen: int
    deposit_fen: int
    order_id: str | None = None
    payee: str | None = None
    hotlist_version: int | None = None


CARRY_PAYEE = "counter_carry"  # the payee of the purchase that empties a replaced card


class ReplaceBegin(_Body):
    """Replace a card: ``present`` (its balance emptied by a counter purchase) or lost
    (its ledger balance frozen and carried after the quarantine)."""

    op_id: OpId
    drawer: DrawerId
    asn: Asn
    present: bool
    balance_fen: Fen = Field(default=0, description="GET BALANCE of the card present")


class ReplaceBeginRequest(_Signed):
    body: ReplaceBegin


class ReplaceTransfer(_Body):
    op_id: OpId


class ReplaceTransferRequest(_Signed):
    body: ReplaceTransfer


class ReplaceState(_Model):
    """A replacement and its calculation (the receipt shows it): the shadow balance
    at the transfer, the late debits that arrived after the card was hotlisted
    (already in it), the amount carried to the new card, any part above the new
    card's maximum paid out in cash, and the deposit carried."""

    op_id: str
    asn: str
    state: str
    present: bool
    order_id: str | None = None
    shadow_fen: int = 0
    late_debits_fen: int = 0
    carried_fen: int = 0
    cash_out_fen: int = 0
    deposit_fen: int = 0
    quarantine_until_ms: int | None = None


class PinReset(_Body):
    """Reset the PIN of the card present: ``puk`` (the citizen's PUK at the card, told
    here for the audit) or ``reload`` (identity verified by the clerk: the central
    authorizes PBOC's RELOAD PIN for the PIN the citizen typed)."""

    asn: Asn
    mode: Literal["puk", "reload"]
    new_pin: Annotated[str, Field(pattern=r"^[0-9]{6}$")] | None = None


class PinResetRequest(_Signed):
    body: PinReset


class PinResetAnswer(_Model):
    asn: str
    reload_data: str | None = Field(default=None, description="RELOAD PIN data, new PIN ‖ MAC")
