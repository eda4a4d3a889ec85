"""Spoken guidance, heard through espeak-ng's phoneme output (``espeak-ng -q -x``).

Every screen of the layout check's tour (the core's own views from a real session,
tests/ui/test_layout.py) in every speech language: the voice must read every
character in its own language. A voice that spells characters out ("Chinese
letter"), or falls back to English for Latin letters or for pinyin (espeak-ng's
``cmn`` voice does), shows it as a language switch ``(en)`` or as characters without
a tone, and fails. Then the guide on a live session: audio mode from the core
(longer timeouts), PIN digits never said, repeat, slower, a speech language of its
own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.speech import EspeakNg, Voice
from terminal_ui.i18n import Translator
from terminal_ui.speech.compose import Speech, compose

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002a6df]")
SWITCH = re.compile(r"\((?:en|zh|cmn|yue|[a-z]{2,3}(?:-[a-z]+)?)\)")
# A syllable of a tonal voice carries its tone: a run of digits in espeak's -x output.
TONE = re.compile(r"[0-9]+")
# The screen languages a voice reads (English service names are no Mandarin words).
READS = {
    Voice.MANDARIN: ("zh-Hans", "zh-Hant"),
    Voice.CANTONESE: ("zh-Hans", "zh-Hant"),
    Voice.ENGLISH: ("en",),
}


def heard_wrong(text: str, phonemes: str, voice: Voice) -> str | None:
    """Why ``phonemes`` is not ``voice`` reading ``text`` in its own language, or None."""
    if not phonemes.strip():
        return "nothing said"
    switch = SWITCH.search(phonemes)
    if switch:
        return f"the voice switched language {switch.group()}"
    han = len(HAN.findall(text))
    if voice is Voice.ENGLISH:
        # Chinese names in English are read by the Mandarin voice (drivers.speech.ssml);
        # the English voice itself says "Chinese letter" for each character.
        return "Chinese letters spelled out" if "tS'aIni:z" in phonemes else None
    if re.search(r"[A-Za-z]", text):
        return "Latin letters for a Chinese voice"
    toned = len(TONE.findall(phonemes))
    if toned < han:
        return f"{han} characters but only {toned} toned syllables"
    return None


@pytest.fixture(scope="module")
def espeak() -> EspeakNg:
    return EspeakNg()


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, Any]]]:
    from tests.ui.test_layout import _session

    return _session(tmp_path_factory.mktemp("speech-world"))


def test_every_screen_in_every_speech_language(espeak: EspeakNg, tour: Any) -> None:
    translator = Translator()
    failures, heard = [], 0
    for language, shots in tour.items():
        for label, view in shots:
            for voice in Voice:
                if language not in READS[voice]:
                    continue
                text = " ".join(compose(view, Speech(translator, voice, language)))
                why = heard_wrong(text, espeak.phonemes(text, voice), voice)
                heard += 1
                if why:
                    failures.append(f"{label} {language} {voice.name}: {why}: {text}")
    assert heard >= 100 and not failures, "\n".join(failures)


def test_the_check_hears_a_broken_voice(espeak: EspeakNg) -> None:
    """The check fails on what it is there to catch."""
    text = "请插入您的市民卡"
    assert heard_wrong(text, espeak.phonemes(text, Voice.MANDARIN), Voice.MANDARIN) is None
    # espeak-ng's plain "cmn" voice reads its own pinyin as English words
    assert "switched" in (heard_wrong(text, espeak.phonemes(text, "cmn"), Voice.MANDARIN) or "")
    # the English voice spells each character out as "Chinese letter" (unless the
    # driver hands them to the Mandarin voice, as it does for Voice.ENGLISH)
    assert heard_wrong(text, espeak.phonemes(text, "en"), Voice.ENGLISH)
    assert heard_wrong(text, espeak.phonemes(text, Voice.ENGLISH), Voice.ENGLISH) is None
    assert heard_wrong("水费 PIN", espeak.phonemes("水费 PIN", "yue"), Voice.CANTONESE)
    # Traditional text: the Mandarin voice gets Simplified first
    s = Speech(Translator(), Voice.MANDARIN, "zh-Hant")
    assert s.finish("請插入您的市民卡") == text


class PhonemeHeadset:
    """The headset as tests hear it: what was said, with espeak's phonemes."""

    def __init__(self, espeak: EspeakNg) -> None:
        self.espeak = espeak
        self.said: list[tuple[str, Voice, bool]] = []

    def say(self, text: str, voice: Voice, *, slow: bool = False) -> None:
        self.said.append((text, voice, slow))

    def stop(self) -> None:
        pass

    def wait(self, n: int, timeout: float = 20) -> tuple[str, Voice, bool]:
        """The ``n``-th utterance (from 1), waiting for it."""
        end = time.monotonic() + timeout
        while len(self.said) < n and time.monotonic() < end:
            time.sleep(0.01)
        assert len(self.said) >= n, self.said
        return self.said[n - 1]


