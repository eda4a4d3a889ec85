"""Wire schemas shared by the kiosk (``backend_sync.terminal``) and the central.

docs/sync.md is the normative description; this module is its implementation.
Bytes travel as upper-case hex strings, money as integer fen, card dates and times
as their BCD digits (``"20261128"``, ``"093015"``, Asia/Shanghai local time).
Optional fields are omitted, never ``null``: the canonical encoding
(:mod:`backend_sync.chain`) is computed over exactly the fields present.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AbortedRecord",
    "Ack",
    "AuthorizeLoad",
    "AuthorizeLoadRequest",
    "Batch",
    "BatchHeader",
    "Bill",
    "BillQuery",
    "BillQueryRequest",
    "FeedbackRecord",
    "HoldOrder",
    "HoldOrderRequest",
    "LoadAuthorization",
    "LoadRecord",
    "OrderHeld",
    "ProofRecord",
    "PurchaseRecord",
    "Record",
    "RecordResult",
    "ReleaseOrder",
    "ReleaseOrderRequest",
    "SignedDocument",
    "UnsettledRecord",
]

Hex4 = Annotated[str, Field(pattern=r"^[0-9A-F]{8}$")]
Hex32 = Annotated[str, Field(pattern=r"^[0-9A-F]{64}$")]
TerminalId = Annotated[
    str, Field(pattern=r"^[0-9A-F]{12}$", description="PSAM terminal id, 6 bytes")
]
Asn = Annotated[str, Field(pattern=r"^[0-9A-F]{20}$", description="card ASN, 10 bytes")]
CardRandom = Hex4
Mac = Annotated[Hex4, Field(description="4-byte MAC or TAC")]
BcdDate = Annotated[str, Field(pattern=r"^[0-9]{8}$", description="YYYYMMDD, Asia/Shanghai")]
BcdTime = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="hhmmss, Asia/Shanghai")]
Fen = Annotated[int, Field(ge=0, le=0xFFFFFFFF, description="unsigned 32-bit amount, fen")]
Balance = Annotated[int, Field(ge=-(2**31), le=2**31 - 1, description="signed 32-bit, fen")]
Counter16 = Annotated[int, Field(ge=0, le=0xFFFF)]
Counter32 = Annotated[int, Field(ge=0, le=0xFFFFFFFF)]
Seq = Annotated[int, Field(ge=1, le=2**62)]
Byte = Annotated[int, Field(ge=0, le=255)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Reason = Annotated[str, Field(max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_null_in_schema(schema: dict[str, Any]) -> None:
    # The schema says what is accepted: an optional field is a string (or number),
    # never null; it is simply left out.
    for prop in schema.get("properties", {}).values():
        alts = prop.get("anyOf")
        if alts and {"type": "null"} in alts:
            rest = [a for a in alts if a != {"type": "null"}]
            prop.pop("anyOf")
            if len(rest) == 1:
                prop.update(rest[0])
            else:
                prop["anyOf"] = rest
            if prop.get("default", 0) is None:
                prop.pop("default")


class _Inbound(_Model):
    """What a terminal sends: optional fields are omitted, an explicit ``null`` is
    refused (docs/sync.md), so what is hashed and signed has one form."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_no_null_in_schema)

    @model_validator(mode="before")
    @classmethod
    def _refuse_null(cls, data: Any) -> Any:
        # The common case (no null at all) is one scan in C: this runs per record.
        if isinstance(data, dict) and None in data.values():
            nulls = sorted(str(k) for k, v in data.items() if v is None)
            if nulls:
                raise ValueError(f"optional fields are omitted, never null: {', '.join(nulls)}")
        return data


class _CardTxn(_Inbound):
    seq: Seq
    terminal_id: TerminalId
    asn: Asn
    amount: Fen
    date: BcdDate
    time: BcdTime
    key_version: Byte
    algorithm: Byte
    balance_before: Balance


class PurchaseRecord(_CardTxn):
    """A completed purse purchase (type 06, or 09 when ``ttype`` says so: the
    composite purchase of a bus validator): the card's TAC proves amount, type,
    terminal, TTC, date and time; balances and ATC are reported data."""

    kind: Literal["purchase"] = "purchase"
    ttype: Literal[9] | None = Field(
        default=None, description="09 composite (transit) purchase; omitted: 06"
    )
    atc: Counter16 = Field(description="offline ATC used by the purchase")
    ttc: Counter32
    balance_after: Balance
    tac: Mac
    mac2: Mac
    payee: Code
    order_id: Code | None = None
    hotlist_version: Counter32 | None = None
    catalog_version: Counter32 | None = Field(
        default=None, description="catalog version the kiosk sold from (the payee's source)"
    )
    service_id: Code | None = Field(default=None, description="catalog service sold")


class LoadRecord(_CardTxn):
    """A completed load (type 02) of an amount authorized by the central."""

    kind: Literal["load"] = "load"
    atc: Counter16 = Field(description="online ATC used by the load")
    balance_after: Balance
    tac: Mac
    load_id: Code


class UnsettledRecord(_CardTxn):
    """An intent whose outcome the kiosk could not learn (card gone before the
    answer): everything known, for the central to resolve."""

    kind: Literal["unsettled"] = "unsettled"
    ttype: Literal[2, 6, 9]
    atc: Counter16
    ttc: Counter32 | None = None
    payee: Code | None = None
    order_id: Code | None = None
    load_id: Code | None = None
    catalog_version: Counter32 | None = None
    service_id: Code | None = None
    reason: Reason


class AbortedRecord(_CardTxn):
    """An intent the card proved it did not execute (its ATC did not move)."""

    kind: Literal["aborted"] = "aborted"
    ttype: Literal[2, 6, 9]
    atc: Counter16
    ttc: Counter32 | None = None
    order_id: Code | None = None
    load_id: Code | None = None
    reason: Reason


