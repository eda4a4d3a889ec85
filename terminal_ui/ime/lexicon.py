"""The pinyin dictionary: words, their syllables and how often they are used.

The data is Rime's Luna Pinyin table (Debian ``rime-data-luna-pinyin``): about
49,000 characters (all of GB 2312's 6,763, and Extension A names such as 䶮) and
300,000 words, each with a frequency from Rime's essay corpus. It is plain text
(``word<TAB>syllables<TAB>weight``), read as text, never unpickled. Luna Pinyin
writes Traditional characters; Simplified candidates are the same table through
OpenCC's ``t2s`` (as Rime's own ``luna_pinyin_simp`` does), with the weights of
words that become one summed (張 and the unweighted 张 are one 张).

The table is compiled once into an SQLite file (indexed by the first letters of
the syllables, so "nh" is one index range) and looked up from there: held in
Python objects it cost the kiosk process about 130 MB; from SQLite, a few MB of
page cache. The file is rebuilt when the table changes, written to a temporary
name and renamed, so a power cut leaves the old file or none, never half of one;
a file that does not open as this dictionary is rebuilt. Nothing is read until
the first lookup (:class:`LazyLexicon`): a citizen who never types costs nothing.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import sqlite3
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from terminal_ui.ime.pinyin import Token, abbreviation

__all__ = ["DATA_NAME", "Candidate", "LazyLexicon", "Lexicon", "Script", "find_table"]

Script = Literal["hans", "hant"]
DATA_NAME = "rime-data/build/luna_pinyin.table.txt"
# Words used less than this in the essay corpus are left out (characters never
# are): they are a fifth of the table and almost never what a citizen types.
MIN_WORD_WEIGHT = 1.0
MAX_SYLLABLES = 6  # longer entries (idioms of 7+) are composed from shorter words
FORMAT = "1"  # of the compiled file: a change rebuilds it
_CACHE = 512  # lookups remembered (typing a letter repeats most of the last ones)
# Candidates one lookup returns at most: a single initial matches thousands of
# characters, and nobody pages past a few hundred (they type another letter).
MAX_CANDIDATES = 1000
# Syllables that are interjections (嗯 n, 呣 m, 哼 hng): as tokens they would eat
# the initials n and m.
_NOT_TOKENS = frozenset({"n", "ng", "m", "hm", "hng", "eh", "ê", "0%"})


@dataclass(frozen=True)
class Candidate:
    """A word offered for the first ``length`` tokens of the composition."""

    text: str
    length: int  # tokens it stands for
    weight: float
    letters: int = 0  # typed letters it converts (set by the composer)


def find_table(extra: Iterable[Path] = ()) -> Path:
    """The Luna Pinyin table: in ``extra`` folders, then the XDG data folders."""
    dirs = [*extra]
    xdg = os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    dirs += [Path(d) for d in xdg.split(":") if d]
    for d in dirs:
        for path in (d / DATA_NAME, d / Path(DATA_NAME).name):
            if path.is_file():
                return path
    raise FileNotFoundError(f"{DATA_NAME} not found (Debian package rime-data-luna-pinyin)")


def default_cache_dir() -> Path:
    """Where the compiled dictionary lives: ``CIVICARD_PINYIN_CACHE``, else the user's
    cache folder (``XDG_CACHE_HOME``, ``~/.cache``)/civicard."""
    if os.environ.get("CIVICARD_PINYIN_CACHE"):
        return Path(os.environ["CIVICARD_PINYIN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "civicard"


def _rows(lines: Iterable[str]) -> Iterable[tuple[str, str, str, float]]:
    """(abbreviation, syllables, word, weight) of each usable table line."""
    for line in lines:
        if not line or line[0] == "#":
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 3:
            continue  # not a table line: skip, never guess
        word, pinyin, weight_text = parts
        syl = pinyin.split()
        try:
            weight = float(weight_text)
        except ValueError:
            continue
        if (not word or not syl or len(syl) > MAX_SYLLABLES or not math.isfinite(weight)
                or weight < 0 or not all(s.isascii() and s.isalpha() for s in syl)):  # fmt: skip
            continue
        single = len(syl) == 1 and len(word) == 1
        if not single and weight < MIN_WORD_WEIGHT:
            continue
        yield abbreviation(syl), " ".join(syl), word, weight


def _compile(lines: Iterable[str], db: sqlite3.Connection, stamp: str) -> None:
    import opencc  # here: only a kiosk whose citizens type pays for it

    to_hans = opencc.OpenCC("t2s")
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE words (abbr TEXT NOT NULL, syl TEXT NOT NULL, hant TEXT NOT NULL,
                            hans TEXT NOT NULL, weight REAL NOT NULL);
        CREATE TABLE readings (ch TEXT NOT NULL, syl TEXT NOT NULL);
    """)
    syllables: set[str] = set()
    total = 0.0
    rows = _rows(lines)
    while batch := list(itertools.islice(rows, 20_000)):  # bounded memory while compiling
        # One conversion call per batch (OpenCC segments at the newlines).
        hans = to_hans.convert("\n".join(r[2] for r in batch)).split("\n")
        if len(hans) != len(batch):
            hans = [to_hans.convert(r[2]) for r in batch]
        words = [(a, s, w, h, x) for (a, s, w, x), h in zip(batch, hans, strict=True)
                 if not _NOT_TOKENS.intersection(s.split())]  # fmt: skip
        db.executemany("INSERT INTO words VALUES (?, ?, ?, ?, ?)", words)
        total += sum(r[4] for r in words)
        singles = [(a, s, w, h) for (a, s, w, _x), h in zip(batch, hans, strict=True)
                   if len(a) == 1 and len(w) == 1]  # fmt: skip
        readings = {(w, s) for _a, s, w, _h in singles} | {(h, s) for _a, s, _w, h in singles
                                                             if len(h) == 1}  # fmt: skip
        db.executemany("INSERT INTO readings VALUES (?, ?)", sorted(readings))
        syllables.update(s for _a, s, _w, _h in singles)
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("stamp", stamp), ("total", repr(total)),
                   ("syllables", " ".join(sorted(syllables - _NOT_TOKENS)))])  # fmt: skip
    db.executescript("""
        CREATE INDEX words_abbr ON words (abbr, weight DESC);
        CREATE INDEX readings_ch ON readings (ch);
    """)
    db.commit()


