"""Resource classes: what a stream *is*, understood from its EWC code and its name in any language.

A stream may be described by code only, by text only (English or Vietnamese, with or without
diacritics, misspelt), or both. :class:`Classifier` maps it to resource classes with a confidence and
a reason; the knowledge base speaks in these classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from symbiolink.text import content_tokens, fold, tokens


@dataclass(frozen=True, slots=True)
class ResourceClass:
    id: str
    kind: str
    family: str
    label_en: str
    label_vi: str = ""
    ewc: tuple[str, ...] = ()
    ewc_prefixes: tuple[str, ...] = ()
    words_en: tuple[str, ...] = ()
    words_vi: tuple[str, ...] = ()
    hazardous: bool = False


@dataclass(frozen=True, slots=True)
class ClassHit:
    """A stream recognised as a resource class."""

    class_id: str
    confidence: float
    reason: str


@dataclass
class Classifier:
    """Recognise resource classes from an EWC code and free text."""

    classes: dict[str, ResourceClass]
    _by_ewc: dict[str, list[str]] = field(default_factory=dict)
    _by_prefix: dict[str, list[str]] = field(default_factory=dict)
    _phrases: dict[tuple[str, ...], list[tuple[str, str]]] = field(default_factory=dict)
    _fuzzy: Any = None

    def __post_init__(self) -> None:
        for c in self.classes.values():
            for code in c.ewc:
                self._by_ewc.setdefault(code, []).append(c.id)
            for p in c.ewc_prefixes:
                self._by_prefix.setdefault(p, []).append(c.id)
            for phrase in (*c.words_en, *c.words_vi, c.label_en, c.label_vi):
                toks = tuple(tokens(phrase))
                if toks:
                    self._phrases.setdefault(toks, []).append((c.id, phrase))
        self._max_len = max((len(k) for k in self._phrases), default=0)

    def classify(
        self,
        *,
        name: str = "",
        description: str = "",
        ewc: str | None = None,
        kind: str | None = None,
    ) -> list[ClassHit]:
        """Classes of a stream, best first (at most one hit per class).

        Code evidence is certain; a phrase in the name is strong; a phrase in the description
        weaker; a close misspelling of a phrase weaker still. ``kind`` keeps classes of that kind.
        """
        hits: dict[str, ClassHit] = {}

        def add(cid: str, conf: float, reason: str) -> None:
            c = self.classes[cid]
            if (
                kind is not None
                and c.kind != kind
                and not (kind == "energy" and c.kind == "material")
            ):
                return
            if cid not in hits or hits[cid].confidence < conf:
                hits[cid] = ClassHit(cid, conf, reason)

        named: list[tuple[str, str]] = []
        if ewc and len(self._by_ewc.get("".join(ch for ch in ewc if ch.isdigit())[:6], [])) > 1:
            named = self._phrase_hits(tokens(name)) if name else []
        if ewc:
            digits = "".join(ch for ch in ewc if ch.isdigit())[:6]
            # A code shared by several classes is settled by the name: the classes it names
            # stay certain, the others count as a code prefix would.
            confirmed = {cid for cid, _ in named}
            for cid in self._by_ewc.get(digits, []):
                add(
                    cid,
                    1.0 if not named or cid in confirmed else 0.8,
                    f"EWC {digits[:2]} {digits[2:4]} {digits[4:]} is {self.classes[cid].label_en.lower()}",
                )
            for n in (4, 2):
                for cid in self._by_prefix.get(digits[:n], []):
                    add(cid, 0.8, f"EWC {digits[:n]} covers {self.classes[cid].label_en.lower()}")
        for text, conf in ((name, 0.9), (description, 0.6)):
            if not text:
                continue
            found = self._phrase_hits(tokens(text))
            for cid, phrase in found:
                add(cid, conf, f"'{phrase}' in the {'name' if conf > 0.8 else 'description'}")
            if not found and conf > 0.8:
                for cid, phrase, sim in self._fuzzy_hits(text):
                    add(cid, round(0.75 * sim, 3), f"'{text.strip()[:40]}' reads like '{phrase}'")
        return sorted(hits.values(), key=lambda h: (-h.confidence, h.class_id))

    def _phrase_hits(self, toks: list[str]) -> list[tuple[str, str]]:
        """Longest phrases first; a shorter phrase inside a longer match does not count again."""
        out: list[tuple[str, str]] = []
        used = [False] * len(toks)
        for n in range(min(self._max_len, len(toks)), 0, -1):
            for i in range(len(toks) - n + 1):
                if any(used[i : i + n]):
                    continue
                key = tuple(toks[i : i + n])
                if key in self._phrases:
                    for cid, phrase in self._phrases[key]:
                        out.append((cid, phrase))
                    for j in range(i, i + n):
                        used[j] = True
        return out

    def _fuzzy_hits(self, text: str, threshold: float = 0.72) -> list[tuple[str, str, float]]:
        """Phrases spelt nearly like the text (character trigrams), for misspellings."""
        if not self._phrases:
            return []
        if self._fuzzy is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            keys = list(self._phrases)
            vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3))
            matrix = vec.fit_transform([" ".join(k) for k in keys])
            self._fuzzy = (vec, matrix, keys)
        vec, matrix, keys = self._fuzzy
        query = " ".join(content_tokens(text))
        if not query:
            return []
        sims = (matrix @ vec.transform([query]).T).toarray().ravel()
        best = sims.argsort()[::-1][:3]
        out = []
        for i in best:
            if sims[i] >= threshold:
                for cid, phrase in self._phrases[keys[i]]:
                    out.append((cid, phrase, float(sims[i])))
        return out


def _tuple(v: Any) -> tuple[str, ...]:
    return tuple(str(x) for x in (v or []))


def parse_classes(entries: list[dict[str, Any]]) -> dict[str, ResourceClass]:
    out: dict[str, ResourceClass] = {}
    for e in entries:
        c = ResourceClass(
            id=str(e["id"]), kind=str(e["kind"]), family=str(e.get("family") or e["id"]), label_en=str(e["label_en"]),
            label_vi=str(e.get("label_vi") or ""), ewc=_tuple(e.get("ewc")), ewc_prefixes=_tuple(e.get("ewc_prefixes")),
            words_en=_tuple(e.get("words_en")), words_vi=_tuple(e.get("words_vi")), hazardous=bool(e.get("hazardous", False)),
        )  # fmt: skip
        out[c.id] = c
    return out


def read_yaml(name: str) -> Any:
    ref = resources.files("symbiolink").joinpath("data", "knowledge", name)
    return yaml.safe_load(ref.read_text(encoding="utf-8"))


@cache
def default_classifier() -> Classifier:
    """The classifier over the shipped classes (``data/knowledge/classes.yaml``)."""
    return Classifier(parse_classes(read_yaml("classes.yaml")))


def folded_words(c: ResourceClass) -> set[str]:
    return {fold(w) for w in (*c.words_en, *c.words_vi)}
