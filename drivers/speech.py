"""Speech output: the kiosk's headset, a device behind a port.

:class:`SpeechOutput` is the port the UI's audio guide speaks through;
:class:`EspeakNg` drives Debian's ``espeak-ng`` (found on ``PATH`` at run time).
It also gives the engine's phoneme output (``espeak-ng -q -x``), which is how tests
hear what a voice would say without a sound card: a voice that spells characters
out or falls back to English letters shows it there.

Voices (espeak-ng 1.51, checked): Mandarin is ``cmn-latn-pinyin``, not ``cmn``:
``cmn``'s dictionary turns each character into its pinyin and then, as its name
says ("latin as English"), reads that pinyin as English words (请 → "king three").
Cantonese is ``yue``; English ``en``. The text goes in as SSML (``-m``): in an
English utterance a Chinese name (a payee, a citizen's name) is read by the Mandarin
voice, where the English voice would say "Chinese letter" for each character.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
from enum import StrEnum
from typing import Protocol

__all__ = ["ESPEAK_VOICES", "EspeakNg", "SpeechError", "SpeechOutput", "Voice", "ssml"]

log = logging.getLogger(__name__)


class Voice(StrEnum):
    """A speech language, chosen on its own (not implied by the script on screen)."""

    MANDARIN = "cmn"
    CANTONESE = "yue"
    ENGLISH = "en"


ESPEAK_VOICES: dict[Voice, str] = {
    Voice.MANDARIN: "cmn-latn-pinyin",
    Voice.CANTONESE: "yue",
    Voice.ENGLISH: "en",
}


_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]+")


def ssml(text: str, voice: Voice | str) -> str:
    """``text`` as espeak's SSML: escaped; Chinese runs in English said in Mandarin."""
    body = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if voice is Voice.ENGLISH:
        mandarin = ESPEAK_VOICES[Voice.MANDARIN]
        body = _HAN_RUN.sub(lambda m: f'<voice name="{mandarin}">{m.group()}</voice>', body)
    return f"<speak>{body}</speak>"


class SpeechError(RuntimeError):
    """The speech engine is missing or failed."""


class SpeechOutput(Protocol):
    """Where spoken guidance goes. ``say`` returns at once and cuts off whatever was
    being said (a new screen is more urgent than the rest of the old one)."""

    def say(self, text: str, voice: Voice, *, slow: bool = False) -> None: ...

    def stop(self) -> None: ...


class EspeakNg:
    """``espeak-ng`` as the headset: one process per utterance, the text on stdin
    (never on the command line, where a leading ``-`` would be an option)."""

    def __init__(
        self,
        *,
        binary: str | None = None,
        rate_wpm: int = 160,
        slow_wpm: int = 100,
        device_args: tuple[str, ...] = (),
    ) -> None:
        found = binary or shutil.which("espeak-ng")
        if found is None:
            raise SpeechError("espeak-ng not found (Debian package espeak-ng)")
        self.binary = found
        self.rate_wpm, self.slow_wpm = rate_wpm, slow_wpm
        self.device_args = device_args  # e.g. ("--stdout",) to a pipe, ("-w", path)
        self._lock = threading.Lock()
        self._current: subprocess.Popen[bytes] | None = None

    def _args(self, voice: Voice | str, slow: bool) -> list[str]:
        wpm = self.slow_wpm if slow else self.rate_wpm
        # A Voice is mapped to its espeak voice; a plain string is an espeak voice name
        # (tests use it to hear a wrong voice).
        name = ESPEAK_VOICES[voice] if isinstance(voice, Voice) else voice
        return [self.binary, "-m", "-v", name, "-s", str(wpm), "--stdin"]

    def say(self, text: str, voice: Voice, *, slow: bool = False) -> None:
        """Start speaking ``text``; the previous utterance is cut off."""
        self.stop()
        if not text.strip():
            return
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own argument list, text on stdin
                [*self._args(voice, slow), *self.device_args],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:  # the engine vanished: guidance stops, the kiosk goes on
            log.warning("espeak-ng could not start: %s", exc)
            return
        assert proc.stdin is not None  # stdin=PIPE always gives one
        try:
            proc.stdin.write(ssml(text, voice).encode("utf-8"))
            proc.stdin.close()
        except OSError:
            proc.kill()
            return
        with self._lock:
            self._current = proc

    def stop(self) -> None:
        with self._lock:
            proc, self._current = self._current, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)

    def phonemes(self, text: str, voice: Voice | str, *, timeout: float = 30) -> str:
        """What the voice would say, as espeak's ASCII phonemes (``-q -x``): language
        switches show as ``(en)``, ``(cmn)``...; tones as digits. ``voice`` may also be
        an espeak voice name."""
        return self._run(["-q", "-x"], text, voice, timeout)

    def wav(self, text: str, voice: Voice, *, slow: bool = False, timeout: float = 30) -> bytes:
        """The utterance as a WAV file's bytes."""
        out = subprocess.run(  # noqa: S603
            [*self._args(voice, slow), "--stdout"],
            input=ssml(text, voice).encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise SpeechError(out.stderr.decode("utf-8", "replace").strip())
        return out.stdout

    def _run(self, extra: list[str], text: str, voice: Voice | str, timeout: float) -> str:
        out = subprocess.run(  # noqa: S603
            [*self._args(voice, False), *extra],
            input=ssml(text, voice).encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise SpeechError(out.stderr.decode("utf-8", "replace").strip())
        return out.stdout.decode("utf-8", "replace")
