"""The on-screen pinyin keyboard: Chinese by pinyin, Latin letters, digits.

Kivy has no input method, so this is one: letter keys build a pinyin composition
(full pinyin, initials such as "nh" → 你好, or both), the candidate bar offers
words for it in pages, and tapping one converts it; the text goes to the field
through ``on_key(text, edit)`` — the same call the form's other keys make
(``edit`` "delete" or "clear" edits the field). The mode key switches to Latin
letters (plates, English) and the ``123`` key to digits and punctuation;
简/繁 switches the script of the candidates (it starts in the script of the
screen's language). The dictionary is read in the background when the keyboard
first appears (:class:`terminal_ui.ime.LazyLexicon`), never at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from terminal_ui.ime.composer import Composer
from terminal_ui.ime.lexicon import Candidate, LazyLexicon, Script
from terminal_ui.widgets.common import BigButton

__all__ = ["CandidateButton", "ImeKey", "PinyinKeyboard"]

ROWS = ("qwertyuiop", "asdfghjkl'", "zxcvbnm")
DIGIT_ROWS = ("1234567890", "，。？！、：；·-@", "（）“”《》%#/.")
PAGE_SIZE = 6


class ImeKey(BigButton):
    """A key: ``char`` is what it types (a letter, a digit, a sign); ``role`` names
    the others ("delete", "clear", "space", "mode", "digits", "script", "shift")."""

    char = StringProperty("")
    role = StringProperty("")


class CandidateButton(BigButton):
    """One candidate of the bar (``index`` on the page)."""

    word = StringProperty("")
    index = ObjectProperty(0)


class PinyinKeyboard(BoxLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """Keys, composition line and candidate bar for one text field."""

    mode = StringProperty("pinyin")  # "pinyin" | "latin" | "digits"
    script = StringProperty("hans")  # "hans" | "hant": the candidates' characters
    preedit = StringProperty("")  # the composition (the field shows it, underlined)
    upper = BooleanProperty(True)  # Latin letters in capitals (plates)
    has_previous = BooleanProperty(False)
    has_next = BooleanProperty(False)
    delete_text = StringProperty("Delete")
    clear_text = StringProperty("Clear")
    space_text = StringProperty("Space")

    def __init__(
        self,
        lexicon: LazyLexicon,
        on_key: Callable[[str, str], None],
        *,
        script: Script = "hans",
        context: str = "",
        field_empty: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.script = script
        self._lexicon = lexicon
        self._on_key = on_key
        self._context = context
        self._field_empty = field_empty
        self._composer: Composer | None = None
        self._letters_mode = "pinyin"  # where the digits key goes back to
        lexicon.prefetch()  # read in the background while the citizen looks
        self._letter_keys: list[ImeKey] = []
        self._build()
        for name in ("mode", "upper", "script"):
            self.fbind(name, lambda *_: self._relabel())
        self._relabel()

    # -- building -----------------------------------------------------------------------
    def _build(self) -> None:
        self.candidate_buttons: list[CandidateButton] = []
        bar = self.ids.bar
        self.prev_key = ImeKey(text="◀", role="previous", action="candidates_previous")
        self.prev_key.bind(on_release=lambda *_: self._turn(-1))
        bar.add_widget(self.prev_key)
        for i in range(PAGE_SIZE):
            b = CandidateButton(index=i, action="candidate")
            b.bind(on_release=self._chose)
            self.candidate_buttons.append(b)
            bar.add_widget(b)
        self.next_key = ImeKey(text="▶", role="next", action="candidates_next")
        self.next_key.bind(on_release=lambda *_: self._turn(1))
        bar.add_widget(self.next_key)
        for row_id, letters in zip(("row1", "row2", "row3"), ROWS, strict=True):
            row = self.ids[row_id]
            for _ in letters:
                key = ImeKey(action="type")
                key.bind(on_release=self._typed)
                self._letter_keys.append(key)
                row.add_widget(key)
        self.delete_key = self._role_key(self.ids.row3, "delete", self.delete_text, 1.5)
        bottom = self.ids.row4
        self.mode_key = self._role_key(bottom, "mode", "", 1.3)
        self.digits_key = self._role_key(bottom, "digits", "", 1.3)
        self.script_key = self._role_key(bottom, "script", "", 1.3)
        self.space_key = self._role_key(bottom, "space", self.space_text, 3.0)
        self.clear_key = self._role_key(bottom, "clear", self.clear_text, 1.5)
        self.fbind("delete_text", lambda *_: setattr(self.delete_key, "text", self.delete_text))
        self.fbind("clear_text", lambda *_: setattr(self.clear_key, "text", self.clear_text))
        self.fbind("space_text", lambda *_: setattr(self.space_key, "text", self.space_text))

    def _role_key(self, row: Any, role: str, text: str, weight: float) -> ImeKey:
        key = ImeKey(text=text, role=role, action=f"ime_{role}", size_hint_x=weight)
        key.bind(on_release=self._role)
        row.add_widget(key)
        return key

    def _relabel(self) -> None:
        rows = DIGIT_ROWS if self.mode == "digits" else ROWS
        chars = "".join(r.ljust(10)[:10] if i < 2 else r.ljust(7)[:7] for i, r in enumerate(rows))
        for key, ch in zip(self._letter_keys, chars, strict=False):
            if self.mode == "latin" and ch.isalpha():
                ch = ch.upper() if self.upper else ch
            key.char = "" if ch == " " else ch
            key.text = key.char
            key.disabled = not key.char or (self.mode == "latin" and ch == "'")
        # Each mode key names what it switches to.
        self.mode_key.text = "ABC" if self.mode == "pinyin" else "拼音"
        back = "拼音" if self._letters_mode == "pinyin" else "ABC"
        self.digits_key.text = back if self.mode == "digits" else "123"
        self.script_key.text = "繁" if self.script == "hans" else "简"
        self.script_key.disabled = self.mode != "pinyin"

    # -- keys ---------------------------------------------------------------------------
    @property
    def composer(self) -> Composer:
        """The composition (made when the dictionary is first needed)."""
        if self._composer is None:
            self._composer = Composer(self._lexicon.get(), script=self._script(),
                                      context=self._context, page_size=PAGE_SIZE)  # fmt: skip
            self._composer.at_field_start = self._field_empty
        return self._composer

    def _script(self) -> Script:
        return "hant" if self.script == "hant" else "hans"

    def _typed(self, key: ImeKey) -> None:
        if not key.char:
            return
        if self.mode == "pinyin" and (key.char.isalpha() or key.char == "'"):
            self.composer.type(key.char)
            self._refresh()
            return
        self._flush()
        self._emit(key.char, "")

    def _role(self, key: ImeKey) -> None:
        role = key.role
        busy = self._composer is not None and self._composer.active
        if role == "delete":
            if not (busy and self.composer.delete()):
                self._emit("", "delete")
        elif role == "clear":
            if self._composer is not None:
                self._composer.clear()
            self._emit("", "clear")
        elif role == "space":
            if busy:
                first = self.composer.page().candidates
                if first:
                    self._take(first[0])
                else:
                    self._flush()
            else:
                self._emit(" ", "")
        elif role == "mode":
            self._flush()
            self.mode = "latin" if self.mode == "pinyin" else "pinyin"
        elif role == "digits":
            self._flush()
            if self.mode == "digits":
                self.mode = self._letters_mode
            else:
                self._letters_mode, self.mode = self.mode, "digits"
        elif role == "script":
            self.script = "hant" if self.script == "hans" else "hans"
            if self._composer is not None:
                self._composer.script = self._script()
        self._refresh()

    def _chose(self, button: CandidateButton) -> None:
        page = self.composer.page().candidates
        if button.index < len(page):
            self._take(page[button.index])
        self._refresh()

    def _take(self, candidate: Candidate) -> None:
        done = self.composer.choose(candidate)
        if done:
            self._emit(done, "")

    def _turn(self, step: int) -> None:
        if self._composer is None:
            return
        if step > 0:
            self._composer.next_page()
        else:
            self._composer.previous_page()
        self._refresh()

    def _flush(self) -> None:
        """Letters left in the composition go to the field as they are."""
        if self._composer is not None and self._composer.active:
            self._emit(self._composer.commit(), "")

    def _emit(self, text: str, edit: str) -> None:
        if edit == "clear":
            self._field_empty = True
        elif text:
            self._field_empty = False
        if self._composer is not None:
            self._composer.at_field_start = self._field_empty
        self._on_key(text, edit)

    def _refresh(self) -> None:
        c = self._composer
        if c is None or not c.active:
            self.preedit = ""
            words: tuple[Candidate, ...] = ()
            self.has_previous = self.has_next = False
        else:
            self.preedit = c.preedit
            page = c.page()
            words = page.candidates
            self.has_previous, self.has_next = page.has_previous, page.has_next
        for i, b in enumerate(self.candidate_buttons):
            word = words[i].text if i < len(words) else ""
            b.word = word
            b.text = word
            b.disabled = not word
            b.opacity = 1 if word else 0
            b.size_hint_x = max(1, len(word)) + 1 if word else 0.001
        self.prev_key.disabled = not self.has_previous
        self.next_key.disabled = not self.has_next

    # -- tests --------------------------------------------------------------------------
    def key_for(self, char: str) -> ImeKey:
        """The key typing ``char`` now."""
        return next(k for k in self._letter_keys if k.char == char)

    def candidates_shown(self) -> list[str]:
        return [b.word for b in self.candidate_buttons if b.word]
