"""The knowledge base: documented exchanges and reuse routes, each piece with one provenance tag.

Knowledge comes from two kinds of source:

* ``patterns.yaml``: reuse routes from the literature (reviews, case studies, EU BREFs), each with
  the class given, the receiving sectors, the use and its citations;
* the MAESTRI exchange database (``maestri-exchanges.csv``): 425 documented exchanges from 43 cases,
  each turned into evidence tagged ``maestri:case-<id>``.

A pattern with several sources becomes several pieces of :class:`Evidence`, one per tag, so that
``exclude("maestri:case-4")`` removes exactly the knowledge carrying that tag and a route survives
as long as some other source documents it.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from symbiolink.codes.sectors import nace_lookup
from symbiolink.knowledge.classes import Classifier, default_classifier, read_yaml
from symbiolink.knowledge.processes import Process, default_processes


@dataclass(frozen=True, slots=True)
class Evidence:
    """One documented piece of knowledge: a resource of ``class_id`` went (or goes) to a sector."""

    id: str
    tag: str
    class_id: str | None
    kind: str
    receiver_isic: tuple[str, ...]
    donor_isic: tuple[str, ...] = ()
    use: str = ""
    text: str = ""
    """What was given, in the source's words (used for text similarity)."""
    ewc: tuple[str, ...] = ()
    substitution_ratio: float | None = None
    treatment: str | None = None
    window: dict[str, Any] = field(default_factory=dict)
    citation: str = ""
    receiver_words: str = ""
    """How the source describes the receiver (``cement production``, ``urban entity``)."""


@dataclass
class KnowledgeBase:
    evidence: list[Evidence]
    processes: Sequence[Process] = ()
    """What industrial processes take in (:mod:`symbiolink.knowledge.processes`)."""

    def __post_init__(self) -> None:
        self.by_class: dict[str, list[Evidence]] = defaultdict(list)
        self.by_ewc: dict[str, list[Evidence]] = defaultdict(list)
        for e in self.evidence:
            if e.class_id:
                self.by_class[e.class_id].append(e)
            for code in e.ewc:
                self.by_ewc[code].append(e)

    def exclude(self, prefixes: Iterable[str]) -> KnowledgeBase:
        """The knowledge base without every piece whose tag starts with one of ``prefixes``."""
        ps = tuple(p for p in prefixes if p)
        if not ps:
            return self
        return KnowledgeBase(
            [e for e in self.evidence if not e.tag.startswith(ps)],
            tuple(kept for p in self.processes if (kept := p.without(ps)) is not None),
        )

    @property
    def tags(self) -> set[str]:
        return {e.tag for e in self.evidence} | {t for p in self.processes for t in p.tags}


def _isic_list(values: Sequence[Any] | None) -> tuple[str, ...]:
    return tuple(str(v).replace(".", "") for v in (values or []))


def patterns_evidence(entries: list[dict[str, Any]], classes: dict[str, Any]) -> list[Evidence]:
    out: list[Evidence] = []
    for p in entries:
        cls = classes.get(p["class"])
        for tag in p.get("sources") or []:
            out.append(
                Evidence(
                    id=f"{p['id']}@{tag}",
                    tag=str(tag),
                    class_id=str(p["class"]),
                    kind=cls.kind if cls else "material",
                    receiver_isic=_isic_list(p.get("receiver_isic")),
                    donor_isic=_isic_list(p.get("donor_isic")),
                    use=str(p.get("use") or ""),
                    text=cls.label_en if cls else "",
                    ewc=cls.ewc if cls else (),
                    substitution_ratio=p.get("substitution_ratio"),
                    treatment=p.get("treatment"),
                    window=dict(p.get("window") or {}),
                    citation=str(tag),
                )
            )
    return out


def _nace_to_isic(text: str | None) -> tuple[str, ...]:
    if not text or not text.strip() or text.strip().upper() == "ND":
        return ()
    found = nace_lookup(text.strip())
    if found is None and len(text.strip()) == 4:
        found = nace_lookup(text.strip()[:3])
    return (found.isic,) if found is not None and found.isic else ()


def maestri_rows() -> list[dict[str, str]]:
    ref = resources.files("symbiolink").joinpath("data", "knowledge", "maestri-exchanges.csv")
    return list(csv.DictReader(io.StringIO(ref.read_text(encoding="utf-8"), newline="")))


def infer_kind(description: str, final_use: str = "") -> str:
    """Material, energy or water, from the words of an exchange (MAESTRI states no kind)."""
    from symbiolink.text import tokens

    words = set(tokens(description))
    if words & {
        "steam",
        "vapour",
        "vapor",
        "heat",
        "electricity",
        "energy",
        "power",
        "hot",
    } and not words & {"ash", "slag"}:
        return "energy"
    if "water" in words or "wastewater" in words or "effluent" in words:
        return "water"
    if words & {"gas", "biogas", "hydrogen"} and "fuel" in final_use.lower():
        return "energy"
    return "material"


def maestri_evidence(classifier: Classifier) -> list[Evidence]:
    """Each MAESTRI exchange as evidence tagged ``maestri:case-<case_id>``."""
    out: list[Evidence] = []
    for r in maestri_rows():
        kind = infer_kind(r["waste_description"], r["final_use"])
        codes = tuple(
            c
            for c in (x.strip() for x in (r["ewc"] or "").replace(";", "/").split("/"))
            if len(c) == 6 and c.isdigit()
        )
        hits = classifier.classify(name=r["waste_description"], ewc=codes[0] if codes else None)
        receiver = _nace_to_isic(r["receiver_nace"])
        out.append(
            Evidence(
                id=f"maestri:{r['exchange_id']}",
                tag=f"maestri:case-{r['case_id']}",
                class_id=hits[0].class_id if hits else None,
                kind=kind,
                receiver_isic=receiver,
                donor_isic=_nace_to_isic(r["donor_nace"]),
                use=(r["final_use"] or "").strip(),
                text=r["waste_description"],
                ewc=codes,
                citation=f"MAESTRI project, Industrial Symbiosis exchanges database (2016-2019), exchange {r['exchange_id']}",
                receiver_words=r["receiver_business"],
            )
        )
    return out


@cache
def default_knowledge() -> KnowledgeBase:
    """The shipped knowledge base: literature patterns and MAESTRI evidence."""
    classifier = default_classifier()
    evidence = patterns_evidence(read_yaml("patterns.yaml") or [], classifier.classes)
    evidence += maestri_evidence(classifier)
    return KnowledgeBase(evidence, default_processes())
