"""Chinese text entry for the kiosk's on-screen keyboard: pure Python, no Kivy.

:mod:`.pinyin` splits typed letters into syllables and initials, :mod:`.lexicon`
holds the dictionary (read lazily), :mod:`.composer` is one composition with its
candidate pages, :mod:`.search` finds services by the initials of their names.
The Kivy keyboard is :mod:`terminal_ui.widgets.pinyin_keyboard`.
"""

from terminal_ui.ime.composer import Composer, Page
from terminal_ui.ime.lexicon import Candidate, LazyLexicon, Lexicon, find_table
from terminal_ui.ime.pinyin import Token, tokenize

__all__ = ["Candidate", "Composer", "LazyLexicon", "Lexicon", "Page", "Token", "find_table",
           "tokenize"]  # fmt: skip
