"""A clerk's shift through the counter's real widgets: for the test, the screenshots and
the offscreen demo. Every page is checked by :mod:`terminal_ui.layout_check` in each
language as it is reached (no frames drawn for that), and pictured when asked."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terminal_ui.counter.harness import CounterDriver

__all__ = ["Shift"]


def _op(name: str) -> Any:
    from terminal_ui.counter.station import Op

    return Op(name)


LANGUAGES = ("zh-Hans", "zh-Hant", "en")
NEW_PIN = "135790"  # TEST ONLY: the PIN the demo's new card holder chooses


@dataclass
class Shift:
    """The walk. ``cw`` is the counter world; ``shots`` a folder for pictures (or None);
    ``pinyin``: type a name with the pinyin keyboard (reads its dictionary, seconds)."""

    d: CounterDriver
    cw: Any
    shots: Path | None = None
    dpi: float = 124.0
    pinyin: bool = False
    check_size: tuple[int, int] = (1920, 1080)  # layouts are checked at this window size
    languages: tuple[str, ...] = LANGUAGES
    taps: bool = True  # False: the station is called directly (no frames: fast)
    findings: list[str] = field(default_factory=list)
    pictures: list[Path] = field(default_factory=list)
    checked: int = 0

    # -- checks and pictures -------------------------------------------------------------
    def look(self, name: str, languages: tuple[str, ...] | None = None) -> None:
        """Check the page now shown in each language; picture it (zh-Hans) if asked."""
        from kivy.clock import Clock
        from kivy.lang import Builder

        from terminal_ui.layout_check import check, settle

        root = self.d.root

        def turn() -> None:
            Clock.tick()
            Builder.sync()
            Clock.tick_draw()
            Builder.sync()

        from kivy.core.window import Window

        running = tuple(Window.size)
        # Widgets of the pages left behind must be gone (and their rules' bindings on
        # the theme with them) before the theme changes with the window.
        gc.collect()
        Window.size = self.check_size  # no frame drawn: layout only
        size = self.check_size
        for lang in languages or self.languages:
            root.choose_language(lang)
            settle(self.d.app.root, turn)
            found = check(root, size, dpi=self.dpi, elder=False,
                          background=tuple(self.d.app.theme.bg))  # fmt: skip
            self.checked += 1
            self.findings += [f"{name} {lang}: {f}" for f in dict.fromkeys(map(str, found))]
        root.choose_language("zh-Hans")
        Window.size = running
        settle(self.d.app.root, turn)
        if self.shots is not None:
            self.pictures.append(self.d.screenshot(self.shots / f"{name}.png"))

    # -- the clerk's hands: real taps, or (taps=False) the station's own methods ----------
    @property
    def station(self) -> Any:
        return self.d.root.station

    def _press(self, action: str, **attrs: Any) -> None:
        if self.taps or action.startswith("demo_"):
            self.d.press(action, **attrs)
            return
        st = self.station
        calls: dict[str, Callable[[], None]] = {
            "submit": st.submit, "home": st.home, "pin_submit": st.pin_submit,
            "citizen_pin_ok": st.pin_submit, "read_id_card": st.read_id_card,
            "open_op": lambda: st.open_op(_op(attrs["op"])),
            "focus_field": lambda: setattr(self.d.root.screen("form"), "focus", attrs["name"]),
        }  # fmt: skip
        calls[action]()
        self.d.root.show(st.view)  # what the clock would deliver

    def _type(self, text: str) -> None:
        if self.taps:
            self.d.type_keys(text)
            return
        form = self.d.root.screen("form")
        self.station.set_field(form.focus, self.station.view.fields.get(form.focus, "") + text)

    def _pin(self, pin: str, root: Any = None) -> None:
        if self.taps:
            self.d.type_pin(pin, root)
            return
        for ch in pin:
            self.station.pin_digit(int(ch))

    def _result(self) -> Any:
        return self.d.wait_page("result", timeout=60)

    def _form(self, op: str) -> Any:
        self._press("open_op", op=op)
        return self.d.wait_page("form")

    def _done(self) -> None:
        self._press("home")
        self.d.wait_page("home")

    def _citizen_pin(self, pin: str) -> None:
        self.d.wait_page("citizen_pin")
        side = self.d.root.ids.citizen
        self.d.pump(3)  # the demo's buttons make room for the pad
        self._pin(pin, side)

    # -- the shift ---------------------------------------------------------------------
    def sign_in(self) -> None:
        d, cw = self.d, self.cw
        d.wait_page("sign_in")
        self.look("counter-01-sign-in")
        d.press("demo_clerk")
        self._pin("000000")
        self._press("pin_submit")
        d.wait_for(lambda: d.root.screen("sign_in").message, what="wrong PIN refused")
        self.look("counter-02-sign-in-wrong-pin")
        self._pin(cw.clerk_card().pin)
        self._press("pin_submit")
        d.wait_page("home")
        self.look("counter-03-home")

    def open_shift(self, float_yuan: str = "500") -> None:
        self._form("shift_open")
        self._type(float_yuan)
        self.look("counter-04-shift-open")
        self._press("submit")
        self._result()
        self.look("counter-05-shift-opened")
        self._done()

    def issue(self, document: str = "孙浩然", opening: str = "50") -> list[tuple[str, str]]:
        """A new card for the holder of ``document``, read off the ID reader, the PIN
        chosen on the citizen's pad, an opening balance in cash; returns the result rows."""
        d, cw = self.d, self.cw
        form = self._form("issue")
        self.look("counter-06-issue")
        cw.place_id(document)
        self._press("read_id_card")
        d.wait_for(lambda: d.root.station.view.message == "id_card_read", what="ID card read")
        d.wait_page("form")
        cw.insert_blank()
        self._press("focus_field", name="opening")
        self._type(opening)
        self.look("counter-07-issue-from-id-card")
        if self.pinyin:
            # The name on the pinyin keyboard: surnames first for its first character.
            self._press("focus_field", name="name")
            for ch in "sunhaoran":
                d.press("type", char=ch)
            d.wait_for(lambda: form.keyboard.preedit, what="pinyin composition")
            d.wait_for(lambda: d.find("candidate"), what="candidates")
            # (one language: another would draw a new keyboard, the composition gone)
            self.look("counter-08-issue-name-by-pinyin", ("zh-Hans",))
            d.press("candidate", index=0)
            d.pump(2)
            if self.station.view.fields.get("name") != "孙浩然":
                # The likeliest reading was another: the clerk keeps the card's name.
                self.station.set_field("name", "孙浩然")
            self._press("focus_field", name="opening")
        self._press("submit")
        self._citizen_pin(NEW_PIN)
        self.look("counter-09-citizen-pin")
        self._press("citizen_pin_ok")
        screen = self._result()
        self.look("counter-10-issued")
        rows = [(r.label, r.value) for r in reversed(screen.ids.rows.children)]
        self._done()
        return rows

    def typed_holder_refused(self) -> str:
        """A typed ID number with a wrong check character: refused on the form."""
        d = self.d
        self._form("issue")
        self._type("320582200809150331")
        self._press("focus_field", name="birth")
        self._type("20080915")
        self._press("submit")
        d.wait_for(lambda: d.root.station.view.field_errors, what="a field refused")
        self.look("counter-11-issue-check-character")
        code = str(d.root.station.view.field_errors.get("number", ""))
        self._press("home")
        d.wait_page("home")
        return code

    def top_up(self, who: str, pin: str, amount: str = "20") -> list[tuple[str, str]]:
        if any(c.asn == who.upper() for c in self.cw.wallet.cards()):
            self.cw.insert_citizen(who)  # a demo person's card (a new one is in already)
        self._form("top_up")
        self._type(amount)
        self.look("counter-12-top-up")
        self._press("submit")
        self._citizen_pin(pin)
        self._press("citizen_pin_ok")
        screen = self._result()
        self.look("counter-13-topped-up")
        rows = [(r.label, r.value) for r in reversed(screen.ids.rows.children)]
        self._done()
        return rows

    def lookup(self, query_digits: str) -> None:
        self._form("lookup")
        self._type(query_digits)
        self.look("counter-14-lookup")
        self._press("submit")
        self._result()
        self.look("counter-15-lookup-found")
        self._done()

    def lookup_by_name(self, name: str, pinyin: str) -> list[tuple[str, str]]:
        """A citizen looked up by name, typed on the lookup form's name keyboard (by
        ``pinyin`` when the walk types pinyin); returns the result rows (their cards)."""
        d = self.d
        form = self._form("lookup")
        d.press("query_keys:name")  # the keys for a name (UI state: always a real tap)
        d.wait_for(lambda: type(form.keyboard).__name__ == "PinyinKeyboard", what="name keys")
        if self.pinyin:
            for ch in pinyin:
                d.press("type", char=ch)
            d.wait_for(lambda: d.find("candidate"), what="candidates")
            self.look("counter-25-lookup-name-keyboard", ("zh-Hans",))
            d.press("candidate", index=0)
            d.pump(2)
        if self.station.view.fields.get("query") != name:
            # The likeliest reading was another (or no pinyin typed): the clerk's name.
            self.station.set_field("query", name)
        d.root.show(self.station.view)
        if not self.pinyin:
            self.look("counter-25-lookup-name-keyboard")
        self._press("submit")
        screen = self._result()
        self.look("counter-26-lookup-by-name")
        rows = [(r.label, r.value) for r in reversed(screen.ids.rows.children)]
        self._done()
        return rows

    def resume_after_restart(self, card_number: str, id_number: str,
                             restart: Callable[[], Any]) -> dict[str, Any]:  # fmt: skip
        """A top-up recorded (cash taken) and a replacement's first step, then the
        station's core restarted (``restart`` gives new ports over the same journal and
        central); signed in again, the unfinished operations are listed: the top-up
        reversed (its cash handed back), the replacement resumed with a blank card and
        the citizen's new PIN. Returns the list shown and the resumed result's rows."""
        d, st = self.d, self.station
        st._ports._s().begin_top_up(1_000)  # (off screen) the cash taken, then a crash
        self._two_fields("replace", card_number, id_number)
        self._press("submit")
        self._citizen_pin(NEW_PIN)
        self._press("citizen_pin_ok")
        self._result()
        self._done()
        st.sign_out()
        st._ports = restart()  # the station process died: new core, same journal
        d.root.show(st.view)
        d.wait_page("sign_in")
        self._pin(self.cw.clerk_card().pin)
        self._press("pin_submit")
        d.wait_page("resume")
        listed = [(u.kind, u.card, u.amount_fen, u.reversible) for u in st.view.unfinished]
        self.look("counter-27-resume-list")
        top_up = next(u for u in st.view.unfinished if u.kind == "topup")
        st.reverse(top_up.op_id)
        self._result()
        self._done()
        st.show_unfinished()
        d.root.show(st.view)
        d.wait_page("resume")
        [repl] = [u for u in st.view.unfinished if u.kind == "replace"]
        self.cw.insert_blank()  # the new card's blank in the reader
        st.resume(repl.op_id)
        d.root.show(st.view)
        self._citizen_pin(NEW_PIN)
        self._press("citizen_pin_ok")
        screen = self._result()
        self.look("counter-28-resumed")
        rows = [(r.label, r.value) for r in reversed(screen.ids.rows.children)]
        self._done()
        left = [u.op_id for u in st.view.unfinished]
        return {"listed": listed, "rows": rows, "left": left, "again": repl.op_id in left}

    def report_loss(self, card_number: str, id_number: str) -> None:
        self._form("report_loss")
        self._type(card_number)
        self._press("focus_field", name="number")
        self._type(id_number)
        self.look("counter-16-report-loss")
        self._press("submit")
        self._result()
        self.look("counter-17-reported-lost")
        self._done()

    def _two_fields(self, op: str, card_number: str, id_number: str) -> None:
        self._form(op)
        if card_number:
            self._type(card_number)
            self._press("focus_field", name="number")
        self._type(id_number)

    def replace(self, card_number: str, id_number: str) -> list[tuple[str, str]]:
        """The card present replaced: transferred (the calculation), then the new card
        issued from a blank one with the balance carried; returns the result rows."""
        self._two_fields("replace", card_number, id_number)
        self.look("counter-18-replace")
        self._press("submit")
        self._citizen_pin(NEW_PIN)
        self._press("citizen_pin_ok")
        self._result()
        self.look("counter-19-replace-transferred")
        self._done()
        self.cw.insert_blank()  # the old card out (terminated), the blank one in
        self._two_fields("replace", card_number, id_number)
        self._press("submit")
        self._citizen_pin(NEW_PIN)
        self._press("citizen_pin_ok")
        screen = self._result()
        self.look("counter-20-replaced")
        rows = [(r.label, r.value) for r in reversed(screen.ids.rows.children)]
        self._done()
        return rows

    def refund_with_supervisor(self, id_number: str) -> list[tuple[str, str]]:
        """Refund and close above the limit: the supervisor's card and PIN asked."""
        d = self.d
        self._two_fields("refund", "", id_number)
        self._press("submit")
        d.wait_page("citizen_pin")
        d.wait_for(lambda: d.root.station.view.pin_for == "supervisor", what="supervisor asked")
        self.cw.insert_supervisor()  # (the demo panel's Supervisor card in)
        self._citizen_pin(self.cw.supervisor_card().pin)
        self.look("counter-21-refund-supervisor")
        self._press("citizen_pin_ok")
        screen = self._result()
        self.look("counter-22-refunded")
        rows = [(r.label, r.value) for r in reversed(screen.ids.rows.children)]
        self._done()
        return rows

    def renew_not_due(self, who: str, id_number: str) -> str:
        """A card far from its expiry: renewal refused on the form, with the reason."""
        d = self.d
        self.cw.insert_citizen(who)
        self._two_fields("renew", "", id_number)
        self._press("submit")
        self._citizen_pin(NEW_PIN)
        self._press("citizen_pin_ok")
        d.wait_for(lambda: d.root.station.view.message == "not_due", what="not_due")
        d.wait_page("form")
        self.look("counter-23-renew-not-due")
        code = str(d.root.station.view.message)
        self._press("home")
        d.wait_page("home")
        return code

    def close_shift(self, counted: str) -> list[tuple[str, str]]:
        self._form("shift_close")
        self._type(counted)
        self._press("submit")
        screen = self._result()
        self.look("counter-24-shift-closed-mismatch")
        rows = [(r.label, r.value) for r in reversed(screen.ids.rows.children)]
        self._done()
        return rows
