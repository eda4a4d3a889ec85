"""The demo catalog's city services are found by the pinyin initials a citizen
would type ("sb" → 社保), in Simplified and Traditional names alike."""

from __future__ import annotations

import pytest

from kiosk.demo.catalog import DEMO_CATALOG
from terminal_ui.ime.lexicon import Lexicon
from terminal_ui.ime.search import Entry, search
from tests.ime.test_pinyin import lexicon  # noqa: F401  (the session's compiled dictionary)


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
@pytest.mark.parametrize(
    ("typed", "service"),
    [
        ("sb", "social_security"),
        ("shebao", "social_security"),
        ("gjj", "housing_fund"),
        ("rqf", "gas_bill"),
        ("jtwf", "traffic_fines"),
        ("bjjd", "application_progress"),
    ],
)
def test_city_services_by_initials(
    lexicon: Lexicon,  # noqa: F811
    lang: str,
    typed: str,
    service: str,
) -> None:
    entries = [Entry(s["id"], s["names"][lang]) for s in DEMO_CATALOG["services"]]
    found = [e.id for e in search(lexicon, typed, entries)]
    # Among the first two: a polyphone may match another name as well (费 is also
    # read bì, so "sb" finds 水费 too), and polyphones never hide a service.
    assert service in found[:2], found
