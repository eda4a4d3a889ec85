"""gettext catalogs for the kiosk's words: zh-Hans, zh-Hant, en.

The catalogs are the ``.po`` files under ``terminal_ui/locale/<lang>/LC_MESSAGES/``
(the source a translator edits). They are compiled to ``.mo`` in memory when
loaded (Babel's reader and writer), so a clean clone needs no build step and a
stale ``.mo`` can never shadow an edited ``.po``. Message ids are the English
text; the ``en`` catalog may override wording without touching the code.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = ["DOMAIN", "LANGUAGES", "LOCALE_DIR", "N_", "Translator", "load_catalog"]

DOMAIN = "civicard"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# kiosk.core.views.Language values -> gettext locale folder names.
LANGUAGES: Mapping[str, str] = {"zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant", "en": "en"}


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction without translating it (tables of codes)."""
    return msgid


def po_path(language: str) -> Path:
    """The ``.po`` file of ``language`` ("zh-Hans", "zh-Hant", "en")."""
    return LOCALE_DIR / LANGUAGES[language] / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def load_catalog(language: str) -> gettext.GNUTranslations:
    """The compiled catalog of ``language``; KeyError for a language not offered."""
    path = po_path(language)
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=LANGUAGES[language], domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)  # a fuzzy entry is not yet a translation
    buf.seek(0)
    return gettext.GNUTranslations(buf)


class Translator:
    """Looks words up in the current language's catalog."""

    def __init__(self, languages: Iterable[str] = tuple(LANGUAGES)) -> None:
        self._catalogs = {lang: load_catalog(lang) for lang in languages}
        self.language = next(iter(self._catalogs))

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._catalogs)

    def set_language(self, language: str) -> None:
        if language not in self._catalogs:
            raise KeyError(f"no catalog for {language!r}")
        self.language = language

    def gettext(self, msgid: str, language: str | None = None) -> str:
        """``msgid`` in ``language`` (default: the current one)."""
        return self._catalogs[language or self.language].gettext(msgid)
