"""The technician's pages (the maintenance journey): one screen, a page at a time.

``screen.maintenance.page`` says which: ``home`` (the menu, and whether the kiosk
is in service), ``status`` (each device: ok / warning / fault, what decided it,
the next step, its facts), ``tests`` (run one self-test or all, their results),
``reason`` (why out of service), ``result`` (a forced sync's or a support
bundle's outcome) and ``lines`` (the config, secrets redacted, or the APDU trace).
Rows and buttons are built here from the view; the words are
:mod:`terminal_ui.texts_maintenance`'s. Busy steps use the progress screen.
"""

from __future__ import annotations

from kivy.factory import Factory
from kivy.properties import BooleanProperty, ColorProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.core.views import DiagRow, MaintenanceView, Screen
from terminal_ui import texts
from terminal_ui import texts_maintenance as tm
from terminal_ui.screens.base import KioskScreen
from terminal_ui.screens.confirm import LineRow
from terminal_ui.widgets.common import BigButton

__all__ = ["DiagBox", "MaintButton", "MaintenanceScreen"]

HEALTH_COLOURS = {"ok": "ok", "warning": "accent", "fault": "danger"}  # theme colours


class DiagBox(BoxLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """One device or self-test (its look: maintenance.kv)."""

    name = StringProperty("")
    health = StringProperty("")
    colour = ColorProperty("#000000")
    words = StringProperty("")
    step = StringProperty("")
    facts = StringProperty("")


class MaintButton(BigButton):
    """A menu, self-test or reason button: ``action`` and its ``value``."""

    value = StringProperty("")


class MaintenanceScreen(KioskScreen):
    """Title, who and the service state, the page's rows, its buttons, the way out."""

    title = StringProperty("")
    subtitle = StringProperty("")
    role = StringProperty("")
    home = BooleanProperty(True)

    def update(self, view: Screen) -> None:
        mv = view.maintenance
        self.role = texts.lookup(texts.ROLES, view.role, texts.ROLE_UNKNOWN)
        if mv is None:
            return
        self.home = mv.page == "home"
        self.title = self._title(mv)
        who = self.t(tm.LINES["technician"]).format(number=mv.technician)
        if mv.out_of_service is None:
            state = self.t(tm.LINES["in_service"])
        else:
            reason = self.t(tm.REASONS.get(mv.out_of_service, "")) or mv.out_of_service
            state = self.t(tm.LINES["out_since"]).format(reason=reason)
        self.subtitle = self.fx(f"{who} · {state}")
        rows, buttons = self.ids.rows, self.ids.buttons
        rows.clear_widgets()
        buttons.clear_widgets()
        getattr(self, f"_{mv.page}", self._home)(mv, rows, buttons)

    def _title(self, mv: MaintenanceView) -> str:
        if mv.page == "home":
            return self.t(tm.LINES["title"])
        if mv.page == "reason":
            return self.t(tm.ACTIONS["out_of_service"])
        if mv.page == "tests":
            return self.t(tm.ACTIONS["tests"])
        if mv.page == "status":
            return self.t(tm.ACTIONS["status"])
        return self.t(tm.ACTIONS.get(mv.action or "", tm.LINES["title"]))

    def _button(self, box: object, action: str, value: str = "", text: str = "",
                kind: str = "secondary") -> None:  # fmt: skip
        b = MaintButton(action=action, value=value, text=text or self.t(tm.ACTIONS[action]))
        if kind == "secondary":
            b.bg_color, b.fg_color = self._theme("secondary"), self._theme("ink_secondary")
        elif kind == "danger":
            b.bg_color = self._theme("danger")
        b.bind(on_release=lambda w: self.controller.maintenance_action(w.action, w.value))
        box.add_widget(b)  # type: ignore[attr-defined]

    @staticmethod
    def _theme(name: str) -> object:
        from kivy.app import App

        return getattr(App.get_running_app().theme, name)

    def _text(self, box: object, text: str, style: str = "Text") -> None:
        box.add_widget(getattr(Factory, style)(text=text))  # type: ignore[attr-defined]

    def _diag(self, box: object, row: DiagRow, name: str) -> None:
        colour = self._theme(HEALTH_COLOURS.get(row.health, "fg"))
        words = self.t(tm.CODES.get(row.code, tm.CODE_UNKNOWN))
        step = self.t(tm.STEPS.get(row.next_step, "")) if row.next_step != "none" else ""
        facts = "  ·  ".join(f"{k}: {v}" for k, v in row.facts)
        box.add_widget(DiagBox(  # type: ignore[attr-defined]
            name=self.t(name), health=self.t(tm.HEALTH.get(row.health, row.health)),
            colour=colour, words=words,
            step=self.t(tm.LINES["next"]).format(step=step) if step else "",
            facts=self.fx(facts)))  # fmt: skip

    # -- pages ----------------------------------------------------------------------------
    def _home(self, mv: MaintenanceView, rows: object, buttons: object) -> None:
        self._text(rows, self.t(self.role), "Heading")
        holder = self.view.card.holder_masked if self.view and self.view.card else ""
        if holder:
            self._text(rows, self.fx(holder))
        if mv.action in ("out_of_service", "back_in_service"):
            self._text(rows, self.t(tm.LINES["done_ok"]), "Heading")
        for line in mv.lines:
            self._text(rows, self.t(tm.PROBLEMS.get(line, "")) or self.fx(line))
        for action in ("status", "tests", "force_sync", "config", "apdu_trace",
                       "support_bundle"):  # fmt: skip
            self._button(buttons, action)
        if mv.out_of_service is None:
            self._button(buttons, "out_of_service", kind="danger")
        else:
            self._button(buttons, "back_in_service", kind="primary")

    def _status(self, mv: MaintenanceView, rows: object, buttons: object) -> None:
        health = tm.HEALTH.get(mv.health or "", "")
        self._text(rows, f"{self.t(tm.ACTIONS['status'])}: {self.t(health)}", "Heading")
        for row in mv.rows:
            self._diag(rows, row, tm.DEVICES.get(row.name, row.name))
        self._button(buttons, "status", text=self.t(tm.LINES["refresh"]))

    def _tests(self, mv: MaintenanceView, rows: object, buttons: object) -> None:
        done = {r.name: r for r in mv.rows}
        for name in mv.tests:
            label = tm.TESTS.get(name, name)
            if name in done:
                self._diag(rows, done[name], label)
            else:
                self._text(rows, f"{self.t(label)}: {self.t(tm.LINES['not_run'])}")
            self._button(buttons, "run_test", name, self.t(label))
        self._button(buttons, "run_test", "all", self.t(tm.LINES["run_all"]), kind="primary")

    def _reason(self, mv: MaintenanceView, rows: object, buttons: object) -> None:
        self._text(rows, self.t(tm.LINES["choose_reason"]), "Heading")
        for reason in mv.reasons:
            self._button(buttons, "out_of_service", reason, self.t(tm.REASONS.get(reason, reason)))

    def _result(self, mv: MaintenanceView, rows: object, buttons: object) -> None:
        verdict = tm.LINES["done_ok"] if mv.ok else tm.LINES["done_failed"]
        self._text(rows, self.t(verdict), "Heading")
        for code, value in mv.details:
            kind, _, doc = code.partition(":")
            label = self.t(tm.DETAILS.get(kind, "")) or (doc or code)
            rows.add_widget(LineRow(label=self.fx(label), value=self.fx(value)))  # type: ignore[attr-defined]
        for line in mv.lines:
            self._text(rows, self.t(tm.PROBLEMS.get(line, "")) or self.fx(line), "Small")

    def _lines(self, mv: MaintenanceView, rows: object, buttons: object) -> None:
        if not mv.lines:
            self._text(rows, self.t(tm.LINES["empty"]))
        for line in mv.lines:
            self._text(rows, self.fx(line), "Mono")
