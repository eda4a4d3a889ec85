"""Feedback: ask, report a problem or suggest; a tracking number on a receipt (docs/feedback.md).

The catalog entry declares the form (:data:`FIELDS`): the kind (``ask``,
``report``, ``suggest``), the category, the urgency, the text (typed on the pinyin
keyboard), an optional place, whether the department sees the holder's name
(``identity``: ``named`` or ``pseudonymous``) and whether text and place may be
published on Open311 (``publish``). The category's choices are the central's own
list (its signed ``feedback_categories`` document, kept by the sync agent): the
catalog's choices are used only before the first download.

The submission is an outbox record (:func:`backend_sync.terminal.feedback.submit`):
signed, chained and uploaded like a purchase, so it is taken offline too. One open
submission per card per category per day: the kiosk says so on the form, from its
own outbox and, online, from the central's cases of this card; the central holds
the rule anyway (a second one becomes a ``refused`` case).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, cast

from backend_sync.terminal import feedback as fb
from backend_sync.terminal.client import CentralRefused, CentralUnavailable
from backend_sync.tracking import format_tracking
from kiosk.codes import FieldError, Notice, OutcomeCode
from kiosk.core.forms import FieldSpec
from kiosk.core.views import Language, pick
from kiosk.core.worker import JobContext
from kiosk.flows.base import (
    Answer,
    BaseFlow,
    FlowEnv,
    FormError,
    Outcome,
    OutcomeKind,
    Quote,
    QuoteKind,
    ServiceUnavailable,
)

if TYPE_CHECKING:
    from backend_sync.terminal.downloads import DownloadStore
    from kiosk.catalog import ServiceEntry
    from kiosk.receipts.layouts import Receipt
    from kiosk.receipts.slips import Slip

__all__ = ["FIELDS", "FeedbackFlow", "category_choices"]

log = logging.getLogger(__name__)

LANGUAGES = ("zh-Hans", "zh-Hant", "en")
FIELDS = ("ftype", "category", "urgency", "body", "place", "identity", "publish")
_CHOICES = {
    "ftype": ("ask", "report", "suggest"),
    "urgency": ("1", "2", "3"),
    "identity": ("named", "pseudonymous"),
    "publish": ("yes", "no"),
}
_OPEN = ("accepted", "dispatched", "in_progress", "answered", "returned", "reopened")


def category_choices(store: DownloadStore | None) -> tuple[tuple[str, Mapping[str, str]], ...]:
    """The central's active categories (code, names) from the kept signed list;
    empty when there is none (never downloaded, or damaged: the store re-verifies)."""
    doc = store.document("feedback_categories") if store is not None else None
    items = doc.payload.get("categories") if doc is not None else None
    out: list[tuple[str, Mapping[str, str]]] = []
    for item in items if isinstance(items, list) else []:
        names = item.get("names") if isinstance(item, dict) else None
        code = item.get("code") if isinstance(item, dict) else None
        if (
            isinstance(code, str)
            and isinstance(names, dict)
            and all(isinstance(names.get(k), str) and names[k] for k in LANGUAGES)
        ):
            out.append((code, {k: names[k] for k in LANGUAGES}))
    return tuple(out)


def _day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, fb.TZ).strftime("%Y%m%d")


class FeedbackFlow(BaseFlow):
    """Submit a case; the receipt carries its tracking number and a signed QR."""

    name = "feedback"
    fields = FIELDS

    def check(self, entry: ServiceEntry) -> str | None:
        problem = super().check(entry)
        if problem:
            return problem
        specs = {f.name: f for f in entry.fields}
        for name, values in _CHOICES.items():
            got = tuple(v for v, _ in specs[name].choices)
            if specs[name].kind != "choice" or got != values:
                return f"feedback's {name} is a choice of {values}"
        if specs["category"].kind != "choice" or specs["body"].kind != "text":
            return "feedback's category is a choice and its body text"
        if not entry.needs.card or entry.needs.network:
            return "feedback needs the card and is taken offline too"
        return None

    def adapt_fields(self, fields: tuple[FieldSpec, ...], env: FlowEnv) -> tuple[FieldSpec, ...]:
        """The category field lists the central's current categories."""
        choices = category_choices(env.store)
        if not choices:
            return fields
        return tuple(
            FieldSpec(f.name, f.labels, f.kind, f.required, f.max_length, f.min_value,
                      f.max_value, choices) if f.name == "category" else f
            for f in fields
        )  # fmt: skip

    def _already(self, env: FlowEnv, asn: str, category: str, now_ms: int) -> bool:
        """This card has an open case in this category today (outbox, then central)."""
        if env.outbox is not None and fb.already_submitted(env.outbox, asn, category, now_ms):
            return True
        if not env.online or env.client is None:
            return False
        try:
            views = fb.lookup(env.client, asn=asn)
        except CentralUnavailable:
            env.central_down()
            return False  # the outbox's check stands; the central holds the rule
        except CentralRefused as exc:
            log.warning("feedback: the central refused a lookup by card: %s", exc)
            return False
        return any(v.category == category and v.state in _OPEN and
                   _day(v.submitted_ms) == _day(now_ms) for v in views)  # fmt: skip

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        if env.outbox is None:
            raise ServiceUnavailable(Notice.SERVICE_UNAVAILABLE)
        specs = {f.name: f.spec() for f in entry.fields}
        cats = category_choices(env.store) or specs["category"].choices
        category = values.get("category", "")
        if category not in {c for c, _ in cats}:
            raise FormError(FieldError.NOT_A_CHOICE, "category")
        for name in _CHOICES:
            if values.get(name, "") not in _CHOICES[name]:
                raise FormError(FieldError.NOT_A_CHOICE, name)
        body = values.get("body", "").strip()
        if not body:
            raise FormError(FieldError.REQUIRED, "body")
        ctx.progress("preparing", None)
        now_ms = int(env.clock.now().timestamp() * 1000)
        if self._already(env, card.asn_hex, category, now_ms):
            raise FormError(FieldError.ALREADY_SUBMITTED, "category")
        words = dict(cats)[category]

        def label(name: str, value: str, lang: str) -> str:
            return next((pick(lb, Language(lang)) for v, lb in specs[name].choices if v == value),
                        value)  # fmt: skip

        place = values.get("place", "").strip()
        by_language = {
            lang: tuple((k, v) for k, v in (
                ("fb_kind", label("ftype", values["ftype"], lang)),
                ("fb_category", words[lang]),
                ("fb_urgency", label("urgency", values["urgency"], lang)),
                ("fb_text", body), ("fb_place", place),
                ("fb_identity", label("identity", values["identity"], lang)),
                ("fb_publish", label("publish", values["publish"], lang)),
            ) if v)
            for lang in LANGUAGES
        }  # fmt: skip
        data = {"category": category, "ftype": values["ftype"], "urgency": int(values["urgency"]),
                "body": body, "place": place or None, "named": values["identity"] == "named",
                "publish": values["publish"] == "yes", "words": words}  # fmt: skip
        return Quote(entry.id, entry.names, self.name, QuoteKind.SUBMIT,
                     details=by_language["zh-Hans"], details_by_language=by_language,
                     data=data)  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        card = env.need_card()
        if env.outbox is None:
            return Outcome(False, OutcomeCode.SALES_STOPPED, OutcomeKind.TRACKING_NUMBER)
        d = quote.data
        ctx.progress("submitting", None)
        try:
            sub = fb.submit(
                env.outbox, asn=card.asn_hex, category=str(d["category"]),
                ftype=cast(Literal["ask", "report", "suggest"], d["ftype"]),
                urgency=cast(int, d["urgency"]), body=str(d["body"]),
                identified=bool(d["named"]), name=card.holder.name if d["named"] else None,
                place=cast("str | None", d["place"]), publish_consent=bool(d["publish"]),
                now_ms=int(env.clock.now().timestamp() * 1000),
                # The record's skew is ours minus the central's (the central flags it).
                clock_skew_ms=None if env.network.skew_ms is None else -env.network.skew_ms,
            )  # fmt: skip
        except fb.AlreadySubmitted:
            return Outcome(False, OutcomeCode.ALREADY_SUBMITTED, OutcomeKind.TRACKING_NUMBER)
        env.on_record()  # the sync agent takes it up at once when online
        return Outcome(True, OutcomeCode.SUBMITTED, OutcomeKind.TRACKING_NUMBER,
                       reference=sub.tracking,
                       details=(("tracking", format_tracking(sub.tracking)),))  # fmt: skip

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        from kiosk.receipts.i18n import label
        from kiosk.receipts.slips import Slip

        assert outcome.reference is not None
        lang = language.value
        shown = dict(quote.details_by_language.get(lang, quote.details))
        lines = tuple((label(f"fb.{k[3:]}", lang), shown[k])
                      for k in ("fb_kind", "fb_category", "fb_urgency", "fb_identity")
                      if k in shown)  # fmt: skip
        lines += ((label("fb.number", lang), format_tracking(outcome.reference)),
                  (label("fb.lookup", lang), ""))  # fmt: skip
        return Slip("tracking_number", pick(quote.titles, language), outcome.reference, lines, at)
