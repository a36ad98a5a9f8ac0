"""Industrial processes and what they take in: who could use a resource, told by what a company does.

A documented exchange says that a resource went to a sector; many plants of one sector compete for
it. What a company *does*, written in its name or description ("Titanium dioxide producer",
"Chlor-alkali plant", "Nhà máy giấy"), says more: a titanium dioxide plant digests ilmenite in
sulphuric acid and needs steam, a chlor-alkali plant needs electricity. ``processes.yaml`` holds,
for each process, the phrases that name it (English and Vietnamese), its sectors, and the resource
classes (or families) it takes in, with the use and the sources where that was read.

A process with several sources is one piece of knowledge per source (as the reuse routes are):
``KnowledgeBase.exclude(prefix)`` keeps a process while some source of it is left.

Examples
--------
>>> index = ProcessIndex(default_processes())
>>> [p.id for p in index.named("Titanium dioxide producer")]
['titanium-dioxide']
>>> [p.id for p in index.named("Nhà máy giấy Bãi Bằng")]
['paper-board']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from symbiolink.knowledge.classes import ClassHit, ResourceClass, default_classifier, read_yaml
from symbiolink.text import tokens

#: Recovery operations of Annex II of the Waste Framework Directive (2008/98/EC) that a process may
#: carry out on a hazardous waste it takes in.
RECOVERY_OPERATIONS = {
    "R1": "use as a fuel",
    "R2": "solvent reclamation",
    "R3": "recycling of organic substances",
    "R4": "recycling of metals and metal compounds",
    "R5": "recycling of other inorganic materials",
    "R6": "regeneration of acids or bases",
    "R7": "recovery of components used for pollution abatement",
    "R8": "recovery of components from catalysts",
    "R9": "oil re-refining",
}


@dataclass(frozen=True, slots=True)
class ProcessInput:
    """A resource class (or a family of classes) a process takes in, and for what."""

    resource: str
    """A class id, or a family name when :attr:`family` is set."""
    family: bool
    use: str
    recovery: str | None = None
    """The Annex II recovery operation (``R6`` ...) where the resource is a hazardous waste."""


@dataclass(frozen=True, eq=False)
class Process:
    """A process, the phrases that name it, its sectors, what it takes in and its sources
    (compared by identity)."""

    id: str
    label_en: str
    label_vi: str
    isic: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]
    """The folded tokens of each phrase that names the process."""
    inputs: tuple[ProcessInput, ...]
    tags: tuple[str, ...]
    by_class: dict[str, ProcessInput] = field(init=False, repr=False)
    by_family: dict[str, ProcessInput] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_class", {i.resource: i for i in self.inputs if not i.family})
        object.__setattr__(self, "by_family", {i.resource: i for i in self.inputs if i.family})

    def takes(
        self, hits: Sequence[ClassHit], classes: dict[str, ResourceClass]
    ) -> tuple[float, ProcessInput | None]:
        """How surely the process takes a resource recognised as ``hits`` (the best hit's
        confidence among the classes it takes, directly or by family), and the input concerned."""
        best: tuple[float, ProcessInput | None] = (0.0, None)
        for h in hits:
            found = self.by_class.get(h.class_id) or self.by_family.get(classes[h.class_id].family)
            if found is not None and h.confidence > best[0]:
                best = (h.confidence, found)
        return best

    def without(self, prefixes: tuple[str, ...]) -> Process | None:
        """The process without the sources whose tag starts with one of ``prefixes`` (``None``
        when none is left)."""
        tags = tuple(t for t in self.tags if not t.startswith(prefixes))
        if tags == self.tags:
            return self
        if not tags:
            return None
        return Process(
            self.id, self.label_en, self.label_vi, self.isic, self.phrases, self.inputs, tags
        )


def parse_processes(entries: Iterable[dict[str, Any]]) -> list[Process]:
    out: list[Process] = []
    for e in entries:
        inputs = []
        for key, value in (e.get("takes") or {}).items():
            spec = value if isinstance(value, dict) else {"use": value}
            family = str(key).startswith("family:")
            inputs.append(
                ProcessInput(
                    resource=str(key).removeprefix("family:"),
                    family=family,
                    use=str(spec.get("use") or ""),
                    recovery=str(spec["recovery"]) if spec.get("recovery") else None,
                )
            )
        phrases = tuple(
            dict.fromkeys(
                t
                for w in (*(e.get("words_en") or []), *(e.get("words_vi") or []))
                if (t := tuple(tokens(str(w))))
            )
        )
        out.append(
            Process(
                id=str(e["id"]),
                label_en=str(e["label_en"]),
                label_vi=str(e.get("label_vi") or ""),
                isic=tuple(str(x) for x in e.get("isic") or ()),
                phrases=phrases,
                inputs=tuple(inputs),
                tags=tuple(str(t) for t in e.get("sources") or ()),
            )
        )
    return out


@cache
def default_processes() -> tuple[Process, ...]:
    """The shipped processes (``data/knowledge/processes.yaml``); a file with a process that
    has no source, or an input that names no class, is refused."""
    processes = tuple(parse_processes(read_yaml("processes.yaml") or []))
    problems = process_classes_check(processes)
    if problems:
        raise ValueError(f"data/knowledge/processes.yaml: {'; '.join(problems)}")
    return processes


class ProcessIndex:
    """Finds the processes a company runs: by the phrases of its name and description (the
    longest phrase wins where phrases overlap: "alumina refinery" is not also a "refinery"), and
    by its sector code."""

    def __init__(self, processes: Iterable[Process]) -> None:
        self.processes = tuple(processes)
        self._phrases: dict[tuple[str, ...], list[Process]] = {}
        for p in self.processes:
            for ph in p.phrases:
                self._phrases.setdefault(ph, []).append(p)
        self._max_len = max((len(k) for k in self._phrases), default=0)
        self._sector_cache: dict[str, tuple[Process, ...]] = {}

    def named(self, text: str) -> tuple[Process, ...]:
        """The processes whose phrases the text names, in the order of the text."""
        toks = tokens(text)
        used = [False] * len(toks)
        found: list[tuple[int, Process]] = []
        for n in range(min(self._max_len, len(toks)), 0, -1):
            for i in range(len(toks) - n + 1):
                if any(used[i : i + n]):
                    continue
                procs = self._phrases.get(tuple(toks[i : i + n]))
                if procs:
                    found += [(i, p) for p in procs]
                    for j in range(i, i + n):
                        used[j] = True
        found.sort(key=lambda x: x[0])
        return tuple(dict.fromkeys(p for _, p in found))

    def of_sector(self, sector: str | None) -> tuple[Process, ...]:
        """The processes run in a sector (ISIC code or prefix)."""
        if not sector:
            return ()
        cached = self._sector_cache.get(sector)
        if cached is None:
            cached = tuple(p for p in self.processes if any(sector.startswith(x) for x in p.isic))
            self._sector_cache[sector] = cached
        return cached


def process_classes_check(processes: Iterable[Process]) -> list[str]:
    """Problems of the shipped processes: inputs that name no class or family, unknown recovery
    operations, processes without a source."""
    classes = default_classifier().classes
    families = {c.family for c in classes.values()}
    problems = []
    for p in processes:
        if not p.tags:
            problems.append(f"{p.id}: no source")
        if not p.phrases:
            problems.append(f"{p.id}: no words")
        for i in p.inputs:
            if (i.family and i.resource not in families) or (
                not i.family and i.resource not in classes
            ):
                problems.append(f"{p.id}: {i.resource!r} is no class or family")
            if i.recovery is not None and i.recovery not in RECOVERY_OPERATIONS:
                problems.append(f"{p.id}: {i.recovery!r} is no recovery operation of Annex II")
            if not i.use:
                problems.append(f"{p.id}: {i.resource} has no use")
    return problems
