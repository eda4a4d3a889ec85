"""Wire schemas of feedback's online requests (the submission itself is
:class:`backend_sync.wire.FeedbackRecord`, which travels in the outbox).

Both requests are signed by the terminal like a bill lookup; ``asn`` is the card
the kiosk read and authenticated (with its PIN) in this session.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend_sync.wire import Asn, Code, TerminalId, Tracking

__all__ = ["CaseView", "FeedbackLookup", "FeedbackLookupRequest", "FeedbackRate",
           "FeedbackRateRequest"]  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedbackLookup(_Model):
    """By the receipt's number, or by the card (then ``asn`` alone)."""

    terminal_id: TerminalId
    request_id: Code
    tracking: Tracking | None = None
    asn: Asn | None = None
    ts: int = Field(description="terminal clock, Unix ms")


class FeedbackLookupRequest(_Model):
    body: FeedbackLookup
    signature: str = Field(pattern=r"^[0-9A-F]+$", max_length=400)


class FeedbackRate(_Model):
    terminal_id: TerminalId
    request_id: Code
    tracking: Tracking
    asn: Asn
    satisfied: bool
    ts: int = Field(description="terminal clock, Unix ms")


class FeedbackRateRequest(_Model):
    body: FeedbackRate
    signature: str = Field(pattern=r"^[0-9A-F]+$", max_length=400)


class CaseView(_Model):
    """What the kiosk shows of a case: both clocks, the state, the answer."""

    tracking: str
    category: str
    state: Literal[
        "accepted", "dispatched", "in_progress", "answered", "closed", "returned", "reopened",
        "refused",
    ]  # fmt: skip
    refusal: str | None = None
    submitted_ms: int
    arrived_ms: int
    deadline_ms: int
    citizen_wait_ms: int = Field(description="from the kiosk's signed time to now / the answer")
    department_ms: int = Field(description="from arrival at the central to now / the answer")
    answer: str | None = None
    answered_ms: int | None = None
    satisfied: bool | None = None
