"""The catalog: what validates is offered, what does not is left out, never guessed."""

from __future__ import annotations

import copy
from typing import Any

from kiosk.catalog import Catalog, builtin_catalog
from kiosk.demo.world import DEMO_CATALOG


def _with(service: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(DEMO_CATALOG)
    body["services"].append(service)
    return body


NAMES = {"zh-Hans": "新", "zh-Hant": "新", "en": "New"}


def test_demo_and_builtin_catalogs_parse_whole() -> None:
    demo = Catalog.from_body(1, DEMO_CATALOG)
    assert len(demo.services) == len(DEMO_CATALOG["services"])
    assert {g.kind for g in demo.groups} == {"stage", "topic"}
    assert list(Catalog.from_body(0, builtin_catalog()).services) == [
        "balance", "history", "change_pin"]  # fmt: skip


def test_bad_entries_are_left_out() -> None:
    bad = [
        {"id": "a", "flow": "teleport", "names": NAMES},  # flow unknown to this kiosk
        {"id": "b", "flow": "balance", "names": {"en": "only English"}},  # names missing
        {"id": "c", "flow": "bill", "names": NAMES, "payment": {"payee": "x"}},  # no account
        {"id": "d", "flow": "fixed_price", "names": NAMES, "payment": {"payee": "x"}},  # price
        {"id": "E!", "flow": "balance", "names": NAMES},  # id
        {"id": "f", "flow": "top_up", "names": NAMES, "fields": [
            {"name": "amount", "kind": "slider", "labels": NAMES}]},  # field kind
    ]  # fmt: skip
    for entry in bad:
        cat = Catalog.from_body(2, _with(entry))
        assert entry["id"] not in cat.services, entry
        assert len(cat.services) == len(DEMO_CATALOG["services"])


def test_a_new_group_is_made_from_its_id_when_undeclared() -> None:
    cat = Catalog.from_body(3, _with({"id": "poll", "flow": "fixed_price", "names": NAMES,
                                      "groups": ["participation"],
                                      "payment": {"payee": "x", "amount_fen": 1}}))  # fmt: skip
    assert "participation" in {g.id for g in cat.groups}
    assert cat.service("poll") is not None
