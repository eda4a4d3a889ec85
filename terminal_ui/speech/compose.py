"""What a screen says aloud, from the core's view (:class:`kiosk.core.views.Screen`),
never from widgets: it works with no window at all.

Words come from the same tables as the screen (:mod:`terminal_ui.texts`), in the
language of the *voice*: Mandarin takes the screen's Chinese (Traditional converted
to Simplified, as the Mandarin voice's dictionary is Simplified), Cantonese the
Chinese as it is, English the English. Numbers are said the way a voice reads them
well: money as yuan, long numbers digit by digit, dates as month and day. The PIN
is never said, only how many digits are in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from drivers.speech import Voice
from kiosk.core.views import Screen
from terminal_ui import texts
from terminal_ui import texts_maintenance as mt
from terminal_ui.i18n import N_, Translator

__all__ = ["TEXT_LANGUAGE", "Speech", "compose", "pin_change", "spoken_money", "to_simplified"]

# The catalog a voice's words come from when the screen is not in a script it reads.
TEXT_LANGUAGE: dict[Voice, str] = {
    Voice.MANDARIN: "zh-Hans",
    Voice.CANTONESE: "zh-Hant",
    Voice.ENGLISH: "en",
}

_CODE = re.compile(r"[a-z0-9_]+")
_LONG_NUMBER = re.compile(r"\d{5,}")
_DASHED = re.compile(r"(?<=\d)[-/](?=\d)")
_MASK = re.compile(r"[*•●＊]+")


@cache
def _t2s() -> Callable[[str], str]:
    import opencc  # only a kiosk whose citizens listen to Mandarin pays for it

    convert: Callable[[str], str] = opencc.OpenCC("t2s").convert
    return convert


def to_simplified(text: str) -> str:
    """Traditional characters as Simplified (OpenCC ``t2s``)."""
    return str(_t2s()(text)) if text else text


def spoken_money(fen: int, voice: Voice) -> str:
    """1234 fen → "12.34元" / "12.34 yuan" (no ¥: a voice reads the sign as yen)."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    number = f"{sign}{yuan}" if cents == 0 else f"{sign}{yuan}.{cents:02d}"
    return f"{number}元" if voice is not Voice.ENGLISH else f"{number} yuan"


class Speech:
    """The words of one voice: a translator's catalog and the number forms."""

    def __init__(self, translator: Translator, voice: Voice, screen_language: str) -> None:
        self.voice = voice
        chinese_screen = screen_language.startswith("zh")
        self.language = (
            screen_language
            if chinese_screen == (voice is not Voice.ENGLISH)
            else TEXT_LANGUAGE[voice]
        )
        self._translator = translator

    def t(self, msgid: str) -> str:
        return str(self._translator.gettext(msgid, self.language)) if msgid else ""

    def text(self, raw: str) -> str:
        """Text from outside (names, titles, values) made sayable."""
        raw = _MASK.sub(" ", raw)
        raw = _DASHED.sub(" ", raw)
        raw = _LONG_NUMBER.sub(lambda m: " ".join(m.group()), raw)
        return raw.strip()

    def money(self, fen: int) -> str:
        return spoken_money(fen, self.voice)

    def finish(self, text: str) -> str:
        """The last step before the voice: Simplified for Mandarin; no ellipses."""
        text = text.replace("…", "。" if self.voice is not Voice.ENGLISH else ". ")
        return to_simplified(text) if self.voice is Voice.MANDARIN else text


def pin_change(before: int, after: int, max_length: int, speech: Speech) -> str:
    """A digit in or out, never which: "Digit entered, 4 of 6"."""
    if after > before:
        msg = N_("Digit entered, {n} of {max}.")
    elif after == 0:
        msg = N_("PIN cleared.")
    else:
        msg = N_("Digit deleted, {n} of {max}.")
    return speech.finish(speech.t(msg).format(n=after, max=max_length))


def compose(screen: Screen, speech: Speech) -> list[str]:
    """The screen as sentences to say, in reading order."""
    s = speech
    parts: list[str] = [s.t(texts.NOTICES.get(n, texts.NOTICE_UNKNOWN)) for n in screen.notices
                        if screen.state.value != "out_of_service"]  # fmt: skip
    parts += _BODY.get(screen.state.value, _generic)(screen, s)
    return [s.finish(p) for p in parts if p]