@pytest.fixture
def session(tmp_path: Path, espeak: EspeakNg) -> Iterator[tuple[Any, Any, Any, PhonemeHeadset]]:
    from kiosk.core.clock import ManualClock
    from kiosk.core.controller import KioskController
    from kiosk.demo.issuer import create_demo_wallet
    from kiosk.demo.world import DemoWorld
    from terminal_ui.speech.guide import AudioGuide

    create_demo_wallet(tmp_path / "wallet", seed=11)
    world = DemoWorld.build(tmp_path, clock=ManualClock())
    c = KioskController(world.machine)
    headset = PhonemeHeadset(espeak)
    guide = AudioGuide(headset, Translator(), set_language=c.set_language,
                       set_audio_mode=c.set_audio_mode, more_time=c.more_time)  # fmt: skip
    screens: list[Any] = []
    c.subscribe(guide.on_event)
    c.subscribe(lambda e: screens.append(e.screen) if hasattr(e, "screen") else None)
    c.start(tick=0.01)
    try:
        yield world, c, guide, headset
    finally:
        c.stop()
        world.close()


def _until(cond: Any, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_the_guide_on_a_session(session: Any, espeak: EspeakNg) -> None:
    from kiosk.journeys.citizen_states import State

    world, c, guide, headset = session
    _until(lambda: guide.screen is not None and guide.screen.state is State.ATTRACT)
    normal = world.machine.seconds_for(State.PIN_ENTRY)
    guide.toggle()  # the headset key
    intro, voice, _slow = headset.wait(1)
    assert intro.startswith("语音引导已开启") and "请插入" in intro and voice is Voice.MANDARIN
    assert world.machine.seconds_for(State.PIN_ENTRY) == normal * 3  # audio lengthens it

    world.insert("1")
    _until(lambda: any("请输入6位密码" in t for t, _v, _s in headset.said))
    n = len(headset.said)
    pin = str(world.citizen(1).pin)
    for d in pin:
        c.pin_digit(int(d))
    said = [headset.wait(n + k)[0] for k in range(1, 7)]
    assert said == [f"已输入一位，共6位中的第{k}位。" for k in range(1, 7)]
    assert all(pin not in t for t, _v, _s in headset.said)  # the PIN is never said
    c.pin_delete()
    assert headset.wait(n + 7)[0] == "已删除一位，还有6位中的5位。"

    guide.repeat()
    again = headset.wait(n + 8)[0]
    assert "请输入6位密码" in again and "已输入6位中的5位" in again
    guide.slower()
    assert headset.wait(n + 9)[2] is True

    # Cantonese on a Simplified screen: the speech language is its own choice
    guide.set_voice(Voice.CANTONESE)
    text, voice, _ = headset.wait(n + 10)
    assert voice is Voice.CANTONESE and text.startswith("粤语")
    assert heard_wrong(text, espeak.phonemes(text, voice), voice) is None
    # English speech: the screen follows into English (service names come in it)
    guide.set_voice(Voice.ENGLISH)
    _until(lambda: guide.screen.language.value == "en")
    text, voice, _ = headset.wait(n + 11)
    assert voice is Voice.ENGLISH and "PIN" in text
    assert heard_wrong(text, espeak.phonemes(text, voice), voice) is None

    # the timeout warning, said; Repeat is "yes, more time" then
    clock, n = world.clock, len(headset.said)
    clock.advance(world.machine.seconds_for(State.PIN_ENTRY) - 10)
    text, voice, _ = headset.wait(n + 1)
    assert "Repeat" in text and voice is Voice.ENGLISH, text
    guide.repeat()
    _until(lambda: not guide._warned and world.machine._deadline is not None
           and world.machine._deadline - clock.monotonic() > 60)  # fmt: skip
    assert guide.screen.state is State.PIN_ENTRY

    world.remove()  # the session ends: audio mode, voice and pace go back
    _until(lambda: guide.screen.state is State.ATTRACT and not guide.on)
    assert guide.voice is None and guide.slow is False
    assert world.machine.seconds_for(State.PIN_ENTRY) == normal


def test_audio_mode_lengthens_every_timeout() -> None:
    from kiosk.core.timeouts import Timeouts

    t = Timeouts()
    assert t.for_state("menu", 60, False, True) == 60 * t.audio_factor
    assert t.for_state("menu", 60, True, True) == 60 * t.audio_factor * t.elder_factor
    assert t.for_state("menu", None, True, True) is None
    with pytest.raises(ValueError, match="audio_factor"):
        Timeouts(audio_factor=0.5).validate()


def test_progress_says_each_step_once(espeak: EspeakNg) -> None:
    import dataclasses

    from kiosk.core.views import Language, Progress, Screen, ScreenChanged
    from kiosk.journeys.citizen_states import State
    from terminal_ui.speech.guide import AudioGuide

    headset = PhonemeHeadset(espeak)
    guide = AudioGuide(headset, Translator())
    busy = Screen(state=State.PROCESSING, language=Language.ZH_HANT, elder_mode=False,
                  audio_mode=True, busy="processing")  # fmt: skip
    guide.on_event(ScreenChanged(busy))
    for fraction in (0.1, 0.5, 0.9):
        guide.on_event(Progress("debiting", fraction))
    guide.on_event(Progress("printing", None))
    said = [t for t, _v, _s in headset.said]
    assert len(said) == 3 and said[1].startswith("正在从卡内扣款") and "收据" in said[2], said
    # Traditional on screen, Mandarin by default: said in Simplified
    assert all(heard_wrong(t, espeak.phonemes(t, Voice.MANDARIN), Voice.MANDARIN) is None
               for t in said)  # fmt: skip
    guide.on_event(ScreenChanged(dataclasses.replace(busy, audio_mode=False)))
    assert headset.said[-1][0] == "语音引导已关闭。" and not guide.on
