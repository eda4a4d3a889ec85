"""The counter station's Kivy widgets: the root (bar, clerk's pages, the citizen's side)
and one screen per page. They draw :class:`~terminal_ui.counter.station.StationView`
and call the :class:`~terminal_ui.counter.station.Station`; the form keeps only which
field has the keyboard (what is typed goes to the station at once)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from kivy.app import App
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.uix.screenmanager import Screen as KivyScreen

from cardlib.bcd import CARD_TZ
from cardlib.idcard import DocumentType
from kiosk.money import format_fen
from terminal_ui.counter import texts
from terminal_ui.counter.station import (
    OP_FIELDS,
    FieldSpec,
    Op,
    Page,
    Station,
    StationView,
    Unfinished,
)
from terminal_ui.widgets.common import BigButton, fit_font
from terminal_ui.widgets.keys import AMOUNT, DIGITS, CharKeys
from terminal_ui.widgets.pinyin_keyboard import PinyinKeyboard

__all__ = ["CounterRoot", "DemoDevices"]

ID_CHARS = (*tuple("1234567890X"), *tuple("ABCDEFGHIJKLMNOPQRSTUVWYZ"))


class RoleButton(BigButton):
    """A button whose text is the theme's ``font_role`` size (small, body, bar...).

    BigButton's rule binds its font size to the theme too, and a second rule on the same
    property loses to it whenever the theme changes (whichever binding runs last wins).
    So the size is set again whenever anything else sets it: the role always holds."""

    font_role = StringProperty("")

    def on_kv_post(self, *_args: Any) -> None:
        if self.font_role:
            theme = App.get_running_app().theme
            theme.fbind(self.font_role, self._fit_font)
            self.fbind("font_size", self._fit_font)
            self._fit_font()

    def _fit_font(self, *_args: Any) -> None:
        size = float(getattr(App.get_running_app().theme, self.font_role))
        if float(getattr(self, "font_size", 0)) != size:  # equal: no event, so no loop
            self.font_size = size


class OpButton(RoleButton):
    op = StringProperty("")


class FieldBox(RoleButton):
    """A field: its name (or its error) above its value; tapping it gives it the keyboard."""

    name = StringProperty("")
    label = StringProperty("")
    error = StringProperty("")
    value = StringProperty("")  # markup, escaped
    focused = BooleanProperty(False)
    preedit = StringProperty("")  # markup: the pinyin composition, not yet typed

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name in ("label", "error", "value", "preedit", "font_size", "width"):
            self.fbind(name, self._compose)

    def _compose(self, *_args: Any) -> None:
        theme = App.get_running_app().theme
        # A field in error has its name in red; the words are in the form's message line
        # (a sentence in here would not fit the box).
        colour = theme.danger if self.error else theme.muted
        head = self.label
        hexa = "".join(f"{int(c * 255):02x}" for c in colour[:3])
        small = int(theme.small)
        tail = f"[u][color=0b5cad]{self.preedit}[/color][/u]" if self.preedit else ""
        head = head.replace("&", "&amp;").replace("[", "&bl;").replace("]", "&br;")
        # A long number (a 20-digit card number) gets smaller rather than broken in two.
        plain = re.sub(r"\[[^\]]*\]", "", self.value + self.preedit)
        room = self.width - theme.pad * 1.2
        size = int(fit_font(plain, room, float(self.font_size))) if plain else int(self.font_size)
        value = f"[size={size}]{self.value}{tail}[/size]"
        self.text = f"[size={small}][color={hexa}]{head}[/color][/size]\n{value}"


class DocChoice(RoleButton):
    value = StringProperty("")
    chosen = BooleanProperty(False)


class ResumeRow(BoxLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """One unfinished operation: what, for which card, how much, when, what it needs;
    Resume (and Reverse where the core allows it)."""

    text = StringProperty("")
    op_id = StringProperty("")
    reversible = BooleanProperty(False)
    resume_text = StringProperty("")
    reverse_text = StringProperty("")
    station = ObjectProperty(None)


class ResultRow(BoxLayout):  # type: ignore[misc]  # Kivy has no type stubs
    label = StringProperty("")
    value = StringProperty("")
    strong = BooleanProperty(False)


class CounterScreen(KivyScreen):  # type: ignore[misc]  # Kivy has no type stubs
    """Base of the station's pages."""

    station = ObjectProperty(None)
    view = ObjectProperty(None, allownone=True)
    language = StringProperty("zh-Hans")
    translate = ObjectProperty(None)
    markup = ObjectProperty(None)

    def t(self, msgid: str, *_bind: Any) -> str:
        return str(self.translate(msgid)) if msgid else ""

    def fx(self, text: str) -> str:
        return str(self.markup(text))

    def show(self, view: StationView) -> None:
        self.view = view
        self.update(view)

    def update(self, view: StationView) -> None:
        """Subclasses fill their widgets from ``view``."""

    def fresh(self) -> None:
        """The page is opened anew (the form forgets which field had the keyboard)."""


