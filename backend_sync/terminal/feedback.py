"""The kiosk side of feedback: submit through the outbox, look a case up, rate it.

A submission is an outbox record (:class:`backend_sync.wire.FeedbackRecord`):
signed, hash-chained and uploaded like a purchase, so it survives a power cut and
an offline day. The tracking number is made here, before the upload, so the
receipt can be printed offline. The kiosk refuses a second submission of a card
for a category on one day itself (its outbox still holds the first), as the
central would.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from backend_sync.feedback_wire import (
    CaseView,
    FeedbackLookup,
    FeedbackLookupRequest,
    FeedbackRate,
    FeedbackRateRequest,
)
from backend_sync.terminal.client import CentralClient
from backend_sync.terminal.outbox import Outbox, OutboxError
from backend_sync.terminal.tables import outbox_records
from backend_sync.tracking import new_tracking, normalize_tracking, valid_tracking
from backend_sync.wire import FeedbackRecord, SignedDocument

__all__ = [
    "TZ",
    "AlreadySubmitted",
    "Submission",
    "already_submitted",
    "categories",
    "lookup",
    "rate",
    "submit",
]

TZ = ZoneInfo("Asia/Shanghai")  # the kiosk's day, for the one-a-day rule


class AlreadySubmitted(OutboxError):
    """This card already submitted for this category today."""


@dataclass(frozen=True)
class Submission:
    """What the receipt needs."""

    seq: int
    tracking: str
    submitted_ms: int


def _day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, TZ).strftime("%Y%m%d")


def submit(
    outbox: Outbox,
    *,
    asn: str,
    category: str,
    ftype: Literal["ask", "report", "suggest"],
    urgency: int,
    body: str,
    identified: bool,
    name: str | None = None,
    place: str | None = None,
    lat_e6: int | None = None,
    lon_e6: int | None = None,
    publish_consent: bool = False,
    clock_skew_ms: int | None = None,
    now_ms: int | None = None,
) -> Submission:
    """Append a feedback record; ``name`` only when ``identified`` (the holder's
    name read from the card). ``clock_skew_ms``: this kiosk's clock minus the
    central's at the last time sample, when there was one."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    asn = asn.upper()
    if already_submitted(outbox, asn, category, now):
        raise AlreadySubmitted(f"one submission per card and category a day: {category}")
    tracking = new_tracking()

    def make(seq: int) -> FeedbackRecord:
        return FeedbackRecord(
            seq=seq, terminal_id=outbox.terminal_id, asn=asn, tracking=tracking,
            category=category, ftype=ftype, urgency=urgency, body=body, place=place,
            lat_e6=lat_e6, lon_e6=lon_e6, identified=identified,
            name=name if identified else None, publish_consent=publish_consent,
            submitted_ms=now, clock_skew_ms=clock_skew_ms,
        )  # fmt: skip

    seq = outbox.append(make)
    return Submission(seq, tracking, now)


def already_submitted(outbox: Outbox, asn: str, category: str, now_ms: int) -> bool:
    """This outbox still holds a submission of ``asn`` for ``category`` on the day of
    ``now_ms`` (acknowledged records are pruned: the central's cases tell the rest)."""
    asn, day = asn.upper(), _day(now_ms)
    with outbox.engine.connect() as conn:
        bodies = conn.execute(
            sa.select(outbox_records.c.body).where(
                outbox_records.c.kind == "feedback", outbox_records.c.state == "closed"
            )
        ).scalars()
        for b in bodies:
            d = json.loads(b)
            if d["asn"] == asn and d["category"] == category and _day(d["submitted_ms"]) == day:
                return True
    return False


def categories(client: CentralClient) -> SignedDocument:
    """The central's signed category list (verified with the central's key), for
    the kiosk's feedback screen and to keep with its other downloads."""
    doc = client._send("GET", "/v1/feedback/categories")
    return client._verified(doc, "feedback_categories")


def lookup(
    client: CentralClient, *, tracking: str | None = None, asn: str | None = None
) -> list[CaseView]:
    """Cases by the receipt's number (as typed: normalized here) or by card."""
    if tracking is not None:
        tracking = normalize_tracking(tracking)
        if not valid_tracking(tracking):
            raise ValueError("not a tracking number (check the characters)")
    body = FeedbackLookup(
        terminal_id=client.terminal_id, request_id=uuid.uuid4().hex, tracking=tracking,
        asn=asn.upper() if asn else None, ts=client._now_ms(),
    )  # fmt: skip
    doc = client._signed_post("/v1/feedback/lookup", body, FeedbackLookupRequest)
    return [CaseView.model_validate(x) for x in doc]


def rate(client: CentralClient, *, tracking: str, asn: str, satisfied: bool) -> str:
    """The citizen's verdict (their card is in the reader); answers the new state."""
    body = FeedbackRate(
        terminal_id=client.terminal_id, request_id=uuid.uuid4().hex,
        tracking=normalize_tracking(tracking), asn=asn.upper(), satisfied=satisfied,
        ts=client._now_ms(),
    )  # fmt: skip
    doc = client._signed_post("/v1/feedback/rate", body, FeedbackRateRequest)
    return str(doc["state"])
