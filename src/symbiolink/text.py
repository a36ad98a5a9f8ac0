"""Text normalisation shared by code search, the classifier and the matcher: any language, with
or without diacritics."""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "or",
        "of",
        "the",
        "to",
        "for",
        "from",
        "in",
        "on",
        "with",
        "by",
        "as",
        "at",
        "is",
        "are",
        "be",
        "other",
        "others",
        "not",
        "otherwise",
        "specified",
        "containing",
        "waste",
        "wastes",
        "than",
        "its",
        "their",
        "va",
        "cua",
        "cac",
        "tu",
        "cho",
    ]
)


def fold(text: str) -> str:
    """Lower case without diacritics; Vietnamese ``đ`` becomes ``d``.

    Examples
    --------
    >>> fold("Xỉ lò điện hồ quang")
    'xi lo dien ho quang'
    """
    if text.isascii():  # nothing to decompose: the common case, and fast on long text
        return text.lower()
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def tokens(text: str) -> list[str]:
    """Folded word tokens.

    Examples
    --------
    >>> tokens("Fly-ash (coal), 10 01 02")
    ['fly', 'ash', 'coal', '10', '01', '02']
    """
    return _TOKEN.findall(fold(text))


def content_tokens(text: str) -> list[str]:
    """Tokens without stop words and bare numbers, with a crude English plural folded."""
    out = []
    for t in tokens(text):
        if t in STOPWORDS or t.isdigit():
            continue
        if len(t) > 4 and t.endswith("s") and not t.endswith("ss"):
            t = t[:-1]
        out.append(t)
    return out