class CounterSignInScreen(CounterScreen):
    message = StringProperty("")
    length = NumericProperty(0)

    def update(self, view: StationView) -> None:
        self.message = texts.message(view.message)
        self.length = view.pin_length


class CounterHomeScreen(CounterScreen):
    message = StringProperty("")
    unfinished = NumericProperty(0)

    def on_kv_post(self, *_args: Any) -> None:
        grid = self.ids.ops
        for op in Op:
            b = OpButton(op=op.value, action="open_op")
            b.bind(on_release=lambda btn: self.station.open_op(Op(btn.op)))
            grid.add_widget(b)
        self.relabel()

    def relabel(self, *_args: Any) -> None:
        for b in self.ids.ops.children:
            b.text = self.t(texts.OP_TITLES[Op(b.op)], self.language)

    def on_language(self, *_args: Any) -> None:
        if "ops" in self.ids:
            self.relabel()

    def update(self, view: StationView) -> None:
        self.message = texts.message(view.message)
        self.unfinished = len(view.unfinished)


class CounterFormScreen(CounterScreen):
    title = StringProperty("")
    message = StringProperty("")
    message_ok = BooleanProperty(False)
    can_read_id = BooleanProperty(False)
    focus = StringProperty("")  # the field with the keyboard (UI state only)
    query_keys = StringProperty("number")  # the lookup's keys: "number" or "name"
    lexicon = ObjectProperty(None)  # the pinyin dictionary, read when first needed

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._built_for: tuple[Any, ...] | None = None
        self._input_for: tuple[Any, ...] | None = None
        self.keyboard: Any = None

    def update(self, view: StationView) -> None:
        if view.op is None:
            return
        specs = OP_FIELDS[view.op]
        if self._built_for != (view.op, self.language):
            self._built_for = (view.op, self.language)
            grid = self.ids.fields
            grid.clear_widgets()
            for spec in specs:
                box = FieldBox(name=spec.name, action="focus_field")
                box.bind(on_release=lambda b: setattr(self, "focus", b.name))
                grid.add_widget(box)
            first = next((s.name for s in specs if s.kind != "document"), "")
            if self.focus != first:
                self.focus = first  # on_focus draws the form again
                return
        self.title = self.t(texts.OP_TITLES[view.op])
        self.message = self.t(texts.message(view.message))
        self.message_ok = view.message == "id_card_read"
        self.can_read_id = view.op is Op.ISSUE
        for box in self.ids.fields.children:
            spec = next(s for s in specs if s.name == box.name)
            label = self.t(texts.FIELD_LABELS[spec.name])
            box.label = label + (f" ({self.t('optional')})" if spec.optional else "")
            value = view.fields.get(spec.name, "")
            if spec.kind == "document":
                value = self.t(texts.DOCUMENT_NAMES.get(value, ""))
            box.value = self.fx(value)
            box.focused = box.name == self.focus
            code = view.field_errors.get(spec.name, "")
            box.error = self.t(texts.message(code)) if code else ""
        self._draw_input(next((s for s in specs if s.name == self.focus), None))

    def fresh(self) -> None:
        self._built_for = None
        self.query_keys = "number"

    def on_focus(self, *_args: Any) -> None:
        if self.view is not None:
            self.update(self.view)

    def on_query_keys(self, *_args: Any) -> None:
        self.on_focus()

    def _draw_input(self, spec: FieldSpec | None) -> None:
        box = self.ids.input
        keys = self.query_keys if spec is not None and spec.kind == "query" else ""
        key = None if spec is None else (spec.name, spec.kind, self.language, self.view.op, keys)
        if key == self._input_for:
            self._mark_choice()
            return
        self._input_for = key
        box.clear_widgets()
        self.keyboard = None
        if spec is None:
            return
        on_key = partial(self._typed, spec.name)
        kind = spec.kind
        if kind == "query":
            # A card or ID number on the number keys; a holder's name on the pinyin
            # keyboard (its ABC mode for a foreigner's Latin name).
            row = BoxLayout(spacing=self.ids.fields.spacing[0], size_hint_y=None)
            row.bind(minimum_height=row.setter("height"))
            for mode in ("number", "name"):
                b = DocChoice(value=mode, action=f"query_keys:{mode}",
                              text=self.t(texts.QUERY_KEYS[mode]))  # fmt: skip
                b.bind(on_release=lambda btn: setattr(self, "query_keys", btn.value))
                b.chosen = mode == self.query_keys
                row.add_widget(b)
            box.add_widget(row)
            kind = "name" if self.query_keys == "name" else "id_number"
        if kind == "document":
            row = BoxLayout(spacing=self.ids.fields.spacing[0], size_hint_y=None)
            row.bind(minimum_height=row.setter("height"))
            for kind in DocumentType:
                b = DocChoice(value=kind.value, action="choose",
                              text=self.t(texts.DOCUMENT_NAMES[kind.value]))  # fmt: skip
                b.bind(on_release=lambda btn: self.station.set_field("document", btn.value))
                row.add_widget(b)
            box.add_widget(row)
            self._mark_choice()
        elif kind in ("name", "text"):
            kb = PinyinKeyboard(self.lexicon, on_key,
                                script="hant" if self.language == "zh-Hant" else "hans",
                                context="name" if kind == "name" else "",
                                field_empty=not self.view.fields.get(spec.name),
                                delete_text=self.t("Delete"), clear_text=self.t("Clear"),
                                space_text=self.t("Space"))  # fmt: skip
            kb.bind(preedit=lambda _kb, text: self._preedit(spec.name, text))
            self.keyboard = kb
            box.add_widget(kb)
        else:
            chars = {"amount": AMOUNT, "id_number": ID_CHARS}.get(kind, DIGITS)
            keys = CharKeys(chars, on_key, delete_text=self.t("Delete"),
                            clear_text=self.t("Clear"))  # fmt: skip
            keys.cols = 13 if len(chars) > 20 else 6
            self.keyboard = keys
            box.add_widget(keys)

    def _mark_choice(self) -> None:
        chosen = self.view.fields.get("document", "") if self.view else ""
        for w in self.ids.input.walk(restrict=True):
            if isinstance(w, DocChoice) and w.value in ("number", "name"):
                w.chosen = w.value == self.query_keys
            elif isinstance(w, DocChoice):
                w.chosen = w.value == chosen

    def _preedit(self, name: str, text: str) -> None:
        for box in self.ids.fields.children:
            box.preedit = self.fx(text) if box.name == name else ""

    def _typed(self, name: str, char: str, edit: str) -> None:
        current = self.view.fields.get(name, "") if self.view else ""
        if edit == "delete":
            value = current[:-1]
        elif edit == "clear":
            value = ""
        else:
            value = current + char
        self.station.set_field(name, value)


