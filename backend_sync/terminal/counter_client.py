"""The counter station's client of the central: each request signed by the counter
terminal's key and by the operator card (docs/sync.md, "Counter operations").

The operator card is reached through an :class:`OperatorSigner` (the station's
clerk card session, ``kiosk.counter``): for each request the client asks the
central for a fresh nonce and has the card sign ``SHA-256(nonce ‖ canonical(body))``
(the card prefixes its tag itself). Keys never pass through here: the card signs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from backend_sync import chain
from backend_sync.counter_wire import (
    BlockCard,
    BlockCardRequest,
    CardFind,
    CardFindRequest,
    CardLookup,
    CardLookupRequest,
    CardMatches,
    CardProof,
    CardReport,
    CounterOp,
    CounterTopUp,
    CounterTopUpRequest,
    IssueCertify,
    IssueCertifyRequest,
    IssueOpen,
    IssueOpenRequest,
    IssueScript,
    IssueWrite,
    IssueWriteRequest,
    Nonce,
    OpBegin,
    OpBeginRequest,
    OperatorProof,
    OpFinish,
    OpFinishRequest,
    PinReset,
    PinResetAnswer,
    PinResetRequest,
    RefundBegin,
    RefundBeginRequest,
    RefundFinish,
    RefundFinishRequest,
    RefundState,
    ReplaceBegin,
    ReplaceBeginRequest,
    ReplaceState,
    ReplaceTransfer,
    ReplaceTransferRequest,
    ShiftClose,
    ShiftCloseRequest,
    ShiftOpen,
    ShiftOpenRequest,
    ShiftReport,
    operator_digest,
)
from backend_sync.terminal.client import CentralClient
from backend_sync.wire import LoadAuthorization, record_dict

__all__ = ["CardSigner", "CounterClient", "OperatorSigner", "new_op_id"]

M = TypeVar("M", bound=BaseModel)
CardSigner = Callable[[bytes], tuple[bytes, bytes]]
"""The citizen's card present: digest -> (its certificate DER, its signature)."""


class OperatorSigner(Protocol):
    """An operator card whose PIN was verified: its ASN, certificate, and signing."""

    @property
    def asn(self) -> str: ...

    @property
    def certificate(self) -> bytes: ...

    def sign(self, digest: bytes) -> bytes:
        """The card's signature over its tag ‖ ``digest`` (32 bytes)."""
        ...


def new_op_id() -> str:
    """A fresh operation id (recorded at the central before anything irreversible)."""
    return uuid.uuid4().hex


