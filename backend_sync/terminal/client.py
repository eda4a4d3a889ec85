"""HTTP client of the central, used by the agent and (for online steps) the kiosk.

Every request the terminal makes that changes something is signed with the
terminal's ECDSA P-256 key; every download is checked against the central's
pinned public key before anything uses it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.funding_wire import LINKED_FUNDING, LinkedFunding
from backend_sync.services_wire import ServiceCall, ServiceCallRequest
from backend_sync.terminal.services_client import CityServicesClient
from backend_sync.wire import (
    Ack,
    AuthorizeLoad,
    AuthorizeLoadRequest,
    Bill,
    BillQuery,
    BillQueryRequest,
    HoldOrder,
    HoldOrderRequest,
    LoadAuthorization,
    OrderHeld,
    ReleaseOrder,
    ReleaseOrderRequest,
    SignedDocument,
    record_dict,
)

__all__ = [
    "CentralClient",
    "CentralRefused",
    "CentralUnavailable",
    "DepartmentDown",
    "TimeSample",
]


class CentralUnavailable(Exception):
    """Network error, timeout or a 5xx: worth retrying later."""


class DepartmentDown(CentralUnavailable):
    """The central answered, but the department behind it did not (503
    ``department_unavailable``) or answered wrongly (502 ``department_*``): try later.
    The central itself is up, so a kiosk must not go offline for it."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class CentralRefused(Exception):
    """The central answered no (4xx) with a stable ``reason``."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(f"{status} {reason} {detail}".strip())
        self.status = status
        self.reason = reason
        self.detail = detail


def _reason(resp: httpx.Response) -> str:
    """The ``reason`` of a refusal body, or "" (a proxy's HTML page has none)."""
    try:
        doc = resp.json()
    except ValueError:
        return ""
    return str(doc.get("reason", "")) if isinstance(doc, dict) else ""


class TimeSample:
    """The central's clock against ours: skew = central - midpoint of the request."""

    def __init__(self, central_ms: int, sent_ms: int, received_ms: int) -> None:
        self.central_ms = central_ms
        self.round_trip_ms = received_ms - sent_ms
        self.skew_ms = central_ms - (sent_ms + received_ms) // 2


class CentralClient(CityServicesClient):
    """Talks to one central as one terminal."""

    def __init__(
        self,
        base_url: str,
        *,
        terminal_id: str,
        key: ec.EllipticCurvePrivateKey,
        central_key: ec.EllipticCurvePublicKey,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.terminal_id = terminal_id.upper()
        self.key = key
        self.central_key = central_key
        self.http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self.http.close()

    # -- plumbing ---------------------------------------------------------------------

    def _send(self, method: str, url: str, **kw: Any) -> Any:
        try:
            resp = self.http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise CentralUnavailable(f"{method} {url}: {exc!r}") from exc
        if resp.status_code >= 500:
            why = _reason(resp)
            if why.startswith("department_"):
                raise DepartmentDown(f"{method} {url}: HTTP {resp.status_code} {why}", why)
            raise CentralUnavailable(f"{method} {url}: HTTP {resp.status_code}")
        try:
            doc = resp.json()
        except ValueError as exc:
            raise CentralUnavailable(f"{method} {url}: not JSON") from exc
        if resp.status_code >= 400:
            reason = doc.get("reason") if isinstance(doc, dict) else None
            raise CentralRefused(resp.status_code, str(reason or "refused"), str(doc)[:300])
        return doc

    def _verified(self, doc: Any, name: str) -> SignedDocument:
        sd = SignedDocument.model_validate(doc)
        if sd.name != name or sd.payload.get("name") != name:
            raise CentralRefused(200, "wrong_document", f"expected {name}")
        if not chain.verify(self.central_key, chain.canonical(sd.payload), sd.signature):
            raise CentralRefused(200, "bad_central_signature", name)
        return sd

    @staticmethod
    def _now_ms() -> int:
        return int(time.time() * 1000)

    # -- uploads ----------------------------------------------------------------------

    def _signed_post(self, path: str, body: Any, request_cls: Any) -> Any:
        """POST ``body`` signed with the terminal key over its canonical encoding."""
        sig = chain.sign(self.key, chain.canonical(record_dict(body)))
        req = request_cls(body=body, signature=sig)
        return self._send("POST", path, json=req.model_dump(mode="json", exclude_none=True))

    def upload(self, body: bytes) -> Ack:
        """POST one batch (already signed, see :func:`build_batch`)."""
        doc = self._send(
            "POST", "/v1/batches", content=body, headers={"content-type": "application/json"}
        )
        return Ack.model_validate(doc)

    def build_batch(self, prev_hash: str, seqs: list[int], bodies: list[str], head: str) -> bytes:
        """The upload body: header, records (their canonical JSON, verbatim), signature."""
        header = {
            "terminal_id": self.terminal_id,
            "first_seq": seqs[0],
            "last_seq": seqs[-1],
            "prev_hash": prev_hash,
            "head_hash": head,
        }
        sig = chain.sign(self.key, chain.canonical(header))
        return (
            b'{"header":'
            + chain.canonical(header)
            + b',"records":['
            + ",".join(bodies).encode()
            + b'],"signature":"'
            + sig.encode()
            + b'"}'
        )

    # -- online steps -------------------------------------------------------------------

    def hold_order(
        self, *, asn: str, payee: str, reference: str, amount: int, request_id: str | None = None
    ) -> OrderHeld:
        """Ask the central to hold a bill for this card before the debit."""
        body = HoldOrder(
            terminal_id=self.terminal_id,
            request_id=request_id or uuid.uuid4().hex,
            asn=asn.upper(),
            payee=payee,
            reference=reference,
            amount=amount,
            ts=self._now_ms(),
        )
        return OrderHeld.model_validate(
            self._signed_post("/v1/orders/hold", body, HoldOrderRequest)
        )

    def release_order(
        self, order_id: str, *, reason: str, request_id: str | None = None
    ) -> OrderHeld:
        """Release a held order whose debit never began (no intent was written): the
        bill is free for the next payment at once instead of when the hold expires."""
        body = ReleaseOrder(
            terminal_id=self.terminal_id,
            request_id=request_id or uuid.uuid4().hex,
            order_id=order_id,
            reason=reason[:200],
            ts=self._now_ms(),
        )
        return OrderHeld.model_validate(
            self._signed_post("/v1/orders/release", body, ReleaseOrderRequest)
        )

    def lookup_bill(self, *, payee: str, account: str) -> Bill:
        """The oldest unpaid bill of ``account`` at ``payee`` (CentralRefused
        ``bill_not_found`` when there is none)."""
        body = BillQuery(
            terminal_id=self.terminal_id,
            request_id=uuid.uuid4().hex,
            payee=payee,
            account=account,
            ts=self._now_ms(),
        )
        return Bill.model_validate(self._signed_post("/v1/bills/lookup", body, BillQueryRequest))

    def authorize_load(
        self,
        *,
        asn: str,
        amount: int,
        balance_before: int,
        atc: int,
        card_random: str,
        key_version: int,
        algorithm: int,
        mac1: str,
        date: str,
        time: str,
        funding: str = "cash",
        request_id: str | None = None,
    ) -> LoadAuthorization:
        """Relay the card's INITIALIZE FOR LOAD answer; returns the central's MAC2."""
        body = AuthorizeLoad(
            terminal_id=self.terminal_id,
            request_id=request_id or uuid.uuid4().hex,
            asn=asn.upper(),
            amount=amount,
            balance_before=balance_before,
            atc=atc,
            card_random=card_random.upper(),
            key_version=key_version,
            algorithm=algorithm,
            mac1=mac1.upper(),
            date=date,
            time=time,
            funding=funding,
            ts=self._now_ms(),
        )
        return LoadAuthorization.model_validate(
            self._signed_post("/v1/loads/authorize", body, AuthorizeLoadRequest)
        )

    def linked_funding(self, *, asn: str, funding: str = "bank") -> LinkedFunding:
        """The account a top-up of card ``asn`` would be paid from, masked
        (CentralRefused ``no_linked_account`` when the card has none)."""
        body = ServiceCall(
            terminal_id=self.terminal_id,
            request_id=uuid.uuid4().hex,
            service=LINKED_FUNDING,
            asn=asn.upper(),
            params={"funding": funding},
            ts=self._now_ms(),
        )
        return LinkedFunding.model_validate(
            self._signed_post("/v1/funding/linked", body, ServiceCallRequest)
        )

    # -- downloads ----------------------------------------------------------------------

    def hotlist(self, since: int) -> SignedDocument:
        return self._verified(self._send("GET", "/v1/hotlist", params={"since": since}), "hotlist")

    def document(self, name: str) -> SignedDocument:
        return self._verified(self._send("GET", f"/v1/documents/{name}"), name)

    def time_sample(self) -> TimeSample:
        nonce = uuid.uuid4().hex
        sent = self._now_ms()
        sd = self._verified(self._send("GET", "/v1/time", params={"nonce": nonce}), "time")
        received = self._now_ms()
        if sd.payload.get("nonce") != nonce:
            raise CentralRefused(200, "time_replayed")
        return TimeSample(int(sd.payload["now_ms"]), sent, received)

    def terminal_head(self) -> tuple[int, str]:
        """The central's acknowledged (seq, hash) for this terminal, signed and bound
        to a fresh nonce: the outbox compares its own head with it."""
        nonce = uuid.uuid4().hex
        doc = self._send("GET", f"/v1/terminals/{self.terminal_id}/head", params={"nonce": nonce})
        p = self._verified(doc, "terminal_head").payload
        if p.get("nonce") != nonce or p.get("terminal_id") != self.terminal_id:
            raise CentralRefused(200, "wrong_document", "terminal head for another request")
        return int(p["acked_seq"]), str(p["head_hash"])
