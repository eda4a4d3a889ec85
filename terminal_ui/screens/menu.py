"""The services, grouped by life stage and topic: the groups first, as big buttons
(a first-time citizen reads a handful of names, not every service), a group's
services when it is tapped; and a search that finds them by the initials or pinyin
of their names ("sf" finds 水费)."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

from kiosk.core.views import MenuGroup, MenuItem, Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen, short_mask
from terminal_ui.widgets.common import BigButton
from terminal_ui.widgets.keys import CharKeys

LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")

__all__ = ["GroupButton", "MenuScreen", "ServiceButton"]


class ServiceButton(BigButton):
    """One service; ``service_id`` goes to ``controller.choose_service``."""

    service_id = StringProperty("")
    available = BooleanProperty(True)


class GroupButton(BigButton):
    """One group; tapping it shows its services (``MenuScreen.open_group``)."""

    group_id = StringProperty("")


class GroupTitle(Label):  # type: ignore[misc]  # Kivy has no type stubs
    """A group's name above its services (look in menu.kv)."""


class MenuScreen(KioskScreen):
    """Card summary on top, then one section per group; "finish" at the bottom."""

    card_line = StringProperty("")
    balance = StringProperty("")
    online = BooleanProperty(True)
    searching = BooleanProperty(False)
    query = StringProperty("")
    group = StringProperty("")  # the open group's id; "" shows the groups

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._drawn: tuple[Any, ...] | None = None
        self._groups: tuple[MenuGroup, ...] = ()

    def update(self, view: Screen) -> None:
        card = view.card
        # Its last four digits are all a holder needs to know the card (the rest is
        # masked anyway); a no-break space: the number never wraps in the middle.
        number = "****\u00a0" + card.card_number_masked.split()[-1] if card else ""
        self.card_line = self.fx(f"{short_mask(card.holder_masked)}  {number}") if card else ""
        self.balance = self.money(card.balance_fen) if card else ""
        self.online = view.online
        self._groups = view.menu
        if self.group and not any(g.group_id == self.group for g in self._groups):
            self.group = ""
        self._redraw()

    def _redraw(self) -> None:
        key = (self._groups, self.language, self.elder, self.portrait, self.searching,
               self.query, self.group)  # fmt: skip
        if key != self._drawn:  # rebuild only when something drawn changed
            self._drawn = key
            if self.searching:
                self._build(self._found())
            elif self.group:
                self._build(tuple(g for g in self._groups if g.group_id == self.group))
            elif len(self._groups) > 1:
                self._build_groups()
            else:
                self._build(self._groups)

    # -- groups -------------------------------------------------------------------------
    def reset(self) -> None:
        """No card: the next citizen starts at the groups (a citizen's own back from a
        service returns to the group they were in)."""
        self.group = ""

    def open_group(self, group_id: str) -> None:
        """Show group ``group_id``'s services ("" goes back to the groups)."""
        self.group = group_id
        self.ids.scroll.scroll_y = 1
        self._redraw()

    def back_or_search(self) -> None:
        """The left button: back to the groups from a group, else the search."""
        if self.group and not self.searching:
            self.open_group("")
        else:
            self.toggle_search()

    def group_of(self, service_id: str) -> str | None:
        """The first group holding ``service_id`` (tests open it to reach it)."""
        for g in self._groups:
            if any(i.service_id == service_id for i in g.items):
                return g.group_id
        return None

    def _build_groups(self) -> None:
        box: GridLayout = self.ids.groups
        box.clear_widgets()
        grid = GridLayout(cols=2 if self.portrait else 3, size_hint_y=None,
                          spacing=self.ids.groups.spacing)  # fmt: skip
        grid.bind(minimum_height=grid.setter("height"))
        for group in self._groups:
            btn = GroupButton(text=self.fx(group.title), group_id=group.group_id,
                              action="menu_group")  # fmt: skip
            btn.bind(on_release=lambda b: self.open_group(b.group_id))
            grid.add_widget(btn)
        box.add_widget(grid)

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
