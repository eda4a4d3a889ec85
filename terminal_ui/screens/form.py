"""A service's form: one row per field, and the keys for the field in focus.

Digit, amount and code fields (letters and digits: a tracking number) are typed
on on-screen keys, text fields on the pinyin
keyboard (Chinese by pinyin or initials, Latin letters, digits; a field whose
name says it holds a person's name gets surnames first); choices are buttons; PIN fields (change
PIN) use the PIN pad and show dots, as on the PIN screen.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.core.views import FieldView, FormView, Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen
from terminal_ui.widgets.common import BigButton
from terminal_ui.widgets.keys import ALNUM, AMOUNT, DIGITS, CharKeys
from terminal_ui.widgets.pinpad import PinDots, PinPad
from terminal_ui.widgets.pinyin_keyboard import PinyinKeyboard

__all__ = ["FieldRow", "FormScreen"]


class FieldRow(BoxLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """A field's label, its value (tap to type into it) and its error."""

    name = StringProperty("")
    label = StringProperty("")
    value = StringProperty("")
    preedit = StringProperty("")  # being composed on the pinyin keyboard, not yet typed
    error = StringProperty("")
    focused = BooleanProperty(False)
    screen: FormScreen | None = None

    def tapped(self) -> None:
        if self.screen is not None:
            self.screen.controller.focus_field(self.name)


class ChoiceButton(BigButton):
    value = StringProperty("")
    chosen = BooleanProperty(False)


class FormScreen(KioskScreen):
    """The form of ``screen.form``; ``Continue`` submits it to the controller."""

    title = StringProperty("")
    form_error = StringProperty("")
    pin_length = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._form: FormView | None = None
        self._input_for: tuple[str, str, str, bool] | None = None
        # What was typed but not yet echoed back by the core: keys pressed faster
        # than the round trip must build on each other, not on the last screen.
        self._typed_ahead: dict[str, str] = {}

    def on_pre_enter(self, *_args: object) -> None:
        self._typed_ahead.clear()

    def update(self, view: Screen) -> None:
        form = view.form
        if form is None:
            return
        self._form = form
        for f in form.fields:
            if self._typed_ahead.get(f.name) == f.value:
                del self._typed_ahead[f.name]  # the core caught up
        self.title = self.fx(form.title)
        self.form_error = texts.lookup(texts.FIELD_ERRORS, form.error,
                                       texts.FIELD_ERROR_UNKNOWN) if form.error else ""  # fmt: skip
        self.pin_length = view.pin.length if view.pin else 0
        self._draw_rows(form)
        focused = next((f for f in form.fields if f.focused), None)
        self._draw_input(focused)

    def _draw_rows(self, form: FormView) -> None:
        rows = self.ids.rows
        if [r.name for r in reversed(rows.children)] != [f.name for f in form.fields]:
            rows.clear_widgets()
            for f in form.fields:
                row = FieldRow(name=f.name)
                row.screen = self
                rows.add_widget(row)
        for row, f in zip(reversed(rows.children), form.fields, strict=True):
            row.label = self.fx(f.label) + ("" if f.required else f"  ({self.t('optional')})")
            row.value = self._shown(f)
            row.focused = f.focused
            row.error = self._error_text(f)

    def _error_text(self, f: FieldView) -> str:
        if not f.error:
            return ""
        if f.error == "out_of_range" and f.min_fen is not None and f.max_fen is not None:
            # Say the range: "not allowed" alone leaves the citizen guessing.
            return self.t(texts.AMOUNT_RANGE).format(low=self.money(f.min_fen),
                                                     high=self.money(f.max_fen))  # fmt: skip
        return self.t(texts.lookup(texts.FIELD_ERRORS, f.error, texts.FIELD_ERROR_UNKNOWN))

    def _shown(self, f: FieldView) -> str:
        if f.kind == "pin":
            return "●" * len(f.value)  # the core sends one "*" per digit, never digits
        if f.kind == "choice":
            return self.fx(next((label for v, label in f.choices if v == f.value), ""))
        return self.fx(f.value)

    def _draw_input(self, f: FieldView | None) -> None:
        box = self.ids.input
        key = None if f is None else (f.name, f.kind, self.language, self.elder)
        if key != self._input_for:
            self._input_for = key
            box.clear_widgets()
            for r in self.ids.rows.children:
                r.preedit = ""
            if f is None:
                return
            if f.kind == "pin":
                dots = PinDots(max_length=6)
                pad = PinPad(controller=self.controller, shuffle=self.ctx.shuffle_pin_pad,
                             delete_text=self.t("Delete"), clear_text=self.t("Clear"))  # fmt: skip
                pad.reshuffle()
                pad.pos_hint = {"center_x": 0.5}
                box.add_widget(dots)
                box.add_widget(pad)
            elif f.kind == "choice":
                for value, label in f.choices:
                    btn = ChoiceButton(text=self.fx(label), value=value, action="choose")
                    btn.bind(on_release=partial(self._chose, f.name))
                    box.add_widget(btn)
            elif f.kind == "text":
                row = next(r for r in self.ids.rows.children if r.name == f.name)
                kb = PinyinKeyboard(
                    self.ctx.lexicon, partial(self._typed, f.name),
                    script="hant" if self.language == "zh-Hant" else "hans",
                    context="name" if "name" in f.name else "", field_empty=not f.value,
                    delete_text=self.t("Delete"), clear_text=self.t("Clear"),
                    space_text=self.t("Space"))  # fmt: skip
                kb.bind(preedit=lambda _kb, text, row=row: setattr(row, "preedit", self.fx(text)))
                box.add_widget(kb)
            else:
                chars = {"digits": DIGITS, "amount": AMOUNT}.get(f.kind, ALNUM)
                keys = CharKeys(chars, partial(self._typed, f.name), delete_text=self.t("Delete"),
                                clear_text=self.t("Clear"))  # fmt: skip
                box.add_widget(keys)
        for w in box.children:
            if isinstance(w, PinDots):
                w.length = self.pin_length
            if isinstance(w, ChoiceButton) and f is not None:
                w.chosen = w.value == f.value

    def _chose(self, name: str, button: ChoiceButton) -> None:
        self.controller.set_field(name, button.value)

    def _typed(self, name: str, char: str, edit: str) -> None:
        form = self._form
        shown = next((f.value for f in form.fields if f.name == name), "") if form else ""
        current = self._typed_ahead.get(name, shown)
        if edit == "delete":
            value = current[:-1]
        elif edit == "clear":
            value = ""
        else:
            value = current + char
        self._typed_ahead[name] = value
        self.controller.set_field(name, value)