class CounterWaitPinScreen(CounterScreen):
    """The clerk's side while the citizen types on the pad facing them."""

    length = NumericProperty(0)
    prompt = StringProperty("")

    def update(self, view: StationView) -> None:
        self.length = view.pin_length
        self.prompt = texts.PIN_PROMPTS.get(view.pin_for, "")


class CounterBusyScreen(CounterScreen):
    pass


class CounterResultScreen(CounterScreen):
    title = StringProperty("")
    warning = StringProperty("")
    receipt = StringProperty("")

    def update(self, view: StationView) -> None:
        out = view.outcome
        if out is None:
            return
        self.title = self.t(texts.OP_TITLES[out.op])
        self.warning = self.t(texts.message(out.warning)) if out.warning else ""
        if out.receipt_printed:
            self.receipt = self.t("Receipt printed.")
        elif out.op is Op.LOOKUP:
            self.receipt = ""
        else:
            self.receipt = self.t("No receipt: the printer did not print it.")
        rows = self.ids.rows
        rows.clear_widgets()
        for label, value in out.rows:
            # (a lookup's list: "card · name · number · status", the status a word)
            value = " · ".join(self.t(p) if p in texts.VALUE_WORDS else p
                               for p in value.split(" · "))  # fmt: skip
            strong = label in ("Difference", "Balance") or (label == "Card number")
            rows.add_widget(ResultRow(label=self.t(label), value=self.fx(value), strong=strong))


