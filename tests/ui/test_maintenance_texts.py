"""The technician's pages have words for every code they can show, in three languages.

The codes come from the enums (kiosk.diagnostics.model, kiosk.journeys.maintenance)
and the journey's reason list, so a new code without words fails here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from kiosk.diagnostics import Code, DeviceKind, Health, NextStep, SelfTestName
from kiosk.journeys.maintenance import Action
from kiosk.journeys.maintenance_pages import REASONS
from terminal_ui import texts_maintenance as tm
from terminal_ui.i18n import Translator

SAME_IN_EVERY_LANGUAGE = {"PSAM"}  # a name, written so in Chinese too

TABLES: list[tuple[str, Iterable[str], Mapping[str, str]]] = [
    ("DeviceKind", [c.value for c in DeviceKind], tm.DEVICES),
    ("Health", [c.value for c in Health], tm.HEALTH),
    ("Code", [c.value for c in Code], tm.CODES),
    ("NextStep", [c.value for c in NextStep], tm.STEPS),
    ("SelfTestName", [c.value for c in SelfTestName], tm.TESTS),
    ("Action", [c.value for c in Action], tm.ACTIONS),
    ("REASONS", REASONS, tm.REASONS),
]


@pytest.mark.parametrize(("name", "codes", "table"), TABLES, ids=[t[0] for t in TABLES])
def test_every_maintenance_code_has_words_in_every_language(
    name: str, codes: Iterable[str], table: Mapping[str, str]
) -> None:
    missing = sorted(c for c in codes if c not in table)
    assert not missing, f"no words for {name} {missing} (terminal_ui/texts_maintenance.py)"
    t = Translator()
    for code in codes:
        msgid = table[code]
        if not msgid or msgid in SAME_IN_EVERY_LANGUAGE:
            continue
        for lang in ("zh-Hans", "zh-Hant"):
            assert t.gettext(msgid, lang) != msgid, (lang, msgid)