def _attract(_v: Screen, s: Speech) -> list[str]:
    return [
        s.t("Welcome to the citizen card kiosk"),
        s.t("Please insert your citizen card"),
        s.t(N_("Chip first, face up.")),
        s.t(N_("Headset keys: Repeat to hear this again, Slower for slower speech.")),
    ]


def _busy(v: Screen, s: Speech) -> list[str]:
    return [s.t(texts.lookup(texts.BUSY, v.busy, texts.BUSY_UNKNOWN))]


def _refused(v: Screen, s: Speech) -> list[str]:
    what, then = texts.lookup(texts.REFUSALS, v.refusal, texts.REFUSAL_UNKNOWN)
    return [s.t(what), s.t(then)]


def _pin(v: Screen, s: Speech) -> list[str]:
    pin = v.pin
    if pin is None:
        return []
    out = [s.t(texts.PIN_LABELS.get(pin.label, texts.PIN_LABELS["pin"]))]
    if pin.wrong:
        out.append(s.t("Wrong PIN."))
    if pin.tries_left is not None and pin.tries_left >= 0:
        if pin.tries_left == 1:
            out.append(s.t("Careful: one try left before the PIN is blocked."))
        else:
            out.append(s.t("Tries left: {n}").format(n=pin.tries_left))
    out.append(s.t(N_("{n} of {max} digits entered.")).format(n=pin.length, max=pin.max_length))
    out.append(s.t("Cover the keypad with your other hand. Staff will never ask for your PIN."))
    return out


def _card(v: Screen, s: Speech) -> list[str]:
    c = v.card
    if c is None:
        return []
    digits = re.sub(r"\D", "", c.card_number_masked)[-4:]
    out = [s.t(N_("Card ending in {digits}.")).format(digits=" ".join(digits))]
    if c.balance_fen is not None:
        out.append(f"{s.t('Balance')}: {s.money(c.balance_fen)}")
    return out


def _menu(v: Screen, s: Speech) -> list[str]:
    out = [*_card(v, s), s.t("What would you like to do?")]
    if not v.online:
        out.append(s.t("Offline: some services need the network and are not available."))
    for group in v.menu:
        names = []
        for item in group.items:
            name = s.text(item.title)
            if item.price_fen is not None:
                name += f" {s.money(item.price_fen)}"
            if not item.available:
                why = texts.lookup(texts.WHY_NOT, item.why_not, texts.WHY_NOT_UNKNOWN)
                name += f" ({s.t(why)})"
            names.append(name)
        out.append(f"{s.text(group.title)}: {', '.join(names)}")
    out.append(s.t("Finish and take card"))
    return out


def _form(v: Screen, s: Speech) -> list[str]:
    f = v.form
    if f is None:
        return []
    out = [s.text(f.title)]
    if f.error:
        out.append(s.t(texts.lookup(texts.FIELD_ERRORS, f.error, texts.FIELD_ERROR_UNKNOWN)))
    for fv in f.fields:
        if fv.kind == "pin":
            value = s.t(N_("{n} digits entered.")).format(n=len(fv.value))
        elif fv.kind == "choice":
            value = ", ".join(s.text(label) for _val, label in fv.choices)
        else:
            value = s.text(fv.value) if fv.value else ""
        out.append(f"{s.text(fv.label)}: {value}" if value else s.text(fv.label))
        if fv.error == "out_of_range" and fv.min_fen is not None and fv.max_fen is not None:
            out.append(s.t(texts.AMOUNT_RANGE).format(low=s.money(fv.min_fen),
                                                      high=s.money(fv.max_fen)))  # fmt: skip
        elif fv.error:
            out.append(s.t(texts.lookup(texts.FIELD_ERRORS, fv.error, texts.FIELD_ERROR_UNKNOWN)))
    out.append(s.t("Continue"))
    return out


def _details(details: tuple[tuple[str, str], ...], s: Speech) -> list[str]:
    out = []
    for code, value in details:
        label = texts.DETAIL_LABELS.get(code)
        words = texts.DETAIL_VALUES.get(value)  # a value code ("v.none") in words
        said = s.t(words) if words else s.text(value)
        out.append(f"{s.t(label) if label else s.text(code)}: {said}")
    return out


