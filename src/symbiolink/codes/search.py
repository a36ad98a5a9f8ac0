"""Find codes by words, across the List of Waste and the industry classifications."""

from __future__ import annotations

import re
from dataclasses import dataclass

from symbiolink.codes.ewc import ewc_table
from symbiolink.codes.sectors import all_codes
from symbiolink.text import fold


@dataclass(frozen=True, slots=True)
class CodeHit:
    system: str
    code: str
    title: str
    score: float
    hazardous: bool = False


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def search_codes(
    text: str, *, systems: tuple[str, ...] = ("ewc", "isic", "nace", "vsic"), limit: int = 20
) -> list[CodeHit]:
    """Codes whose titles contain all the words of ``text`` (as prefixes), best first.

    A word matches a title word it begins (``slag`` finds ``slags``). Ties go to shorter titles,
    which are usually the more specific entries.

    Examples
    --------
    >>> [h.code for h in search_codes("desulphurisation solid", systems=("ewc",))][:1]
    ['10 01 05']
    """
    query = _words(text)
    if not query:
        return []
    hits: list[CodeHit] = []

    def consider(
        system: str, code: str, title: str, extra: str = "", hazardous: bool = False
    ) -> None:
        words = _words(title + " " + extra)
        if all(any(w.startswith(q) for w in words) for q in query):
            exact = sum(1 for q in query if q in words)
            score = (1.0 + exact) / (1.0 + 0.02 * len(words))
            hits.append(CodeHit(system, code, title, round(score, 4), hazardous))

    if "ewc" in systems:
        for e in ewc_table().values():
            consider("ewc", e.display, e.description, e.sub_chapter, e.hazardous)
    for system in ("isic", "nace", "vsic"):
        if system in systems:
            for c in all_codes(system).values():
                consider(system, c.code, c.title, c.title_vi)
    hits.sort(key=lambda h: (-h.score, h.system, h.code))
    return hits[:limit]
