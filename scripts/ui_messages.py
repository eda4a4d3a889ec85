"""Extract the kiosk UI's message ids and update the gettext catalogs.

Message ids are the English text passed to ``t("...")`` / ``N_("...")`` in
terminal_ui's Python and ``.kv`` files. ``update`` adds new ids to every
``terminal_ui/locale/*/LC_MESSAGES/civicard.po`` (keeping translations) and marks
ids no longer used obsolete; ``check`` fails when an id is missing or untranslated
in a Chinese catalog (tests/ui/test_i18n.py runs it).

Usage: python scripts/ui_messages.py update|check
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
UI = ROOT / "terminal_ui"
sys.path.insert(0, str(ROOT))
from terminal_ui.i18n import LANGUAGES, po_path  # noqa: E402

# A msgid may be written as adjacent literals over several lines ("a " "b" is "a b").
_CALL = re.compile(
    r"""(?<![A-Za-z0-9_])(?:N_|t)\(\s*((?:(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')\s*)+)"""
)
_LITERAL = re.compile(r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""")


def extract() -> dict[str, list[str]]:
    """msgid -> places it is used."""
    found: dict[str, list[str]] = {}
    for path in sorted([*UI.rglob("*.py"), *UI.rglob("*.kv")]):
        text = path.read_text(encoding="utf-8")
        for m in _CALL.finditer(text):
            msgid = "".join(ast.literal_eval(lit) for lit in _LITERAL.findall(m.group(1)))
            if msgid:
                line = text.count("\n", 0, m.start()) + 1
                found.setdefault(msgid, []).append(f"{path.relative_to(ROOT)}:{line}")
    return found


def update() -> None:
    ids = extract()
    for lang, folder in LANGUAGES.items():
        path = po_path(lang)
        if path.exists():
            with path.open("rb") as fh:
                old = read_po(fh, locale=folder)
        else:
            old = Catalog(locale=folder, fuzzy=False)
        # Not fuzzy: a fuzzy header is left out of the .mo, and with it the charset.
        new = Catalog(locale=folder, project="civicard", version="0.1", domain="civicard",
                      header_comment=f"# civicard kiosk UI, {lang}.", fuzzy=False,
                      creation_date=old.creation_date, revision_date=old.revision_date)  # fmt: skip
        for msgid, places in ids.items():
            prev = old.get(msgid)
            where = [(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places]
            new.add(msgid, prev.string if prev else "", locations=where)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, new, width=100, omit_header=False, sort_output=True, no_location=True)
        print(f"{path.relative_to(ROOT)}: {len(ids)} messages")


def check() -> list[str]:
    """Problems: ids missing from a catalog, or untranslated in zh-Hans / zh-Hant."""
    ids = extract()
    problems = []
    for lang in LANGUAGES:
        with po_path(lang).open("rb") as fh:
            cat = read_po(fh)
        for msgid in ids:
            msg = cat.get(msgid)
            if msg is None:
                problems.append(f"{lang}: missing {msgid!r}")
            elif lang != "en" and not msg.string:
                problems.append(f"{lang}: untranslated {msgid!r}")
    return problems


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "update":
        update()
    else:
        bad = check()
        print("\n".join(bad) or "catalogs complete")
        sys.exit(1 if bad else 0)
