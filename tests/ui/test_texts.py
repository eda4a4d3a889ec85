"""Every code the kiosk can show has words (terminal_ui/texts.py), in three languages.

The codes are the members of the enums in kiosk/codes.py (and the flows' quote
kinds, the card roles): a member without words would show only the generic
sentence. The kiosk's source is also searched for progress steps given as bare
strings, so a step cannot bypass the enum."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from cardlib.certs import Role
from kiosk.codes import (
    FieldError,
    Notice,
    OutcomeCode,
    PrinterProblem,
    ReceiptState,
    Refusal,
    Step,
    WhyNot,
)
from kiosk.flows.base import QuoteKind
from terminal_ui import texts
from terminal_ui.i18n import Translator

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "kiosk").rglob("*.py")))

TABLES: list[tuple[type[StrEnum], object]] = [
    (Refusal, texts.REFUSALS),
    (Notice, texts.NOTICES),
    (WhyNot, texts.WHY_NOT),
    (FieldError, texts.FIELD_ERRORS),
    (OutcomeCode, texts.RESULTS),
    (ReceiptState, texts.RECEIPT),
    (PrinterProblem, texts.PRINTER_PROBLEMS),
    (Step, texts.BUSY),
    (Role, texts.ROLES),
    (QuoteKind, texts.CONFIRM_TITLES),
]


@pytest.mark.parametrize(("codes", "table"), TABLES, ids=[t[0].__name__ for t in TABLES])
def test_every_code_has_words(codes: type[StrEnum], table: object) -> None:
    missing = sorted(c.value for c in codes if c.value not in table)  # type: ignore[operator]
    assert not missing, f"no words for {codes.__name__} {missing} (terminal_ui/texts.py)"


@pytest.mark.parametrize(("codes", "table"), TABLES, ids=[t[0].__name__ for t in TABLES])
def test_the_words_exist_in_every_language(codes: type[StrEnum], table: object) -> None:
    t = Translator()
    for code in codes:
        entry = table[code.value]  # type: ignore[index]
        for msgid in entry if isinstance(entry, tuple) else (entry,):
            if not msgid:
                continue  # ReceiptState.NONE: nothing to say
            words = {lang: t.gettext(msgid, lang) for lang in t.languages}
            assert words["zh-Hans"] != msgid and words["zh-Hant"] != msgid, (code, msgid)


def test_form_checks_give_field_error_codes() -> None:
    forms = (ROOT / "kiosk/core/forms.py").read_text(encoding="utf-8")
    found = set(re.findall(r'return "([a-z_]+)", None', forms))
    found |= set(re.findall(r'errors\[[a-z_.]+\] = "([a-z_]+)"', forms))
    assert {"required", "not_digits", "pins_differ"} <= found  # the patterns still find them
    assert found <= {c.value for c in FieldError}, sorted(found - {c.value for c in FieldError})


def test_progress_steps_in_the_source_are_steps() -> None:
    found = set(re.findall(r'progress\("([a-z_]+)"', SOURCE))
    assert {"reading_card", "debiting"} <= found  # the pattern still finds them
    assert found <= {s.value for s in Step}, sorted(found - {s.value for s in Step})


def test_every_outbox_refusal_has_words_for_the_technician() -> None:
    # The kiosk goes out of service with these codes (backend_sync.terminal.outbox_guard).
    from backend_sync.terminal.outbox_guard import OUTBOX_PROBLEMS
    from terminal_ui.i18n import Translator

    tr = Translator()
    for code in OUTBOX_PROBLEMS:
        words = texts.OUT_OF_SERVICE_REASONS[code]
        assert tr.gettext(words, "zh-Hans") != words, code  # translated, not the English id
        assert tr.gettext(words, "zh-Hant") != words, code
