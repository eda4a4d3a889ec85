"""Feedback tracking numbers: made at the kiosk, printed on the receipt, checked
at the central.

A number is 15 random Crockford base32 digits (75 bits from the OS's CSPRNG) and
one check symbol (a position-weighted sum mod 31, a prime: a single wrong symbol
or a swap of two neighbours is caught): it says nothing about when, where or how
many cases were made, and guessing someone else's case takes about 2**74 tries.
Typed back in, O is read as 0, I and L as 1, and spaces and dashes are ignored.
"""

from __future__ import annotations

import secrets

__all__ = ["ALPHABET", "format_tracking", "new_tracking", "normalize_tracking", "valid_tracking"]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_RANDOM_DIGITS = 15


def new_tracking() -> str:
    """A fresh tracking number (16 characters, all in the base32 alphabet)."""
    digits = "".join(secrets.choice(ALPHABET) for _ in range(_RANDOM_DIGITS))
    return digits + _check_digit(digits)


def _check_digit(digits: str) -> str:
    # Position weights 1..15 mod the prime 31: a wrong symbol or two swapped
    # neighbours change the sum (unless the two symbols differ by exactly 31).
    value = sum((i + 1) * ALPHABET.index(ch) for i, ch in enumerate(digits)) % 31
    return ALPHABET[value]


def valid_tracking(number: str) -> bool:
    """Well formed and its check symbol agrees."""
    if len(number) != _RANDOM_DIGITS + 1 or any(c not in ALPHABET for c in number):
        return False
    return _check_digit(number[:-1]) == number[-1]


def normalize_tracking(typed: str) -> str:
    """What a citizen typed (or a QR held) as the canonical 16 characters."""
    s = typed.strip().upper().replace("-", "").replace(" ", "")
    return s.translate(str.maketrans("OIL", "011"))


def format_tracking(number: str) -> str:
    """For the receipt: four groups of four."""
    return "-".join(number[i : i + 4] for i in range(0, len(number), 4))
