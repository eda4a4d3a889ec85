"""Money is integer fen everywhere; this is the one place it becomes text."""

from __future__ import annotations

__all__ = ["ascii_digits", "format_fen", "parse_yuan"]


def ascii_digits(text: str) -> bool:
    """True when ``text`` is one or more of 0-9. ``str.isdigit`` is not enough: it
    also accepts full-width (１２), Arabic-Indic (١٢), superscript (²) and other
    Unicode digits, which no card, biller or account number means."""
    return text.isascii() and text.isdigit()


def format_fen(fen: int, *, symbol: str = "¥") -> str:
    """1234 -> '¥12.34'; -50 -> '-¥0.50'."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("money is integer fen")
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{symbol}{yuan:,}.{cents:02d}"


def parse_yuan(text: str) -> int:
    """'12.34' -> 1234 fen; refuses more than two decimals and anything not a number
    written with the ASCII digits 0-9."""
    raw = text.strip().lstrip("¥").replace(",", "")
    whole, _, frac = raw.partition(".")
    if not ascii_digits(whole) or (frac and (not ascii_digits(frac) or len(frac) > 2)):
        raise ValueError(f"not an amount in yuan: {text!r}")
    return int(whole) * 100 + int(frac.ljust(2, "0") or 0)
