"""One composition on the pinyin keyboard: letters typed, candidates, choices.

The citizen types letters; :meth:`Composer.page` offers candidates for what is
still unconverted: first the likeliest reading of all of it (a unigram path over
the dictionary's words), then words for the longest run of tokens down to one,
most used first. Choosing one converts its tokens; when nothing is left, the
whole text is committed (returned) to the field. Delete undoes the last choice,
then letters. A field's ``context`` changes the first choice: a name field puts
surnames first for its first character and common name characters after.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from terminal_ui.ime.lexicon import Candidate, Lexicon, Script
from terminal_ui.ime.names import NAME_CHARACTERS, SURNAMES, to_traditional
from terminal_ui.ime.pinyin import Token, tokenize

__all__ = ["Composer", "Page"]

MAX_WORD_TOKENS = 6
LENGTH_BONUS = 1.25  # longer words a little ahead of their per-token cost


@dataclass(frozen=True)
class Page:
    """The candidates shown, and whether there are more either side."""

    candidates: tuple[Candidate, ...]
    number: int
    has_previous: bool
    has_next: bool


@dataclass
class Composer:
    """The state of one composition (letters typed, choices made so far)."""

    lexicon: Lexicon
    script: Script = "hans"
    context: str = ""  # "name": a person's name; "" ordinary text
    page_size: int = 6  # candidates a page shows at most
    page_chars: int = 14  # characters the bar has room for (each candidate counts +1)
    letters: str = ""
    chosen: list[Candidate] = field(default_factory=list)
    at_field_start: bool = True  # nothing typed in the field before this composition
    _page: int = 0
    _cache: tuple[tuple[str, int, str], list[Candidate]] | None = None

    # -- state --------------------------------------------------------------------------
    @property
    def tokens(self) -> list[Token]:
        """The tokens of the letters not yet converted."""
        return tokenize(self._rest, self.lexicon.syllables)

    @property
    def _rest(self) -> str:
        return self.letters[self.consumed :]

    @property
    def active(self) -> bool:
        """Whether anything is being composed."""
        return bool(self.letters)

    @property
    def consumed(self) -> int:
        """Letters converted by the choices so far."""
        return sum(c.letters for c in self.chosen)

    @property
    def preedit(self) -> str:
        """What the composition line shows: the choices, then the tokens left."""
        return "".join(c.text for c in self.chosen) + "'".join(t.text for t in self.tokens)

    # -- keys ---------------------------------------------------------------------------
    def type(self, letter: str) -> None:
        """A letter a–z (or an apostrophe, a syllable boundary)."""
        if letter == "'" and (not self.letters or self.letters.endswith("'")):
            return
        self.letters += letter.lower()
        self._page = 0

    def delete(self) -> bool:
        """Undo the last choice, else the last letter; False when there was nothing."""
        self._page = 0
        if self.chosen:
            self.chosen.pop()
            return True
        if self.letters:
            self.letters = self.letters[:-1]
            return True
        return False

    def clear(self) -> None:
        self.letters = ""
        self.chosen.clear()
        self._page = 0

    def choose(self, candidate: Candidate) -> str | None:
        """Take ``candidate``; the text to commit when nothing is left, else None."""
        if candidate.letters <= 0:
            raise ValueError("a candidate from this composer's candidates() is needed")
        self.chosen.append(candidate)
        self._page = 0
        if not self.tokens:
            return self.commit()
        return None

    def commit(self) -> str:
        """End the composition: the choices, and any letters left as they are."""
        text = "".join(c.text for c in self.chosen) + "".join(t.text for t in self.tokens)
        self.clear()
        return text

    # -- candidates ---------------------------------------------------------------------
    def next_page(self) -> None:
        if self.page().has_next:
            self._page += 1

    def previous_page(self) -> None:
        self._page = max(0, self._page - 1)

    def page(self) -> Page:
        """The page of candidates showing: as many as fit the bar, at most page_size."""
        everything = self.candidates()
        start, number = 0, 0
        while True:
            end = self._page_end(everything, start)
            if number >= self._page or end >= len(everything):
                break
            start, number = end, number + 1
        self._page = number
        return Page(tuple(everything[start:end]), number, number > 0, end < len(everything))

    def _page_end(self, everything: list[Candidate], start: int) -> int:
        used, end = 0, start
        while end < len(everything) and end - start < max(1, self.page_size):
            used += len(everything[end].text) + 1
            if used > self.page_chars and end > start:
                break
            end += 1
        return end

    def candidates(self) -> list[Candidate]:
        """All candidates for what is left, in the order offered: the likeliest
        reading of all of it, words for all of it (the unit the citizen typed), then
        words for its beginning, by cost per token."""
        key = (self.letters, self.consumed, self.script)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        out: list[Candidate] = []
        seen: set[str] = set()

        def add(c: Candidate) -> None:
            if c.text not in seen:
                seen.add(c.text)
                out.append(c)

        rest = self._rest
        name_start = self.context == "name" and self.at_field_start and not self.chosen
        whole: list[tuple[float, int, Candidate]] = []
        parts: list[tuple[float, int, Candidate]] = []
        for i, tokens in enumerate(self._readings(rest)):
            ends = _ends(rest, tokens)
            shortest = 1 if i == 0 else len(tokens)  # other readings: whole words only
            if len(tokens) > 1:
                sentence = self._sentence(tokens)
                if sentence is not None:
                    add(replace(sentence, letters=ends[-1]))
            for n in range(min(len(tokens), MAX_WORD_TOKENS), shortest - 1, -1):
                words = self.lexicon.words(tokens[:n], self.script)
                if self.context == "name":
                    words = self._for_names(words, surname=name_start, length=n)
                # A name mixes lengths by the name lists' order; other text offers
                # words for all that was typed first (the unit the citizen meant).
                into = whole if n == len(tokens) and self.context != "name" else parts
                for rank, w in enumerate(words):
                    score = rank if into is whole else self._rank(w, rank)
                    into.append((score, len(into), replace(w, letters=ends[n - 1])))
        for group in (whole, parts):
            group.sort(key=lambda s: (s[0], s[1]))
            for _score, _i, w in group:
                add(w)
        self._cache = (key, out)
        return out

    def _readings(self, rest: str) -> list[list[Token]]:
        """The cheapest split of ``rest``; the same with every zh/ch/sh initial split
        in two ("smsh" is 什么时候, s-m-s-h, as well as s-m-sh); and, for a few
        letters, each letter its own syllable's initial ("ye" is 也, and 余额)."""
        best = tokenize(rest, self.lexicon.syllables)
        out = [best]
        alt: list[Token] = []
        for t in best:
            if not t.whole and t.text in ("zh", "ch", "sh"):
                alt += [Token(t.text[0], False), Token("h", False)]
            else:
                alt.append(t)
        letters = [c for c in rest if c != "'"]
        each = [Token(c, c in self.lexicon.syllables) for c in letters]
        for reading in (alt, each if 1 < len(letters) <= 3 else []):
            if reading and reading not in out:
                out.append(reading)
        return out

    def _rank(self, word: Candidate, rank: int) -> float:
        """Order across lengths: unigram cost per token, so a common two-character
        word comes before a rare character and a rare four-character word after both;
        ``rank`` keeps a field's own order (surnames) within a length."""
        per_token = self.lexicon.cost(word.weight) / math.pow(word.length, LENGTH_BONUS)
        return per_token + rank * 1e-6 if self.context != "name" else rank + per_token * 1e-3

    def _sentence(self, tokens: list[Token]) -> Candidate | None:
        """The likeliest words for all of ``tokens`` (a shortest path by unigram cost)."""
        n = len(tokens)
        best: list[tuple[float, list[Candidate]] | None] = [None] * (n + 1)
        best[0] = (0.0, [])
        for i in range(n):
            here = best[i]
            if here is None:
                continue
            for j in range(i + 1, min(n, i + MAX_WORD_TOKENS) + 1):
                word = self.lexicon.best(tokens[i:j], self.script)
                if word is None:
                    continue
                cost = here[0] + self.lexicon.cost(word.weight)
                old = best[j]
                if old is None or cost < old[0]:
                    best[j] = (cost, [*here[1], word])
        end = best[n]
        if end is None or len(end[1]) < 2:
            return None  # one word: it is offered as that word already
        weight = min(w.weight for w in end[1])
        return Candidate("".join(w.text for w in end[1]), n, weight)

    def _for_names(self, words: list[Candidate], *, surname: bool, length: int) -> list[Candidate]:
        """For a name: at its start, surnames first (single characters in order of how
        common they are, words that begin with one); later, characters common in given
        names; then the rest."""
        table = SURNAMES if surname else NAME_CHARACTERS
        if length > 1:
            if not surname:
                return words
            lead = set(table if self.script == "hans" else to_traditional(table))
            return [w for w in words if w.text[0] in lead] + [
                w for w in words if w.text[0] not in lead
            ]
        rank = {ch: i for i, ch in enumerate(table if self.script == "hans" else
                                             to_traditional(table))}  # fmt: skip
        first = sorted((w for w in words if w.text in rank), key=lambda w: rank[w.text])
        return first + [w for w in words if w.text not in rank]


def _ends(letters: str, tokens: list[Token]) -> list[int]:
    """Where each token ends in ``letters`` (apostrophes and skipped letters count)."""
    ends, pos = [], 0
    for t in tokens:
        at = letters.find(t.text, pos)
        pos = (at if at >= 0 else pos) + len(t.text)
        ends.append(pos)
    return ends
