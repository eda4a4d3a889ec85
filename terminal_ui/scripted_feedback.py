"""A citizen's feedback acted out on the real widgets (for the docs' screenshots):
report a problem with the text typed by pinyin on the on-screen keyboard, take the
tracking number, be told that a second one in the same category today is not
taken, look the case up once the department answered, rate the answer.

The department's answer comes from outside the screen (``answer``, given by the
composition root: the demo's central), as the card does in :mod:`terminal_ui.scripted`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from terminal_ui.scripted import ScriptedCitizen

__all__ = ["FeedbackCitizen"]


class FeedbackCitizen:
    """Walks ``citizen``'s driver through the feedback services, snapping each screen."""

    def __init__(self, citizen: ScriptedCitizen, answer: Callable[[str], None]) -> None:
        self.c = citizen
        self.d = citizen.driver
        self.answer = answer

    def _keyboard(self) -> Any:
        from terminal_ui.widgets.pinyin_keyboard import PinyinKeyboard

        return self.d.wait_for(
            lambda: next((w for w in self.d.kiosk.screen().walk()
                          if isinstance(w, PinyinKeyboard)), None),
            what="the pinyin keyboard",
        )  # fmt: skip

    def _word(self, letters: str, word: str, snap: str = "") -> None:
        """Type ``letters`` on the pinyin keys and take ``word`` from the candidates."""
        kb = self._keyboard()
        for ch in letters:
            self.d.tap(kb.key_for(ch))
        self.d.wait_for(lambda: bool(kb.candidates_shown()), what=f"candidates for {letters}")
        if snap:
            self.c.snap(snap)
        for _ in range(12):
            button = next((b for b in kb.candidate_buttons if b.word == word), None)
            if button is not None:
                self.d.tap(button)
                return
            self.d.tap(kb.next_key)
        raise AssertionError(f"{word!r} not offered for {letters!r}")

    def _row(self, name: str) -> None:
        """Tap a field's row to type into it (as a finger would)."""
        screen = self.d.kiosk.screen()
        row = next(r for r in screen.ids.rows.children if r.name == name)
        self.d.tap(row)
        self.d.wait_for(lambda: row.focused, what=f"{name} focused")

    def _form(self, *names: str) -> None:
        """Wait for the form of these fields to be drawn and laid out (one form can
        follow another on the same screen: the last one's keys must not be tapped)."""
        self.d.wait_screen("form")
        screen = self.d.kiosk.screen("form")
        self.d.wait_for(lambda: [r.name for r in reversed(screen.ids.rows.children)]
                        == list(names), what=f"the form of {names}")  # fmt: skip
        self.d.pump(3)

    def _type_code(self, text: str) -> None:
        """Type on the letter-and-digit keys (a code field), each key scrolled into view
        first; a busy machine may need a few frames before the grid has its place."""
        from terminal_ui.harness import UiTimeout

        for ch in text:
            for attempt in range(5):
                try:
                    self.d.press("type", char=ch)
                    break
                except UiTimeout:
                    if attempt == 4:
                        raise
                    self.d.pump(5)

    def _choose(self, value: str) -> None:
        self.d.press("choose", value=value)

    def report(self, category: str, *, snap: bool = True) -> str:
        """From the menu: a problem reported in ``category``; returns the tracking number."""
        self.c.choose("feedback")
        self._form("ftype", "category", "urgency", "body", "place", "identity", "publish")
        if snap:
            self.c.snap("feedback-form")
        for value in ("report", category, "2"):  # each choice moves to the next field
            self._choose(value)
        self._word("zilaishui", "自来水", "feedback-typing" if snap else "")
        self._word("fahuang", "发黄")
        self._row("identity")
        self._choose("pseudonymous")
        self._choose("yes")
        if snap:
            self.c.snap("feedback-filled")
        self.d.press("submit_form")
        self.d.wait_screen("confirm")
        if snap:
            self.c.snap("feedback-confirm")
        self.d.press("confirm")
        self.d.wait_screen("done")
        if snap:
            self.c.snap("feedback-done")
        result = self.d.kiosk.view.result
        return str(result.reference)

    def once_a_day(self, category: str) -> None:
        """The same card and category again today: refused on the form, in words."""
        self.c.choose("feedback")
        self._form("ftype", "category", "urgency", "body", "place", "identity", "publish")
        for value in ("ask", category, "1"):
            self._choose(value)
        self._word("shui", "水")
        self._row("identity")
        self._choose("named")
        self._choose("no")
        self.d.press("submit_form")
        self.d.wait_for(lambda: bool(self.d.kiosk.screen("form").form_error),
                        what="the one-a-day refusal")  # fmt: skip
        self.c.snap("feedback-once-a-day")
        self.d.press("back")
        self.c.menu()

    def look_up_and_rate(self, tracking: str) -> None:
        """After the department's answer: the case by card, then rated not satisfied."""
        self.answer(tracking)
        self.c.choose("feedback_lookup")
        self._form("tracking")
        self.d.press("submit_form")  # no number typed: this card's cases
        self.d.wait_screen("info")
        self.c.snap("feedback-case")
        self.d.press("back")
        self.c.menu()
        self.c.choose("feedback_rate")
        self._form("tracking", "verdict")
        self._type_code(tracking)
        self._row("verdict")
        self._choose("unsatisfied")
        self.c.snap("feedback-rate-form")
        self.d.press("submit_form")
        self.d.wait_screen("confirm")
        self.c.snap("feedback-rate-confirm")
        self.d.press("confirm")
        self.d.wait_screen("done")
        self.c.snap("feedback-reopened")
