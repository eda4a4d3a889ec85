"""The services, grouped by life stage and topic, as big buttons; and a search that
finds them by the initials or pinyin of their names ("sf" finds 水费)."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

from kiosk.core.views import MenuGroup, MenuItem, Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen
from terminal_ui.widgets.common import BigButton
from terminal_ui.widgets.keys import CharKeys

LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")

__all__ = ["MenuScreen", "ServiceButton"]


class ServiceButton(BigButton):
    """One service; ``service_id`` goes to ``controller.choose_service``."""

    service_id = StringProperty("")
    available = BooleanProperty(True)


class GroupTitle(Label):  # type: ignore[misc]  # Kivy has no type stubs
    """A group's name above its services (look in menu.kv)."""


class MenuScreen(KioskScreen):
    """Card summary on top, then one section per group; "finish" at the bottom."""

    card_line = StringProperty("")
    balance = StringProperty("")
    online = BooleanProperty(True)
    searching = BooleanProperty(False)
    query = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._drawn: tuple[Any, ...] | None = None
        self._groups: tuple[MenuGroup, ...] = ()

    def update(self, view: Screen) -> None:
        card = view.card
        # No-break spaces: the card number is one word and never wraps in the middle.
        number = card.card_number_masked.replace(" ", "\u00a0") if card else ""
        self.card_line = self.fx(f"{card.holder_masked}  {number}") if card else ""
        self.balance = self.money(card.balance_fen) if card else ""
        self.online = view.online
        self._groups = view.menu
        self._redraw()

    def _redraw(self) -> None:
        key = (self._groups, self.language, self.elder, self.portrait, self.searching,
               self.query)  # fmt: skip
        if key != self._drawn:  # rebuild only when something drawn changed
            self._drawn = key
            self._build(self._found() if self.searching else self._groups)

    def on_pre_enter(self, *_args: object) -> None:
        self.ids.scroll.scroll_y = 1  # each citizen starts at the top of the list
        self.set_search(None)

    # -- search -------------------------------------------------------------------------
    def toggle_search(self) -> None:
        self.set_search(None if self.searching else "")

    def set_search(self, query: str | None) -> None:
        """Open the search with ``query`` typed (None closes it)."""
        letters = self.ids.letters
        if query is None:
            # Gone, not hidden: a disabled widget still swallows touches on its area.
            letters.clear_widgets()
        elif not letters.children:
            self.ctx.lexicon.prefetch()
            keys = CharKeys(LETTERS, self._typed, delete_text=self.t("Delete"),
                            clear_text=self.t("Clear"))  # fmt: skip
            keys.cols = 7 if self.portrait else 14  # landscape: two rows, room for the list
            letters.add_widget(keys)
        self.searching = query is not None
        self.query = query or ""
        self._redraw()

    def _typed(self, char: str, edit: str) -> None:
        q = self.query[:-1] if edit == "delete" else "" if edit == "clear" else self.query + char
        self.set_search(q)

    def _found(self) -> tuple[MenuGroup, ...]:
        from terminal_ui.ime.search import Entry, search

        items: dict[str, MenuItem] = {}
        for g in self._groups:
            for item in g.items:
                items.setdefault(item.service_id, item)
        if not self.query:
            hits = list(items.values())
        else:
            entries = [Entry(i.service_id, i.title) for i in items.values()]
            found = search(self.ctx.lexicon.get(), self.query, entries)
            hits = [items[e.id] for e in found]
        title = self.t("Found") if hits else self.t("No service matches")
        return (MenuGroup(group_id="search", title=title, items=tuple(hits)),)

    def _build(self, groups: tuple[MenuGroup, ...]) -> None:
        box: GridLayout = self.ids.groups
        box.clear_widgets()
        cols = 2 if self.portrait else 3
        for group in groups:
            box.add_widget(GroupTitle(text=self.fx(group.title)))
            grid = GridLayout(cols=cols, size_hint_y=None, spacing=self.ids.groups.spacing)
            grid.bind(minimum_height=grid.setter("height"))
            for item in group.items:
                label = self.fx(item.title)
                if item.price_fen is not None:
                    label += f"\n{self.money(item.price_fen)}"
                if not item.available:
                    why = texts.lookup(texts.WHY_NOT, item.why_not, texts.WHY_NOT_UNKNOWN)
                    label += f"\n[size={int(self.ids.groups.spacing[1] * 2.2)}]{self.t(why)}[/size]"
                # A greyed service can still be tapped: the kiosk then says why it is
                # not available (it needs the network...).
                btn = ServiceButton(text=label, service_id=item.service_id,
                                    available=item.available, action="choose_service")  # fmt: skip
                btn.bind(on_release=self._choose)
                grid.add_widget(btn)
            box.add_widget(grid)

    def _choose(self, button: ServiceButton) -> None:
        self.controller.choose_service(button.service_id)

    def buttons(self) -> list[ServiceButton]:
        """The service buttons on screen (tests tap them)."""
        return [w for w in self.ids.groups.walk(restrict=True) if isinstance(w, ServiceButton)]
