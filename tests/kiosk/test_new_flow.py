"""A new kind of service is one flow module plus a catalog entry: shown with a flow
that exists only in this test (a consultation that answers with a tracking number,
printed on a signed slip), run end to end on the simulators and the central."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from kiosk.catalog import Catalog
from kiosk.codes import OutcomeCode
from kiosk.core.views import Language, pick
from kiosk.core.worker import JobContext
from kiosk.demo.world import DEMO_CATALOG
from kiosk.flows import builtin_flows
from kiosk.flows.base import Answer, BaseFlow, FlowEnv, Outcome, OutcomeKind, Quote, QuoteKind
from kiosk.journeys.citizen_states import State
from kiosk.receipts.signing import verify_reference
from kiosk.receipts.slips import Slip
from tests.kiosk.conftest import Kiosk

if TYPE_CHECKING:
    from kiosk.catalog import ServiceEntry
    from kiosk.receipts.layouts import Receipt


class ConsultationFlow(BaseFlow):
    """Test only: a question for a department, answered later; the citizen keeps a
    tracking number."""

    name = "test_consultation"
    fields = ("topic",)

    def __init__(self) -> None:
        self.cases = 0

    def prepare(
        self, entry: ServiceEntry, values: Mapping[str, str], env: FlowEnv, ctx: JobContext
    ) -> Quote | Answer:
        env.need_card()
        return Quote(entry.id, entry.names, self.name, QuoteKind.SUBMIT,
                     details=(("topic", values["topic"]),))  # fmt: skip

    def execute(
        self, quote: Quote, env: FlowEnv, ctx: JobContext, pins: Mapping[str, str]
    ) -> Outcome:
        ctx.progress("submitting", None)
        self.cases += 1
        return Outcome(True, OutcomeCode.SUBMITTED, OutcomeKind.TRACKING_NUMBER,
                       reference=f"C2026-{self.cases:05d}", details=quote.details)  # fmt: skip

    def receipt(
        self, quote: Quote, outcome: Outcome, language: Language, at: dt.datetime
    ) -> Receipt | Slip | None:
        assert outcome.reference is not None
        return Slip("tracking_number", pick(quote.titles, language), outcome.reference,
                    outcome.details, at)  # fmt: skip


ENTRY = {
    "id": "ask_housing", "flow": "test_consultation", "groups": ["government"], "order": 30,
    "names": {"zh-Hans": "住房咨询", "zh-Hant": "住房諮詢", "en": "Ask about housing"},
    "fields": [{"name": "topic", "kind": "text", "max_length": 40,
                "labels": {"zh-Hans": "问题", "zh-Hant": "問題", "en": "Question"}}],
}  # fmt: skip


def _catalog() -> dict[str, object]:
    body = copy.deepcopy(DEMO_CATALOG)
    if any(g["id"] == "government" for g in body["groups"]):  # the demo has the group
        body["services"].append(ENTRY)
        return body
    body["groups"].append(
        {
            "id": "government",
            "kind": "topic",
            "order": 4,
            "names": {"zh-Hans": "政务", "zh-Hant": "政務", "en": "Government"},
        }
    )
    body["services"].append(ENTRY)
    return body


def test_a_kiosk_that_does_not_know_the_flow_leaves_the_service_out() -> None:
    assert "ask_housing" not in Catalog.from_body(1, _catalog()).services
    flows = builtin_flows().with_flows(ConsultationFlow())
    assert "ask_housing" in Catalog.from_body(1, _catalog(), flows).services


def test_a_service_on_a_new_flow_runs_end_to_end(make_kiosk: Callable[..., Kiosk]) -> None:
    flow = ConsultationFlow()
    k = make_kiosk(catalog=_catalog(), flows=builtin_flows().with_flows(flow))
    k.start()
    k.login(1)
    menu = {g.group_id: [i.service_id for i in g.items] for g in k.m.screen().menu}
    assert "ask_housing" in menu["government"]  # beside the demo's application progress
    k.m.choose_service("ask_housing")
    k.settle()
    k.m.set_field("topic", "公积金贷款")
    k.m.submit_form()
    k.settle()
    confirm = k.m.screen().confirm
    assert k.state is State.CONFIRM and confirm is not None
    assert (confirm.kind, confirm.amount_fen) == ("submit", 0)
    assert confirm.details == (("topic", "公积金贷款"),)
    k.m.confirm()
    k.settle()
    res = k.m.screen().result
    assert k.state is State.DONE and res is not None
    assert (res.ok, res.code, res.kind, res.reference, res.receipt) == (
        True, "submitted", "tracking_number", "C2026-00001", "printed")  # fmt: skip
    assert k.world.printer_sim is not None
    (job,) = k.world.printer_sim.jobs
    assert "C2026-00001" in job.text and "公积金贷款" in job.text
    ref = verify_reference(job.qr_payloads[0].decode(), k.world.terminal_cert)
    assert (ref.kind, ref.transaction_id, ref.amount_fen) == ("tracking_number", "C2026-00001", 0)
    assert k.world.outbox.status().head_seq == 0  # no money moved