class CounterClient:
    """Counter requests to one central, as one counter terminal, for one operator."""

    def __init__(self, central: CentralClient, operator: OperatorSigner) -> None:
        self.central = central
        self.operator = operator

    @property
    def terminal_id(self) -> str:
        return self.central.terminal_id

    def nonce(self) -> str:
        doc = self.central._send(
            "POST", "/v1/counter/nonce", json={"terminal_id": self.terminal_id}
        )
        return Nonce.model_validate(doc).nonce

    def _proof(self, signer: OperatorSigner, body: BaseModel) -> OperatorProof:
        nonce = self.nonce()
        sig = signer.sign(operator_digest(nonce, body))
        return OperatorProof(asn=signer.asn.upper(), certificate=signer.certificate.hex().upper(),
                             nonce=nonce, signature=sig.hex().upper())  # fmt: skip

    def _post(
        self,
        path: str,
        body: BaseModel,
        request_cls: Any,
        answer: type[M],
        *,
        supervisor: OperatorSigner | None = None,
        card: CardSigner | None = None,
    ) -> M:
        proof = self._proof(self.operator, body)
        extra: dict[str, Any] = {}
        if supervisor is not None:
            extra["supervisor"] = self._proof(supervisor, body)
        if card is not None:
            cert, sig = card(operator_digest(proof.nonce, body))
            extra["card"] = CardProof(certificate=cert.hex().upper(), signature=sig.hex().upper())
        req = request_cls(
            body=body,
            signature=chain.sign(self.central.key, chain.canonical(record_dict(body))),
            operator=proof,
            **extra,
        )
        doc = self.central._send("POST", path, json=req.model_dump(mode="json", exclude_none=True))
        return answer.model_validate(doc)

    def _ts(self) -> int:
        return self.central._now_ms()

    # -- shifts ---------------------------------------------------------------------------
    def open_shift(self, drawer: str, float_fen: int) -> ShiftReport:
        body = ShiftOpen(terminal_id=self.terminal_id, ts=self._ts(), drawer=drawer,
                         float_fen=float_fen)  # fmt: skip
        return self._post("/v1/counter/shifts/open", body, ShiftOpenRequest, ShiftReport)

    def close_shift(self, drawer: str, counted_fen: int) -> ShiftReport:
        body = ShiftClose(terminal_id=self.terminal_id, ts=self._ts(), drawer=drawer,
                          counted_fen=counted_fen)  # fmt: skip
        return self._post("/v1/counter/shifts/close", body, ShiftCloseRequest, ShiftReport)

    # -- operations -----------------------------------------------------------------------
    def begin_op(
        self, op_id: str, kind: str, asn: str, amount: int, drawer: str, ref: str = ""
    ) -> CounterOp:
        """Record (or read back: idempotent) an operation before anything irreversible
        (``ref``: a re-credit's voided load, a replacement card's replaced operation)."""
        extra = {"ref": ref} if ref else {}
        body = OpBegin(terminal_id=self.terminal_id, ts=self._ts(), op_id=op_id, kind=kind,  # type: ignore[arg-type]
                       asn=asn.upper(), amount=amount, drawer=drawer, **extra)  # fmt: skip
        return self._post("/v1/counter/ops/begin", body, OpBeginRequest, CounterOp)

    def topup_load(self, op_id: str, load: dict[str, Any]) -> LoadAuthorization:
        """The load step of a cash top-up (``load``: the INITIALIZE FOR LOAD fields)."""
        body = CounterTopUp(terminal_id=self.terminal_id, ts=self._ts(), op_id=op_id, **load)
        return self._post("/v1/counter/ops/topup", body, CounterTopUpRequest, LoadAuthorization)

    def finish_op(self, op_id: str, outcome: str) -> CounterOp:
        body = OpFinish(terminal_id=self.terminal_id, ts=self._ts(), op_id=op_id,
                        outcome=outcome)  # type: ignore[arg-type]  # fmt: skip
        return self._post("/v1/counter/ops/finish", body, OpFinishRequest, CounterOp)

    # -- issuing a card -------------------------------------------------------------------
    def issue_open(
        self, op_id: str, *, drawer: str, name: str, id_masked: str, birth: str,
        opening_fen: int, chip_serial: bytes, challenge: bytes, replaces: str | None = None,
    ) -> IssueScript:  # fmt: skip
        """Step 1 of issuing: the application and the blank chip; MUTUAL AUTHENTICATE."""
        body = IssueOpen(terminal_id=self.terminal_id, ts=self._ts(), op_id=op_id, drawer=drawer,
                         name=name, id_masked=id_masked, birth=birth, opening_fen=opening_fen,
                         chip_serial=chip_serial.hex().upper(),
                         challenge=challenge.hex().upper(),
                         **({"replaces": replaces} if replaces else {}))  # fmt: skip
        return self._post("/v1/counter/issue/open", body, IssueOpenRequest, IssueScript)

    def issue_write(self, op_id: str, card_cryptogram: bytes, pin: str) -> IssueScript:
        """Step 2: the card's cryptogram and the citizen's PIN; the data commands."""
        body = IssueWrite(terminal_id=self.terminal_id, ts=self._ts(), op_id=op_id,
                          card_cryptogram=card_cryptogram.hex().upper(), pin=pin)  # fmt: skip
        return self._post("/v1/counter/issue/write", body, IssueWriteRequest, IssueScript)

    def issue_certify(self, op_id: str, key_answer: bytes) -> IssueScript:
        """Step 3: the card's public key; the certificate commands and ACTIVATE."""
        body = IssueCertify(terminal_id=self.terminal_id, ts=self._ts(), op_id=op_id,
                            key_answer=key_answer.hex().upper())  # fmt: skip
        return self._post("/v1/counter/issue/certify", body, IssueCertifyRequest, IssueScript)

    # -- refund and close -----------------------------------------------------------------
    def refund_begin(
        self, op_id: str, *, drawer: str, asn: str, balance_fen: int,
        supervisor: OperatorSigner | None = None,
    ) -> RefundState:  # fmt: skip
        """Record the refund; the order the emptying purchase cites."""
        body = RefundBegin(terminal_id=self.terminal_id, ts=self._ts(), op_id=op_id,
                           drawer=drawer, asn=asn.upper(), balance_fen=balance_fen)  # fmt: skip
        return self._post("/v1/counter/refund/begin", body, RefundBeginRequest, RefundState,
                          supervisor=supervisor)  # fmt: skip

    def refund_finish(self, op_id: str) -> RefundState:
        """Pay out and terminate (after the emptying purchase was uploaded)."""
        body = RefundFinish(terminal_id=self.terminal_id, ts=self._ts(), op_id=op_id)
        return self._post("/v1/counter/refund/finish", body, RefundFinishRequest, RefundState)

    # -- replacement ----------------------------------------------------------------------
    def replace_begin(
        self, op_id: str, *, drawer: str, asn: str, present: bool, balance_fen: int = 0
    ) -> ReplaceState:
        body = ReplaceBegin(terminal_id=self.terminal_id, ts=self._ts(), op_id=op_id,
                            drawer=drawer, asn=asn.upper(), present=present,
                            balance_fen=balance_fen)  # fmt: skip
        return self._post("/v1/counter/replace/begin", body, ReplaceBeginRequest, ReplaceState)

    def replace_transfer(self, op_id: str) -> ReplaceState:
        body = ReplaceTransfer(terminal_id=self.terminal_id, ts=self._ts(), op_id=op_id)
        return self._post(
            "/v1/counter/replace/transfer", body, ReplaceTransferRequest, ReplaceState
        )

    # -- cards ----------------------------------------------------------------------------
    def card_status(
        self, asn: str, action: str, *, reason: str = "", card: CardSigner | None = None
    ) -> int:
        """Report loss / block / unblock (``card``: the card present, for unblock);
        returns the new hotlist version."""
        body = BlockCard(terminal_id=self.terminal_id, ts=self._ts(), asn=asn.upper(),
                         action=action, reason=reason)  # type: ignore[arg-type]  # fmt: skip
        doc = self._post("/v1/counter/cards/status", body, BlockCardRequest, _Version, card=card)
        return doc.hotlist_version

    def reset_pin(self, asn: str, mode: str, new_pin: str | None = None) -> PinResetAnswer:
        """Audit a PUK reset (``puk``) or get RELOAD PIN data (``reload``)."""
        body = PinReset(terminal_id=self.terminal_id, ts=self._ts(), asn=asn.upper(),
                        mode=mode, **({"new_pin": new_pin} if new_pin else {}))  # type: ignore[arg-type]  # fmt: skip
        return self._post("/v1/counter/cards/pin", body, PinResetRequest, PinResetAnswer)

    def lookup(self, asn: str) -> CardReport:
        body = CardLookup(terminal_id=self.terminal_id, ts=self._ts(), asn=asn.upper())
        return self._post("/v1/counter/cards/lookup", body, CardLookupRequest, CardReport)

    def find(self, query: str) -> CardMatches:
        body = CardFind(terminal_id=self.terminal_id, ts=self._ts(), query=query)
        return self._post("/v1/counter/cards/find", body, CardFindRequest, CardMatches)


class _Version(BaseModel):
    hotlist_version: int
