"""What the citizen is asked to agree to: amount, payee, balance before and after."""

from __future__ import annotations

import re

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.core.views import ConfirmView, Screen
from terminal_ui import texts
from terminal_ui.screens.base import KioskScreen

__all__ = ["ConfirmScreen", "LineRow", "detail_value"]


_CODE = re.compile(r"[a-z0-9_]+")


class LineRow(BoxLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """A label on the left, a value on the right."""

    label = StringProperty("")
    value = StringProperty("")
    compact = BooleanProperty(False)  # long values (transaction ids) in smaller type

    def on_value(self, _row: object, value: str) -> None:
        self.compact = len(value) > 16


def detail_value(screen: KioskScreen, code: str, value: str) -> str:
    """A detail line's value in words (:func:`terminal_ui.texts.detail_words`), any
    other text (a name, a date, money already formatted) as it is."""
    words = texts.detail_words(code, value, screen.t)
    return words if words is not None else screen.fx(value)


def detail_lines(screen: KioskScreen, confirm: ConfirmView) -> list[tuple[str, str]]:
    """The confirm view as (label, value) lines in words."""
    t = screen.t
    # ``payee`` is a name, or only a code ("water", "bike") when the details name
    # the biller: a code is no word for a citizen.
    named = confirm.payee and not _CODE.fullmatch(confirm.payee)
    lines = [(t("Payee"), screen.fx(confirm.payee))] if named else []
    for code, value in confirm.details:
        label = texts.DETAIL_LABELS.get(code)
        lines.append((t(label) if label else screen.fx(code), detail_value(screen, code, value)))
    # The balance now was on the menu and is the balance after plus the amount shown
    # big: with a balance after it is left out (less to read, nothing lost).
    if confirm.balance_fen is not None and confirm.balance_after_fen is None:
        lines.append((t("Balance now"), screen.money(confirm.balance_fen)))
    if confirm.balance_after_fen is not None:
        lines.append((t("Balance after"), screen.money(confirm.balance_after_fen)))
    return lines


class ConfirmScreen(KioskScreen):
    """The amount, big; the payee and balance lines; Back or Confirm."""

    title = StringProperty("")
    kind_title = StringProperty("")
    amount = StringProperty("")
    is_money = BooleanProperty(True)
    has_lines = BooleanProperty(True)
    note = StringProperty("")  # what confirming does, when there is no amount to show

    def update(self, view: Screen) -> None:
        c = view.confirm
        if c is None:
            return
        self.title = self.fx(c.title)
        self.kind_title = texts.CONFIRM_TITLES.get(c.kind, "")
        self.is_money = c.kind in ("debit", "load")
        self.amount = self.money(c.amount_fen) if self.is_money else ""
        self.note = texts.CONFIRM_NOTES.get(c.kind, "")
        rows = self.ids.rows
        rows.clear_widgets()
        lines = detail_lines(self, c)
        for left, right in lines:
            rows.add_widget(LineRow(label=left, value=right))
        self.has_lines = bool(lines)
