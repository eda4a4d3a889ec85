"""A query's answer (balance, card history, details): nothing to confirm."""

from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty, StringProperty

from kiosk.core.views import Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen
from terminal_ui.screens.confirm import LineRow

__all__ = ["InfoScreen"]


class InfoScreen(KioskScreen):
    """Title, balance, then (label, value) lines and the card's history."""

    title = StringProperty("")
    balance = StringProperty("")
    lines = ListProperty()  # [(left, right)] already in words
    printable = BooleanProperty(False)  # the core offers to print the answer
    receipt = StringProperty("")  # message id: what became of the printed answer

    def update(self, view: Screen) -> None:
        info = view.info
        if info is None:
            return
        self.title = self.fx(info.title)
        self.balance = self.money(info.balance_fen)
        self.printable = info.printable
        self.receipt = texts.RECEIPT.get(info.receipt, "")
        lines: list[tuple[str, str]] = []
        for code, value in info.details:
            label = texts.DETAIL_LABELS.get(code)
            word = texts.DETAIL_VALUES.get(code, {}).get(value)  # a value that is a code
            shown = self.t(word) if word else self.fx(value)
            lines.append((self.t(label) if label else self.fx(code), shown))
        for h in info.history:
            kind = self.t(texts.HISTORY_KINDS.get(h.kind, h.kind))
            sign = "-" if h.kind in ("purchase", "ride") else "+"
            lines.append((f"{h.when:%Y-%m-%d %H:%M}  {kind}", f"{sign}{self.money(h.amount_fen)}"))
        self.lines = lines
        rows = self.ids.rows
        rows.clear_widgets()
        for left, right in lines:
            rows.add_widget(LineRow(label=left, value=right))
