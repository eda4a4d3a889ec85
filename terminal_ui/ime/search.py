"""Finding services by what a citizen types: pinyin initials, full pinyin or Latin.

"sf" finds 水费 (水費), "shuif" too, "water" finds "Water bill". Each character of
a name may be read any way the dictionary knows (行 is both xing and hang), so
polyphones never hide a service; the typed tokens must match consecutive
characters of the name, from any character on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from terminal_ui.ime.lexicon import Lexicon
from terminal_ui.ime.pinyin import Token, tokenize

__all__ = ["Entry", "search"]


@dataclass(frozen=True)
class Entry:
    """Something to find: its id and its name (in the language on screen)."""

    id: str
    name: str


def search(lexicon: Lexicon, query: str, entries: Iterable[Entry]) -> list[Entry]:
    """The entries ``query`` finds, those matching from their first character first."""
    q = query.strip().lower()
    if not q:
        return list(entries)
    tokens = tokenize(q.replace(" ", "'"), lexicon.syllables)
    # "ye" is a syllable, but typed for 余额 it is two initials: try both readings.
    initials = [Token(c, False) for c in q if "a" <= c <= "z"]
    hits: list[tuple[int, int, Entry]] = []
    for order, entry in enumerate(entries):
        found = [_match_at(lexicon, t, entry.name) for t in (tokens, initials) if t]
        at = min((f for f in found if f is not None), default=None)
        if at is None and q in entry.name.lower():
            at = entry.name.lower().index(q)
        if at is not None:
            hits.append((at, order, entry))
    hits.sort(key=lambda h: (h[0], h[1]))
    return [h[2] for h in hits]


def _match_at(lexicon: Lexicon, tokens: list[Token], name: str) -> int | None:
    chars = [c for c in name if not c.isspace()]
    readings = [lexicon.readings(c) for c in chars]
    for start in range(len(chars) - len(tokens) + 1):
        if all(any(t.matches(r) for r in readings[start + i]) for i, t in enumerate(tokens)):
            return start
    return None
