"""Every code the kiosk core and services can send has words (terminal_ui/texts.py):
a code missing here would show only the generic sentence. Codes are found in the
kiosk's source where they are made."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from terminal_ui import texts

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "kiosk").rglob("*.py")))

# (what makes the code, the table that must word it)
KINDS = [
    (r'refusal="([a-z_]+)"', texts.REFUSALS),
    (r'\._refusal = "([a-z_]+)"', texts.REFUSALS),
    (r'progress\("([a-z_]+)"', texts.BUSY),
    (r'_start_job\(\s*"([a-z_]+)"', texts.BUSY),
    (r'Outcome\(False, "([a-z_]+)"', texts.RESULTS),
    (r'ServiceUnavailable\("([a-z_]+)"\)', texts.NOTICES),
    (r'FormError\("([a-z_]+)"', texts.FIELD_ERRORS),
    (r'notice="([a-z_]+)"', texts.NOTICES),
    (r'notices\.append\("([a-z_]+)"\)', texts.NOTICES),
    (r'_back_to_menu\("([a-z_]+)"\)', texts.NOTICES),
    (r'_take_card\("([a-z_]+)"\)', texts.NOTICES),
    (r'errors\[[a-z_.]+\] = "([a-z_]+)"', texts.FIELD_ERRORS),
    (r'return "([a-z_]+)", None', texts.FIELD_ERRORS),
]


@pytest.mark.parametrize(("pattern", "table"), KINDS, ids=[k[0] for k in KINDS])
def test_every_code_the_kiosk_makes_has_words(pattern: str, table: object) -> None:
    codes = set(re.findall(pattern, SOURCE))
    missing = sorted(c for c in codes if c not in table)  # type: ignore[operator]
    assert not missing, f"no words for {missing} (add them to terminal_ui/texts.py)"


def test_the_patterns_still_find_codes() -> None:
    # If the kiosk's source changes shape, the patterns above must not silently
    # find nothing: a few codes known to exist are found.
    found = {c for pattern, _ in KINDS for c in re.findall(pattern, SOURCE)}
    assert {"hotlisted", "reading_card", "insufficient_balance", "bill_not_found"} <= found


def test_every_outbox_refusal_has_words_for_the_technician() -> None:
    # The kiosk goes out of service with these codes (backend_sync.terminal.outbox_guard).
    from backend_sync.terminal.outbox_guard import OUTBOX_PROBLEMS
    from terminal_ui.i18n import Translator

    tr = Translator()
    for code in OUTBOX_PROBLEMS:
        words = texts.OUT_OF_SERVICE_REASONS[code]
        assert tr.gettext(words, "zh-Hans") != words, code  # translated, not the English id
        assert tr.gettext(words, "zh-Hant") != words, code
