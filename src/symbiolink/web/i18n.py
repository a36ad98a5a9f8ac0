"""The UI's words in English and Vietnamese: a Babel catalog (``locales/vi/LC_MESSAGES/messages.po``)
read at start. English is the source language; every string the pages use is in the catalog
(``tests/test_ui.py`` fails otherwise)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources

from babel.messages.pofile import read_po
from babel.numbers import format_decimal

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


def number_format(lang: str) -> Callable[..., str]:
    """Numbers as the language writes them (``5,000.5`` in English, ``5.000,5`` in Vietnamese):
    whole numbers from 100 on, three significant digits below, or with ``exact=True`` as given (up
    to six decimals); ``-`` for none.

    Examples
    --------
    >>> [number_format(lang)(5000.46) for lang in LANGUAGES], number_format("vi")(0.12345)
    (['5,000', '5.000'], '0,123')
    >>> number_format("vi")(4200.5, exact=True)
    '4.200,5'
    """
    locale = lang if lang in LANGUAGES else "en"

    def fmt(value: float | None, *, exact: bool = False) -> str:
        if value is None:
            return "-"
        if exact:
            pattern = "#,##0.######"
        else:
            pattern = "#,##0" if abs(value) >= 100 else "#,##0.###" if abs(value) < 1 else "#,##0.#"
        return str(format_decimal(value, format=pattern, locale=locale))

    return fmt


#: The modules besides the templates whose ``_("...")`` strings the pages show.
PAGE_MODULES = ("pages.py", "park_pages.py")


def used_messages() -> set[str]:
    """Every string the templates and pages mark for translation with ``_("...")``."""
    out: set[str] = set(DYNAMIC)
    web = resources.files("symbiolink").joinpath("web")
    sources = [web.joinpath(name) for name in PAGE_MODULES] + [
        p for p in web.joinpath("templates").iterdir() if p.name.endswith(".html")
    ]
    for src in sources:
        out.update(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', src.read_text(encoding="utf-8")))
    return out