def _confirm(v: Screen, s: Speech) -> list[str]:
    c = v.confirm
    if c is None:
        return []
    out = [s.t(texts.CONFIRM_TITLES.get(c.kind, "")), s.text(c.title)]
    if c.kind in ("debit", "load"):
        out.append(s.money(c.amount_fen))
    if c.payee and not _CODE.fullmatch(c.payee):
        out.append(f"{s.t('Payee')}: {s.text(c.payee)}")
    out += _details(c.details, s)
    if c.balance_fen is not None:
        out.append(f"{s.t('Balance now')}: {s.money(c.balance_fen)}")
    if c.balance_after_fen is not None:
        out.append(f"{s.t('Balance after')}: {s.money(c.balance_after_fen)}")
    out.append(s.t(texts.CONFIRM_NOTES.get(c.kind, "")))
    out.append(s.t("Please check, then press Confirm. Do not take out your card."))
    return out


def _date(when: object, s: Speech) -> str:
    month, day = getattr(when, "month", 0), getattr(when, "day", 0)
    if s.voice is Voice.ENGLISH:
        return f"{_MONTHS[month - 1]} {day}"
    return f"{month}月{day}日"


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def _info(v: Screen, s: Speech) -> list[str]:
    i = v.info
    if i is None:
        return []
    out = [s.text(i.title)]
    if i.balance_fen is not None:
        out.append(f"{s.t('Balance on the card')}: {s.money(i.balance_fen)}")
    out += _details(i.details, s)
    for h in i.history:
        kind = s.t(texts.HISTORY_KINDS.get(h.kind, h.kind))
        out.append(f"{_date(h.when, s)}, {kind}, {s.money(h.amount_fen)}")
    out.append(s.t(texts.RECEIPT.get(i.receipt, "")))
    return out


def _no_paper(v: Screen, s: Speech) -> list[str]:
    problem = texts.lookup(texts.PRINTER_PROBLEMS, v.extra.get("printer_problem"),
                           texts.PRINTER_UNKNOWN)  # fmt: skip
    later = "The payment is recorded either way; a service window can print a copy later."
    return [s.t(problem), s.t("Do you want to go on without a receipt?"), s.t(later)]


def _done(v: Screen, s: Speech) -> list[str]:
    r = v.result
    if r is None:
        return []
    headline, then = texts.lookup(texts.RESULTS, r.code, texts.RESULT_UNKNOWN)
    out = [s.t(headline), s.text(r.title)]
    if r.amount_fen:
        out.append(s.money(r.amount_fen))
    if r.balance_after_fen is not None:
        out.append(f"{s.t('Balance after')}: {s.money(r.balance_after_fen)}")
    if r.reference:
        out.append(s.text(r.reference))
    out += [s.t(then), s.t(texts.RECEIPT.get(r.receipt, ""))]
    return out


def _take_card(_v: Screen, s: Speech) -> list[str]:
    return [s.t("Please take your card"), s.t("Your card is ready in the slot below the screen.")]


def _out_of_service(_v: Screen, s: Speech) -> list[str]:
    what, then = texts.OUT_OF_SERVICE
    return [s.t(what), s.t(then)]


def _generic(v: Screen, s: Speech) -> list[str]:
    """The technician's pages (and any state this module does not know yet)."""
    if v.busy:
        return _busy(v, s)
    m = v.maintenance
    if m is None:
        return [s.t(texts.BUSY_UNKNOWN)]
    out = [s.t(mt.ACTIONS.get(m.page, "")) or s.t(mt.ACTIONS["home"])]
    for row in m.rows:
        name = mt.DEVICES.get(row.name) or mt.TESTS.get(row.name) or row.name
        out.append(f"{s.t(name)}: {s.t(mt.HEALTH.get(row.health, row.health))}")
    return out


_BODY: dict[str, Callable[[Screen, Speech], list[str]]] = {
    "attract": _attract,
    "checking_card": _busy,
    "verifying_pin": _busy,
    "preparing": _busy,
    "printing_answer": _busy,
    "checking_printer": _busy,
    "processing": _busy,
    "card_refused": _refused,
    "pin_entry": _pin,
    "menu": _menu,
    "form": _form,
    "info": _info,
    "confirm": _confirm,
    "no_paper": _no_paper,
    "done": _done,
    "take_card": _take_card,
    "out_of_service": _out_of_service,
}