class ProofRecord(_Inbound):
    """The card's proof (GET TRANSACTION PROVE) for an earlier unsettled record."""

    kind: Literal["proof"] = "proof"
    seq: Seq
    terminal_id: TerminalId
    ref_seq: Seq
    asn: Asn
    tac: Mac
    mac2: Mac
    balance_after: Balance | None = None


Tracking = Annotated[
    str,
    Field(
        pattern=r"^[0-9A-HJKMNP-TV-Z]{16}$",
        description="15 random Crockford base32 digits and a mod-31 check digit",
    ),
]


class FeedbackRecord(_Model):
    """A citizen's submission (ask, report a problem, suggest): no money, signed and
    chained like a purchase. ``submitted_ms`` is the kiosk's clock (the citizen's
    wait starts there); ``clock_skew_ms`` is the kiosk's clock minus the central's
    signed time at its last sync, when it has one. ``name`` only when identified."""

    kind: Literal["feedback"] = "feedback"
    seq: Seq
    terminal_id: TerminalId
    asn: Asn
    tracking: Tracking
    category: Code
    ftype: Literal["ask", "report", "suggest"]
    urgency: Annotated[int, Field(ge=1, le=3)]
    body: Annotated[str, Field(min_length=1, max_length=2000)]
    place: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    # Micro-degrees (WGS 84): the canonical encoding carries no floats.
    lat_e6: Annotated[int, Field(ge=-90_000_000, le=90_000_000)] | None = None
    lon_e6: Annotated[int, Field(ge=-180_000_000, le=180_000_000)] | None = None
    identified: bool
    name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    publish_consent: bool
    submitted_ms: Annotated[int, Field(ge=0, le=2**53)]
    clock_skew_ms: Annotated[int, Field(ge=-(2**53), le=2**53)] | None = None


Record = Annotated[
    PurchaseRecord | LoadRecord | UnsettledRecord | AbortedRecord | ProofRecord | FeedbackRecord,
    Field(discriminator="kind"),
]


class BatchHeader(_Inbound):
    """What the terminal signs: the chain covers every record in between."""

    terminal_id: TerminalId
    first_seq: Seq
    last_seq: Seq
    prev_hash: Hex32
    head_hash: Hex32


class Batch(_Inbound):
    """An upload: hash-chained records and the terminal's ECDSA P-256 signature."""

    header: BatchHeader
    records: list[Record] = Field(min_length=1, max_length=5000)
    signature: str = Field(pattern=r"^[0-9A-F]+$", max_length=400, description="DER, hex")


class RecordResult(_Model):
    seq: int
    status: str
    reason: str | None = None


class Ack(_Model):
    """The central's answer: the highest contiguous sequence it holds."""

    acked: int
    status: Literal["ok", "gap", "conflict"]
    results: list[RecordResult] = Field(default_factory=list)
    detail: str | None = None


class HoldOrder(_Inbound):
    """Body of a signed request to hold a payment order before the debit."""

    terminal_id: TerminalId
    request_id: Code
    asn: Asn
    payee: Code
    reference: Annotated[str, Field(min_length=1, max_length=64)]
    amount: Fen
    ts: int = Field(description="terminal clock, Unix ms")


class HoldOrderRequest(_Inbound):
    body: HoldOrder
    signature: str = Field(pattern=r"^[0-9A-F]+$", max_length=400)


class ReleaseOrder(_Model):
    """Body of a signed request to release a held order whose debit never began
    (the card left, or the sale stopped, before the intent was written)."""

    terminal_id: TerminalId
    request_id: Code
    order_id: Code
    reason: Reason
    ts: int = Field(description="terminal clock, Unix ms")


class ReleaseOrderRequest(_Model):
    body: ReleaseOrder
    signature: str = Field(pattern=r"^[0-9A-F]+$", max_length=400)


class OrderHeld(_Model):
    order_id: str
    status: str
    amount: int
    payee: str
    reference: str


class AuthorizeLoad(_Inbound):
    """Body of a signed load authorization request (data from INITIALIZE FOR LOAD)."""

    terminal_id: TerminalId
    request_id: Code
    asn: Asn
    amount: Fen
    balance_before: Balance
    atc: Counter16 = Field(description="online ATC")
    card_random: CardRandom
    key_version: Byte
    algorithm: Byte
    mac1: Mac
    date: BcdDate
    time: BcdTime
    funding: Code = "cash"
    ts: int = Field(description="terminal clock, Unix ms")


class AuthorizeLoadRequest(_Inbound):
    body: AuthorizeLoad
    signature: str = Field(pattern=r"^[0-9A-F]+$", max_length=400)


class LoadAuthorization(_Model):
    load_id: str
    mac2: Mac
    status: str


class BillQuery(_Inbound):
    """Body of a signed bill lookup (the kiosk asks; the central asks the biller)."""

    terminal_id: TerminalId
    request_id: Code
    payee: Code
    account: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-]+$")]
    ts: int = Field(description="terminal clock, Unix ms")


class BillQueryRequest(_Inbound):
    body: BillQuery
    signature: str = Field(pattern=r"^[0-9A-F]+$", max_length=400)


class Bill(_Model):
    payee: str
    account: str
    reference: str
    period: str
    amount: int
    biller: str


class SignedDocument(_Model):
    """A download signed by the central: ``signature`` covers canonical(``payload``)."""

    name: str
    version: int
    payload: dict[str, Any]
    signature: str


def record_dict(record: BaseModel) -> dict[str, Any]:
    """The record as the canonical encoding sees it (absent optionals omitted)."""
    return record.model_dump(mode="json", exclude_none=True)
