"""A feedback case looked up (by the receipt's number, or by the card) and rated.

``feedback_lookup`` answers each case's state, the department's answer, and the
two clocks: the citizen's wait from the kiosk's signed time, the department's time
from the case's arrival at the central (a kiosk that was offline makes the first
longer, never the second). Its one field, ``tracking``, is optional: left empty,
the cases of the card in the reader are shown (newest first, at most
:data:`MAX_CASES`).

``feedback_rate`` takes the receipt's number and a verdict (``satisfied`` or
``unsatisfied``) for an answered case of this card: satisfied closes it, not
satisfied reopens it with a fresh deadline. Both need the central.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from backend_sync.feedback_wire import CaseView
from backend_sync.terminal import feedback as fb
from backend_sync.terminal.client import CentralRefused, CentralUnavailable
from backend_sync.tracking import format_tracking, normalize_tracking, valid_tracking
from kiosk.codes import FieldError, Notice, OutcomeCode
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
from kiosk.flows.feedback import category_choices

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry

__all__ = ["MAX_CASES", "FeedbackLookupFlow", "FeedbackRateFlow", "case_lines"]

log = logging.getLogger(__name__)

MAX_CASES = 3  # by card: what a screen shows without hunting
_RATE_REFUSALS = {"no_such_case": OutcomeCode.NOT_YOUR_CASE,
                  "not_answered": OutcomeCode.NOT_ANSWERED}  # fmt: skip


def _local(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, fb.TZ).strftime("%Y-%m-%d %H:%M")


def case_lines(view: CaseView, category: str) -> tuple[tuple[str, str], ...]:
    """(code, value) lines of one case. The UI words the codes, the state and the
    two durations (``fb_wait``, ``fb_dept``: milliseconds)."""
    lines = [("fb_number", format_tracking(view.tracking)), ("fb_category", category),
             ("fb_state", view.state)]  # fmt: skip
    if view.refusal:
        lines.append(("fb_refusal", view.refusal))
    lines += [("fb_submitted", _local(view.submitted_ms)), ("fb_wait", str(view.citizen_wait_ms))]
    if view.state != "refused":
        lines += [("fb_arrived", _local(view.arrived_ms)), ("fb_dept", str(view.department_ms)),
                  ("fb_deadline", _local(view.deadline_ms))]  # fmt: skip
    if view.answer:
        lines.append(("fb_answer", view.answer))
    if view.satisfied is not None:
        lines.append(("fb_rated", "satisfied" if view.satisfied else "unsatisfied"))
    return tuple(lines)


def _tracking(values: Mapping[str, str], required: bool) -> str | None:
    typed = values.get("tracking", "").strip()
    if not typed:
        if required:
            raise FormError(FieldError.REQUIRED, "tracking")
        return None
    number = normalize_tracking(typed)
    if not valid_tracking(number):
        # The check symbol catches a mistyped or swapped pair before the central is asked.
        raise FormError(FieldError.NOT_A_TRACKING_NUMBER, "tracking")
    return number


def _lookup(env: FlowEnv, *, tracking: str | None, asn: str | None) -> list[CaseView]:
    if env.client is None or not env.online:
        raise ServiceUnavailable(Notice.NEEDS_NETWORK)
    try:
        return fb.lookup(env.client, tracking=tracking, asn=asn)
    except CentralUnavailable as exc:
        env.central_down()
        raise ServiceUnavailable(Notice.NEEDS_NETWORK) from exc
    except CentralRefused as exc:
        log.warning("feedback lookup refused: %s", exc)
        raise ServiceUnavailable(Notice.SERVICE_UNAVAILABLE) from exc


class FeedbackLookupFlow(BaseFlow):
    """Show a case (by number) or this card's latest cases."""

    name = "feedback_lookup"
    fields = ("tracking",)
    always_online = True

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        tracking = _tracking(values, required=False)
        ctx.progress("preparing", None)
        views = _lookup(env, tracking=tracking, asn=None if tracking else card.asn_hex)
        if not views:
            if tracking:
                raise FormError(FieldError.CASE_NOT_FOUND, "tracking")
            return Answer(entry.id, entry.names, details=(("fb_none", ""),))
        names = dict(category_choices(env.store))
        details: list[tuple[str, str]] = []
        for v in sorted(views, key=lambda v: -v.submitted_ms)[:MAX_CASES]:
            category = pick(names[v.category], Language.ZH_HANS) if v.category in names else ""
            details += case_lines(v, category or v.category)
        return Answer(entry.id, entry.names, details=tuple(details))


class FeedbackRateFlow(BaseFlow):
    """Rate the department's answer: satisfied closes the case, not satisfied reopens it."""

    name = "feedback_rate"
    fields = ("tracking", "verdict")
    always_online = True

    def check(self, entry: ServiceEntry) -> str | None:
        problem = super().check(entry)
        if problem:
            return problem
        spec = next(f for f in entry.fields if f.name == "verdict")
        if spec.kind != "choice" or [v for v, _ in spec.choices] != ["satisfied", "unsatisfied"]:
            return "feedback_rate's verdict is a choice of satisfied, unsatisfied"
        return None

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        card = env.need_card()
        tracking = _tracking(values, required=True)
        assert tracking is not None
        verdict = values.get("verdict", "")
        spec = next(f for f in entry.fields if f.name == "verdict")
        labels = dict(spec.choices).get(verdict)
        if labels is None:
            raise FormError(FieldError.NOT_A_CHOICE, "verdict")
        ctx.progress("preparing", None)
        views = _lookup(env, tracking=tracking, asn=None)
        if not views:
            raise FormError(FieldError.CASE_NOT_FOUND, "tracking")
        view = views[0]
        if view.state != "answered":
            raise FormError(FieldError.NOT_ANSWERED, "tracking")
        common = (("fb_number", format_tracking(tracking)), ("fb_answer", view.answer or ""))
        by_language = {lang: (*common, ("fb_verdict", labels[lang])) for lang in labels}
        return Quote(entry.id, entry.names, self.name, QuoteKind.SUBMIT,
                     details=by_language.get("zh-Hans", common), details_by_language=by_language,
                     needs_receipt=False,
                     data={"tracking": tracking, "asn": card.asn_hex,
                           "satisfied": verdict == "satisfied"})  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        env.need_card()
        if env.client is None or not env.online:
            return Outcome(False, OutcomeCode.NEEDS_NETWORK, OutcomeKind.ANSWER)
        d = quote.data
        ctx.progress("submitting", None)
        try:
            state = fb.rate(env.client, tracking=str(d["tracking"]), asn=str(d["asn"]),
                            satisfied=bool(d["satisfied"]))  # fmt: skip
        except CentralUnavailable:
            env.central_down()
            return Outcome(False, OutcomeCode.NEEDS_NETWORK, OutcomeKind.ANSWER)
        except CentralRefused as exc:
            # Another card's case answers exactly like no case (no_such_case).
            return Outcome(False, _RATE_REFUSALS.get(exc.reason, OutcomeCode.REFUSED),
                           OutcomeKind.ANSWER)  # fmt: skip
        code = OutcomeCode.CASE_CLOSED if state == "closed" else OutcomeCode.CASE_REOPENED
        return Outcome(True, code, OutcomeKind.ANSWER, reference=str(d["tracking"]))