class CounterResumeScreen(CounterScreen):
    """The journal's unfinished operations (after a restart), each resumed or reversed."""

    message = StringProperty("")

    def update(self, view: StationView) -> None:
        self.message = self.t(texts.message(view.message))
        rows = self.ids.rows
        rows.clear_widgets()
        for u in view.unfinished:
            rows.add_widget(ResumeRow(text=self.fx(self._describe(u)), op_id=u.op_id,
                                      reversible=u.reversible, station=self.station,
                                      resume_text=self.t("Resume"),
                                      reverse_text=self.t("Reverse")))  # fmt: skip

    def _describe(self, u: Unfinished) -> str:
        kind = "replace" if u.kind == "issue" and u.replaces else u.kind
        when = (dt.datetime.fromtimestamp(u.at, CARD_TZ).strftime("%Y-%m-%d %H:%M")
                if u.at else "—")  # fmt: skip
        card = u.replaces or u.card or "—"
        head = f"{self.t(texts.RESUME_KINDS.get(kind, kind))} · {format_fen(u.amount_fen)}"
        body = f"{self.t('Card number')} {card} · {when}"
        return f"{head}\n{body}\n{self.t(texts.RESUME_NEEDS.get(u.needs, ''))}"


class CitizenSide(BoxLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """The pad facing the citizen (on screen in the demo): PIN entry only."""

    station = ObjectProperty(None)
    asking = BooleanProperty(False)
    prompt = StringProperty("")
    length = NumericProperty(0)
    language = StringProperty("zh-Hans")


class DemoDevices(BoxLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """TEST ONLY hands for the demo: cards in and out of the readers, ID documents."""

    slots = ListProperty([])  # (message id of the slot, what is in it)
    language = StringProperty("zh-Hans")
    citizens = ListProperty([])  # (key, label)
    documents = ListProperty([])  # (key, label)
    actions = ObjectProperty(None)  # name -> callable
    citizen_index = NumericProperty(-1)
    document_index = NumericProperty(-1)

    def do(self, name: str, *args: Any) -> None:
        fn: Callable[..., list[tuple[str, str]]] = self.actions[name]
        self.slots = fn(*args)

    def slot_text(self, slots: list[tuple[str, str]], language: str) -> str:
        app = App.get_running_app()
        return "  ·  ".join(f"{app.t(what, language)}: {app.t(held, language) or held}"
                            for what, held in slots)  # fmt: skip

    def next_citizen(self) -> None:
        self.citizen_index = (self.citizen_index + 1) % len(self.citizens)
        self.do("citizen", self.citizens[self.citizen_index][0])

    def next_document(self) -> None:
        self.document_index = (self.document_index + 1) % len(self.documents)
        self.do("document", self.documents[self.document_index][0])


class CounterRoot(BoxLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """The bar, the clerk's pages and the citizen's side."""

    station = ObjectProperty(None)
    language = StringProperty("zh-Hans")
    clerk = StringProperty("")
    shift_open = BooleanProperty(False)
    signed_in = BooleanProperty(False)

    def __init__(self, *, station: Station, translator: Any, fonts: Any, lexicon: Any,
                 demo: DemoDevices | None = None, **kwargs: Any) -> None:  # fmt: skip
        self._translator = translator
        self._fonts = fonts
        super().__init__(station=station, **kwargs)
        sm = self.ids.pages
        sm.transition = NoTransition()
        pages: tuple[tuple[type[CounterScreen], Page], ...] = (
            (CounterSignInScreen, Page.SIGN_IN),
            (CounterHomeScreen, Page.HOME),
            (CounterFormScreen, Page.FORM),
            (CounterWaitPinScreen, Page.CITIZEN_PIN),
            (CounterBusyScreen, Page.BUSY),
            (CounterResultScreen, Page.RESULT),
            (CounterResumeScreen, Page.RESUME),
        )
        for cls, name in pages:
            screen = cls(name=name.value, station=station, translate=self.t, markup=self.fx)
            if isinstance(screen, CounterFormScreen):
                screen.lexicon = lexicon
            sm.add_widget(screen)
        if demo is not None:
            self.ids.citizen_column.add_widget(demo)
        self.demo = demo

    @property
    def pages(self) -> ScreenManager:
        return self.ids.pages

    def screen(self, name: str | None = None) -> CounterScreen:
        screen: CounterScreen = self.pages.get_screen(name or self.pages.current)
        return screen

    def t(self, msgid: str, *_bind: Any) -> str:
        return str(self._translator.gettext(msgid, self.language)) if msgid else ""

    def fx(self, text: str) -> str:
        if self._fonts is None:
            return text.replace("&", "&amp;").replace("[", "&bl;").replace("]", "&br;")
        return str(self._fonts.markup(text))

    def choose_language(self, language: str) -> None:
        self.language = language
        for s in self.pages.screens:
            s.language = language
        if self.demo is not None:
            self.demo.language = language
        self.ids.citizen.language = language
        self.show(self.station.view)

    def show(self, view: StationView) -> None:
        """Draw ``view`` (on the Kivy thread)."""
        self.clerk = self.fx(view.clerk.name) if view.clerk else ""
        self.signed_in = view.clerk is not None
        self.shift_open = view.shift_open
        screen = self.pages.get_screen(view.page.value)
        if view.page is Page.FORM and self.pages.current != Page.FORM.value:
            screen.fresh()  # a form opened anew: its first field gets the keyboard
        screen.language = self.language
        screen.show(view)
        self.pages.current = view.page.value
        side = self.ids.citizen
        side.asking = view.page is Page.CITIZEN_PIN
        if self.demo is not None:
            self.demo.slots = self.demo.actions["slots"]()  # cards moved by a script too
            # The demo's buttons make room for the pad while the citizen types.
            # (Taken out, not hidden: a disabled widget still swallows the touches over it.)
            column = self.ids.citizen_column
            if side.asking and self.demo.parent is not None:  # (ids are weak proxies)
                column.remove_widget(self.demo)
            elif not side.asking and self.demo.parent is None:
                column.add_widget(self.demo)
        side.prompt = texts.PIN_PROMPTS.get(view.pin_for, "")
        side.length = view.pin_length if side.asking else 0
