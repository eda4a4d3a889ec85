"""The service catalog the central publishes (signed document ``catalog``).

A service declares its names in zh-Hans, zh-Hant and en, the groups it belongs to
(life stage: ``children_education``, ``work``, ``elderly_health``; topic:
``payments``, ``transport``, ``government``, ``participation``, ``card``), what it
needs (card, PIN, network), its form fields and its payment. Its ``flow`` names
the code that runs it (a :class:`kiosk.flows.base.Flow` in the registry); a new
service built on a known flow (a new biller, a new fixed-price item) needs no kiosk
release. Entries with a flow this kiosk does not know, that fail validation, or
that their flow refuses (:meth:`Flow.check`: a field or the payment it needs) are
left out (and logged), never guessed at.

Document body::

    {"groups": [{"id": "payments", "kind": "topic", "names": {...}}, ...],
     "services": [{"id": "water_bill", "names": {"zh-Hans": "水费", ...},
                   "groups": ["payments"], "flow": "bill",
                   "needs": {"card": true, "network": true},
                   "fields": [{"name": "account", "kind": "digits", "labels": {...}}],
                   "payment": {"payee": "water", "utility": "water"}}]}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kiosk.core.forms import FieldSpec

if TYPE_CHECKING:
    from kiosk.flows import FlowRegistry

__all__ = ["Catalog", "GroupEntry", "ServiceEntry", "builtin_catalog"]

log = logging.getLogger(__name__)

Names = dict[str, str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _names_ok(names: Mapping[str, str]) -> bool:
    return all(names.get(lang) for lang in ("zh-Hans", "zh-Hant", "en"))


class FieldEntry(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    labels: Names
    kind: Literal["text", "digits", "amount", "choice", "pin", "code"] = "text"
    required: bool = True
    max_length: int = Field(default=32, ge=1, le=64)
    min_fen: int | None = None
    max_fen: int | None = None
    choices: list[tuple[str, Names]] = Field(default_factory=list)

    def spec(self) -> FieldSpec:
        return FieldSpec(
            name=self.name, labels=self.labels, kind=self.kind, required=self.required,
            max_length=self.max_length, min_value=self.min_fen, max_value=self.max_fen,
            choices=tuple((v, labels) for v, labels in self.choices),
        )  # fmt: skip


class Needs(_Model):
    """What a service needs beyond its flow's own needs. ``card``: False offers it
    without a card, from the attract screen. (No ``pin``: the kiosk asks the PIN at
    the start of every card session, its own policy.)"""

    card: bool = True
    network: bool = False


class Payment(_Model):
    payee: str = Field(default="", pattern=r"^[A-Za-z0-9_.:\-]*$", max_length=64)
    amount_fen: int | None = Field(default=None, ge=1)  # fixed price
    utility: str | None = None  # receipts: water / electricity / gas
    biller: str | None = Field(default=None, max_length=40)  # its name on receipts
    funding: str = "bank"  # top-up source at the central
    offline: bool = False  # may be sold offline (within the offline limits)


class ServiceEntry(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    names: Names
    groups: list[str] = Field(default_factory=list)
    flow: str
    needs: Needs = Needs()
    fields: list[FieldEntry] = Field(default_factory=list)
    payment: Payment | None = None
    poll: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,32}$")  # a poll's id
    order: int = 100

    @model_validator(mode="after")
    def _check(self) -> ServiceEntry:
        if not _names_ok(self.names):
            raise ValueError("names need zh-Hans, zh-Hant and en")
        return self


class GroupEntry(_Model):
    id: str
    kind: Literal["stage", "topic"]
    names: Names
    order: int = 100


class Catalog:
    """The services this kiosk can run, from one catalog version."""

    def __init__(self, version: int, groups: list[GroupEntry], services: list[ServiceEntry]):
        self.version = version
        self.groups = sorted(groups, key=lambda g: (g.order, g.id))
        self.services = {s.id: s for s in sorted(services, key=lambda s: (s.order, s.id))}

    @classmethod
    def from_body(
        cls, version: int, body: Mapping[str, Any], flows: FlowRegistry | None = None
    ) -> Catalog:
        """Parse a catalog document body, keeping what validates and what a flow of
        ``flows`` (default: the built-in ones) accepts."""
        if flows is None:
            from kiosk.flows import builtin_flows

            flows = builtin_flows()
        groups: list[GroupEntry] = []
        for raw in body.get("groups", []):
            try:
                groups.append(GroupEntry.model_validate(raw))
            except ValidationError as exc:
                log.warning("catalog v%s: group left out: %s", version, exc)
        services: list[ServiceEntry] = []
        for raw in body.get("services", []):
            try:
                entry = ServiceEntry.model_validate(raw)
            except ValidationError as exc:
                log.warning("catalog v%s: service %r left out: %s", version, raw.get("id"), exc)
                continue
            flow = flows.get(entry.flow)
            if flow is None:
                log.warning("catalog v%s: %s needs flow %r, unknown here", version, entry.id,
                            entry.flow)  # fmt: skip
                continue
            problem = flow.check(entry)
            if problem:
                log.warning("catalog v%s: %s left out: %s", version, entry.id, problem)
                continue
            services.append(entry)
        known = {g.id for g in groups}
        for s in services:
            for g in s.groups:
                if g not in known:
                    groups.append(GroupEntry(id=g, kind="topic", names={"zh-Hans": g,
                                             "zh-Hant": g, "en": g}))  # fmt: skip
                    known.add(g)
        return cls(version, groups, services)

    def service(self, service_id: str) -> ServiceEntry | None:
        return self.services.get(service_id)


def _n(hans: str, hant: str, en: str) -> Names:
    return {"zh-Hans": hans, "zh-Hant": hant, "en": en}


_PIN = {"kind": "pin", "max_length": 6}


def builtin_catalog() -> dict[str, Any]:
    """Card self-service, shown before the first sync (no network needed). The
    central's catalog replaces it entirely once synced."""
    return {
        "groups": [{"id": "card", "kind": "topic", "names": _n("卡片服务", "卡片服務", "My card")}],
        "services": [
            {"id": "balance", "flow": "balance", "groups": ["card"], "order": 1,
             "names": _n("余额查询", "餘額查詢", "Balance")},
            {"id": "history", "flow": "history", "groups": ["card"], "order": 2,
             "names": _n("交易记录", "交易記錄", "Card history")},
            {"id": "change_pin", "flow": "change_pin", "groups": ["card"], "order": 3,
             "names": _n("修改密码", "修改密碼", "Change PIN"),
             "fields": [
                 {"name": "old_pin", "labels": _n("原密码", "原密碼", "Current PIN"), **_PIN},
                 {"name": "new_pin", "labels": _n("新密码", "新密碼", "New PIN"), **_PIN},
                 {"name": "new_pin_again", "labels": _n("再次输入新密码", "再次輸入新密碼",
                                                        "New PIN again"), **_PIN},
             ]},
        ],
    }  # fmt: skip
