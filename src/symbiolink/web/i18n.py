"""The UI's words in English and Vietnamese: a Babel catalog (``locales/vi/LC_MESSAGES/messages.po``)
read at start. English is the source language; every string the pages use is in the catalog
(``tests/test_ui.py`` fails otherwise)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources

from babel.messages.pofile import read_po

LANGUAGES = ("en", "vi")
#: Words the pages translate from data rather than from the template text.
DYNAMIC = ("supply", "demand", "material", "water", "energy", "suggested", "interested", "introduced",
           "negotiating", "agreed", "operating", "ended")  # fmt: skip


@cache
def catalog(lang: str) -> dict[str, str]:
    if lang == "en":
        return {}
    ref = resources.files("symbiolink").joinpath(
        "web", "locales", lang, "LC_MESSAGES", "messages.po"
    )
    with ref.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    return {str(m.id): str(m.string) for m in cat if m.id and m.string}


def translator(lang: str) -> Callable[[str], str]:
    table = catalog(lang if lang in LANGUAGES else "en")
    return lambda text: table.get(text, text)


def used_messages() -> set[str]:
    """Every string the templates and pages mark for translation with ``_("...")``."""
    out: set[str] = set(DYNAMIC)
    web = resources.files("symbiolink").joinpath("web")
    sources = [web.joinpath("pages.py")] + [
        p for p in web.joinpath("templates").iterdir() if p.name.endswith(".html")
    ]
    for src in sources:
        out.update(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', src.read_text(encoding="utf-8")))
    return out
