"""Splitting typed letters into pinyin syllables, full or abbreviated.

A citizen types pinyin without tones, often with only the first letters ("nh" for
你好) or a syllable cut short ("zhangw"). :func:`tokenize` turns the letters into
:class:`Token` s: a whole syllable (matches itself), an initial (matches every
syllable starting with it: "z" matches "zhang" too, as in every pinyin input
method) or, at the end only, the start of a syllable still being typed. An
apostrophe forces a boundary ("xi'an" is not "xian"). ``v`` stands for ü.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["INITIALS", "Token", "abbreviation", "tokenize"]

INITIALS = frozenset({"zh", "ch", "sh", *"bpmfdtnlgkhjqxrzcsyw"})
# Costs of the segmentation: fewer tokens win; a whole syllable is cheaper than an
# initial, so "xian" is one syllable and "nh" is two initials.
_COST_SYLLABLE = 1.0
_COST_INITIAL = 1.5
_COST_PARTIAL = 1.3
_LETTERS = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class Token:
    """One typed piece: ``text`` and whether it is a whole syllable."""

    text: str
    whole: bool

    def matches(self, syllable: str) -> bool:
        """Whether ``syllable`` can be what this token stands for."""
        return syllable == self.text if self.whole else syllable.startswith(self.text)

    @property
    def pattern(self) -> str:
        """A regular expression for the syllables it matches."""
        return self.text if self.whole else self.text + "[a-z]*"


def abbreviation(syllables: list[str] | tuple[str, ...]) -> str:
    """The first letters of ``syllables`` ("zhang wei" → "zw"): the index key."""
    return "".join(s[0] for s in syllables)


def tokenize(letters: str, syllables: Collection[str]) -> list[Token]:
    """The cheapest split of ``letters`` (lower-case a–z and apostrophes) into
    tokens over the syllable set ``syllables``; letters that fit nothing are dropped."""
    tokens: list[Token] = []
    for chunk in letters.lower().split("'"):
        if chunk:
            tokens.extend(_split(chunk, syllables))
    return tokens


def _split(chunk: str, syllables: Collection[str]) -> list[Token]:
    n = len(chunk)
    # best[i]: (cost, tokens) for chunk[:i]
    best: list[tuple[float, list[Token]] | None] = [None] * (n + 1)
    best[0] = (0.0, [])
    longest = 6  # "zhuang", "shuang"
    for i in range(n):
        here = best[i]
        if here is None:
            continue
        cost, toks = here
        for j in range(i + 1, min(n, i + longest) + 1):
            piece = chunk[i:j]
            options: list[tuple[float, Token]] = []
            if piece in syllables:
                options.append((_COST_SYLLABLE, Token(piece, True)))
            if piece in INITIALS:
                options.append((_COST_INITIAL, Token(piece, False)))
            elif j == n and any(s.startswith(piece) for s in syllables):
                options.append((_COST_PARTIAL, Token(piece, False)))
            for c, tok in options:
                cand = (cost + c, [*toks, tok])
                old = best[j]
                if old is None or cand[0] < old[0]:
                    best[j] = cand
    done = best[n]
    if done is not None:
        return done[1]
    # Letters that start no syllable (a stray "i"): skip one and go on.
    for cut in range(n - 1, 0, -1):
        part = best[cut]
        if part is not None:
            return [*part[1], *_split(chunk[cut + 1 :], syllables)]
    return _split(chunk[1:], syllables) if n > 1 else []
