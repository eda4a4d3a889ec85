"""The audio guide: reads every screen and every change aloud while audio mode is on.

It listens to the core's events (any thread; it keeps no Kivy state) and speaks
through a :class:`drivers.speech.SpeechOutput`. Audio mode itself is the core's
(``KioskController.set_audio_mode``: the headset key, which also lengthens every
timeout); the speech language, repeat and slower speech are the guide's own. The
speech language is its own choice; when the screen is in a script the voice does
not read (English on screen, a Chinese voice), the guide asks the core for the
screen language that voice reads, since the catalog's service names come in the
screen's language.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from drivers.speech import SpeechOutput, Voice
from kiosk.core.views import (
    KioskEvent,
    Progress,
    Screen,
    ScreenChanged,
    TimeoutCleared,
    TimeoutWarning,
)
from terminal_ui import texts
from terminal_ui.i18n import N_, Translator
from terminal_ui.speech.compose import TEXT_LANGUAGE, Speech, compose, pin_change

__all__ = ["DEFAULT_VOICE", "VOICE_NAMES", "AudioGuide"]

# A voice for each screen language until the citizen chooses one: Traditional
# characters on screen do not mean Cantonese, so both scripts start in Mandarin.
DEFAULT_VOICE = {"zh-Hans": Voice.MANDARIN, "zh-Hant": Voice.MANDARIN, "en": Voice.ENGLISH}
VOICE_NAMES = {
    Voice.MANDARIN: N_("Mandarin"),
    Voice.CANTONESE: N_("Cantonese"),
    Voice.ENGLISH: N_("English"),
}


class AudioGuide:
    """Speaks screens for a citizen who cannot read them."""

    def __init__(
        self,
        output: SpeechOutput,
        translator: Translator,
        *,
        set_language: Callable[[str], None] | None = None,
        set_audio_mode: Callable[[bool], None] | None = None,
        more_time: Callable[[], None] | None = None,
    ) -> None:
        self.output = output
        self.translator = translator
        self._set_language = set_language
        self._set_audio_mode = set_audio_mode
        self._more_time = more_time
        self._warned = False  # "more time?" is up: Repeat asks for it
        self._lock = threading.Lock()
        self.on = False
        self.voice: Voice | None = None  # None: the screen language's default voice
        self.slow = False
        self.screen: Screen | None = None
        self._said: list[str] = []  # the sentences of the screen now shown
        self.last = ""  # the last thing said
        self._step: str | None = None  # the busy step last said

    # -- the headset keys ---------------------------------------------------------------
    def toggle(self) -> None:
        """The headset key: audio mode on or off (the core decides; we hear it back)."""
        if self._set_audio_mode is not None:
            self._set_audio_mode(not self.on)

    def repeat(self, prefix: str = "") -> None:
        """Say the whole screen again (after ``prefix``, a msgid, when given). While
        the timeout warning is up, Repeat is the citizen's "yes, more time"."""
        if self._warned and self._more_time is not None:
            self._warned = False
            self._more_time()
            return
        with self._lock:
            if self.on and self.screen is not None:
                first = self._words(self.screen, prefix) if prefix else ""
                self._say(" ".join([first, *self._sentences(self.screen)]).strip())

    def slower(self) -> None:
        """Slower speech (pressed again: normal), then the screen again at that pace."""
        with self._lock:
            self.slow = not self.slow
        self.repeat()

    def set_voice(self, voice: Voice | str) -> None:
        """The speech language, on its own (Mandarin, Cantonese, English)."""
        with self._lock:
            self.voice = Voice(voice)
            screen = self.screen
        unreadable = screen is not None and self.on and not self._readable(screen)
        if unreadable and self._set_language is not None:
            self._set_language(TEXT_LANGUAGE[self.voice])
            return  # the screen comes back in that language and is read then
        self.repeat(VOICE_NAMES[Voice(voice)])

    def current_voice(self, screen: Screen | None = None) -> Voice:
        screen = screen or self.screen
        if self.voice is not None:
            return self.voice
        return DEFAULT_VOICE.get(screen.language.value if screen else "zh-Hans", Voice.MANDARIN)

    # -- events from the core ----------------------------------------------------------
    def on_event(self, event: KioskEvent) -> None:
        with self._lock:
            if isinstance(event, ScreenChanged):
                self._screen(event.screen)
            elif not self.on or self.screen is None:
                return
            elif isinstance(event, Progress):
                # A step said once: progress repeats its step as the fraction grows.
                words = texts.BUSY.get(event.step)
                if words and event.step not in (self._step, self.screen.busy):
                    self._step = event.step
                    speech = self._speech(self.screen)
                    self._say(speech.finish(speech.t(words)))
            elif isinstance(event, TimeoutWarning):
                self._warned = True
                s = self._speech(self.screen)
                ask = s.t(N_("Press Repeat for more time."))
                self._say(s.finish(f"{s.t('Do you need more time?')} {ask}"))
            elif isinstance(event, TimeoutCleared):
                self._warned = False

    def _screen(self, screen: Screen) -> None:
        before, self.screen = self.screen, screen
        self._step = screen.busy
        if not screen.audio_mode:
            if self.on:
                self.on = False
                self.output.say(self._words(screen, N_("Spoken guidance off.")),
                                self.current_voice(screen), slow=self.slow)  # fmt: skip
            # The session is over (or the citizen turned it off): the next one starts
            # with the default voice and pace.
            self.voice, self.slow, self._said = None, False, []
            return
        if not self.on:
            self.on = True
            self._said = self._sentences(screen)
            intro = self._words(screen, N_("Spoken guidance on."))
            self._say(f"{intro} {' '.join(self._said)}")
            return
        if not self._readable(screen) and self._set_language is not None:
            self._set_language(TEXT_LANGUAGE[self.current_voice(screen)])
            return
        said = self._sentences(screen)
        same = before is not None and before.state == screen.state
        if same and before is not None and before.language == screen.language:
            changed = self._change(before, screen, said)
        else:
            changed = said
        self._said = said
        if changed:
            self._say(" ".join(changed))

    def _change(self, before: Screen, screen: Screen, said: list[str]) -> list[str]:
        """What is new on the same screen: a PIN digit, an error, a value typed."""
        old_pin, pin = before.pin, screen.pin
        typed = old_pin is not None and pin is not None and old_pin.length != pin.length
        if typed and old_pin is not None and pin is not None and not pin.wrong:
            speech = self._speech(screen)
            return [pin_change(old_pin.length, pin.length, pin.max_length, speech)]
        if before.form is not None and screen.form is not None:
            for old, new in zip(before.form.fields, screen.form.fields, strict=False):
                if old.kind == "pin" and len(old.value) != len(new.value):
                    speech = self._speech(screen)
                    return [pin_change(len(old.value), len(new.value), 6, speech)]
        return [p for p in said if p not in self._said]

    # -- words -------------------------------------------------------------------------
    def _readable(self, screen: Screen) -> bool:
        """Whether the voice reads the screen's script (service names come in it)."""
        chinese = screen.language.value.startswith("zh")
        return chinese == (self.current_voice(screen) is not Voice.ENGLISH)

    def _speech(self, screen: Screen) -> Speech:
        return Speech(self.translator, self.current_voice(screen), screen.language.value)

    def _sentences(self, screen: Screen) -> list[str]:
        return compose(screen, self._speech(screen))

    def _words(self, screen: Screen, msgid: str) -> str:
        s = self._speech(screen)
        return s.finish(s.t(msgid))

    def _say(self, text: str) -> None:
        self.last = text
        self.output.say(text, self.current_voice(), slow=self.slow)