class Lexicon:
    """Word lookups by tokens, in Simplified or Traditional characters."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        self.syllables = frozenset(meta["syllables"].split())
        self._log_total = math.log(float(meta["total"]) + 1.0)
        self._cache: OrderedDict[tuple[tuple[Token, ...], str], list[Candidate]] = OrderedDict()

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Lexicon:
        """A lexicon of table ``lines``, in memory (tests, small tables)."""
        db = sqlite3.connect(":memory:", check_same_thread=False)
        _compile(lines, db, "memory")
        return cls(db)

    @classmethod
    def compiled(cls, table: Path, cache_dir: Path) -> Lexicon:
        """The lexicon of ``table``, compiled into ``cache_dir`` unless it already is."""
        st = table.stat()
        stamp = f"{FORMAT}:{table.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        path = cache_dir / "pinyin.sqlite3"
        if path.exists():
            try:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
                row = db.execute("SELECT value FROM meta WHERE key = 'stamp'").fetchone()
                if row is not None and row[0] == stamp:
                    return cls(db)
                db.close()
            except sqlite3.DatabaseError:
                pass  # not this dictionary (torn, corrupted, older): build it anew
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".pinyin-", suffix=".tmp", dir=cache_dir)
        os.close(fd)
        try:
            db = sqlite3.connect(tmp)
            with table.open(encoding="utf-8", errors="replace") as f:
                _compile(f, db, stamp)
            db.close()
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return cls(sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False))

    def readings(self, ch: str) -> frozenset[str]:
        """Every syllable the character ``ch`` is read as."""
        rows = self._db.execute("SELECT syl FROM readings WHERE ch = ?", (ch,)).fetchall()
        return frozenset(r[0] for r in rows)

    def characters(self) -> set[str]:
        """Every character the dictionary has a reading for."""
        return {r[0] for r in self._db.execute("SELECT DISTINCT ch FROM readings")}

    def words(self, tokens: Sequence[Token], script: Script) -> list[Candidate]:
        """Every word whose syllables match ``tokens`` exactly, most used first."""
        if not tokens:
            return []
        key = (tuple(tokens), script)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        abbr = "".join(t.text[0] for t in tokens)
        glob = " ".join(t.text if t.whole else t.text + "*" for t in tokens)
        column = "hans" if script == "hans" else "hant"
        rows = self._db.execute(
            f"SELECT {column}, syl, weight FROM words WHERE abbr = ? AND syl GLOB ? "  # noqa: S608
            "ORDER BY weight DESC LIMIT ?", (abbr, glob, MAX_CANDIDATES),
        ).fetchall()  # fmt: skip
        merged: dict[str, float] = {}
        for word, syl, weight in rows:
            parts = syl.split(" ")
            if len(parts) == len(tokens) and all(map(Token.matches, tokens, parts)):
                merged[word] = merged.get(word, 0.0) + float(weight)
        ranked = sorted(merged.items(), key=lambda kv: -kv[1])  # stable: weight order on ties
        found = [Candidate(w, len(tokens), x) for w, x in ranked]
        self._cache[key] = found
        if len(self._cache) > _CACHE:
            self._cache.popitem(last=False)
        return found

    def best(self, tokens: Sequence[Token], script: Script) -> Candidate | None:
        found = self.words(tokens, script)
        return found[0] if found else None

    def cost(self, weight: float) -> float:
        """Unigram cost of a word (lower is likelier): -log of its share."""
        return self._log_total - math.log(weight + 0.5)


class LazyLexicon:
    """A :class:`Lexicon` opened on first use (or :meth:`prefetch`), in the background.

    Made once by the app and shared by every keyboard. The first use on a kiosk
    compiles the table (a few seconds, once); later ones open the compiled file."""

    def __init__(self, table: Path | None = None, cache_dir: Path | None = None) -> None:
        self._table = table
        self._cache_dir = cache_dir
        self._lexicon: Lexicon | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def loaded(self) -> bool:
        return self._lexicon is not None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def prefetch(self) -> None:
        """Start opening it in a background thread (no-op once started)."""
        with self._lock:
            if self._lexicon is not None or self._thread is not None:
                return
            self._thread = threading.Thread(target=self._load, name="pinyin-lexicon",
                                            daemon=True)  # fmt: skip
            self._thread.start()

    def get(self) -> Lexicon:
        """The lexicon, opening it now if nobody has (blocks until open)."""
        self.prefetch()
        thread = self._thread
        if thread is not None:
            thread.join()
        if self._lexicon is None:
            raise RuntimeError("the pinyin dictionary could not be read") from self._error
        return self._lexicon

    def _load(self) -> None:
        try:
            self._lexicon = Lexicon.compiled(self._table or find_table(),
                                             self._cache_dir or default_cache_dir())  # fmt: skip
        except Exception as e:  # reported by get(), on the thread that asks
            self._error = e
