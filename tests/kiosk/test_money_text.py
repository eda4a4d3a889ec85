"""Money and text: amounts and digit fields take the ASCII digits 0-9 only.

``str.isdigit`` (and ``int``) accept full-width, Arabic-Indic and other Unicode
digits; a kiosk that took ``１２.３４`` as ¥12.34 would hand a biller or a card a
number the citizen never saw as one.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.forms import FieldSpec, check_field
from kiosk.money import ascii_digits, format_fen, parse_yuan

_NON_ASCII_DIGITS = st.characters(categories=["Nd", "No", "Nl"]).filter(lambda c: not c.isascii())
DIGITS = FieldSpec("account", {"en": "Account"}, kind="digits")
AMOUNT = FieldSpec("amount", {"en": "Amount"}, kind="amount", max_value=10_000_000)


@pytest.mark.parametrize(
    "text",
    ["１２.３４", "١٢٫٣٤", "١٢.٣٤", "۱۲.۳۴", "१२.३४", "12.３4", "²", "12.3٤", "①"],
)
def test_unicode_digits_are_not_an_amount(text: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_yuan(text)
    assert check_field(AMOUNT, text) == ("not_an_amount", None)


@pytest.mark.parametrize("text", ["１２３４", "١٢٣٤", "12３4", "¹²³", "٠"])
def test_unicode_digits_are_not_digits(text: str) -> None:
    assert not ascii_digits(text)
    assert check_field(DIGITS, text) == ("not_digits", None)


def test_ascii_amounts_and_digits_still_pass() -> None:
    assert parse_yuan("12.34") == 1234
    assert parse_yuan("¥1,234.5") == 123_450
    assert check_field(AMOUNT, "43.30") == (None, "4330")
    assert check_field(DIGITS, "0012345") == (None, "0012345")


@settings(max_examples=200)
@given(prefix=st.text("0123456789", max_size=4), bad=_NON_ASCII_DIGITS,
       suffix=st.text("0123456789.", max_size=4))  # fmt: skip
def test_any_non_ascii_digit_anywhere_is_refused(prefix: str, bad: str, suffix: str) -> None:
    text = prefix + bad + suffix
    with pytest.raises(ValueError):
        parse_yuan(text)
    assert check_field(DIGITS, text)[0] is not None
    assert check_field(AMOUNT, text)[0] is not None


@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_yuan(format_fen(fen)) == fen
