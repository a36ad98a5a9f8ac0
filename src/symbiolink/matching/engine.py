"""The matcher: for every supply stream, ranked receivers with reasons and sources.

Candidates come from (a) posted demands that fit, (b) companies whose sector the knowledge base
names as a user of the resource, and (c) text similarity as a last resort. Hard rules
(:mod:`symbiolink.matching.rules`) remove what cannot work. The score combines the independent
pieces of evidence as a noisy-or: each piece ``i`` alone would make the link plausible with
probability ``p_i``, and the score is ``1 - prod(1 - p_i)``, in 0..1.

Work is blocked so that cost grows with the number of streams, not with pairs: the knowledge score
of a receiving sector is computed once per (resource classes, donor sector), and only companies
within the distance limit of the stream's kind (a spatial grid) are considered. The supplies are
scored a park at a time: the park's companies for all of them as one array, the nearest companies
of other parks for all its suppliers at once (``docs/matching.md``, "Measured speed").
"""

from __future__ import annotations

import gc
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from symbiolink.codes.ewc import ewc_lookup
from symbiolink.knowledge.base import Evidence, KnowledgeBase, default_knowledge
from symbiolink.knowledge.classes import ClassHit, Classifier, default_classifier
from symbiolink.knowledge.processes import RECOVERY_OPERATIONS, Process, ProcessIndex, ProcessInput
from symbiolink.matching import rules
from symbiolink.matching.rules import haversine_many, haversine_rows
from symbiolink.model.park import Company, ParkFile, Stream
from symbiolink.text import content_tokens

# Strength of one piece of evidence of each sort, inside the knowledge features.
P_ROUTE = 0.5  # one documented exchange of this resource to this sector
P_DEMAND = 0.85  # a posted demand of the same resource
P_DEMAND_TEXT = 0.5  # a posted demand whose words resemble the supply
REPEAT_DISCOUNT = 0.6  # see diversified()
CROSS_PARK_SECTORS = 6  # sectors, best first, whose companies in other parks are considered
CROSS_PARK_NEAREST = 3  # companies per such sector (and per demanded class) from other parks
FAMILY_WEIGHT = 0.45  # evidence on a related class (same family) instead of the same class
DONOR_MISMATCH = 0.7  # evidence from another donor sector still says something
TEXT_EVIDENCE_MIN = 0.3  # token cosine from which a documented exchange's words count
#: Words of a demand that asks for something to burn, and of a documented use as fuel.
FUEL_WORDS = frozenset(
    [
        "fuel",
        "fuels",
        "boiler",
        "boilers",
        "combustion",
        "firing",
        "fired",
        "burn",
        "burning",
        "kiln",
        "furnace",
        "steam",
        "heat",
        "heating",
    ]
)
FUEL_USE_WORDS = frozenset(["fuel", "fuels", "combustion", "cofiring", "co-firing"])
#: Words that say nothing about what a company does.
GENERIC_COMPANY_WORDS = frozenset(
    [
        "company",
        "plant",
        "factory",
        "facility",
        "production",
        "producer",
        "industry",
        "industrial",
        "nd",
        "ltd",
        "jsc",
        "co",
    ]
)

FEATURES = (
    "route",
    "text_route",
    "route_donor",
    "receiver_words",
    "pair",
    "pair_kind",
    "same_sector",
    "kind_sector",
    "popularity",
    "no_sector",
    "demand",
    "text",
    "process",
    "process_sector",
    "distance",
)


def default_weights() -> dict[str, float]:
    """Weights of the logistic score over :data:`FEATURES` (and ``intercept``), as shipped in
    ``data/knowledge/weights.json``: fitted on the MAESTRI exchanges by
    ``benchmarks/matching_quality.py --fit``, plus the fixed distance weight."""
    import json
    from importlib import resources

    doc = json.loads(
        resources.files("symbiolink")
        .joinpath("data", "knowledge", "weights.json")
        .read_text(encoding="utf-8")
    )
    weights = {k: float(v) for k, v in doc["weights"].items()}
    weights.update({k: float(v) for k, v in doc.get("fixed", {}).items()})
    return weights


@dataclass(frozen=True)
class Match:
    supply: str
    receiver: str
    demand: str | None
    rank: int
    score: float
    use: str
    reasons: list[str]
    sources: list[str]
    distance_km: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "supply": self.supply, "receiver": self.receiver, "demand": self.demand, "rank": self.rank,
            "score": round(self.score, 4), "use": self.use, "reasons": self.reasons, "sources": self.sources,
            "distance_km": None if self.distance_km is None else round(self.distance_km, 2),
        }  # fmt: skip


@dataclass(frozen=True)
class DemandMatch:
    """A supply that could meet a demand (the reverse direction)."""

    demand: str
    supply: str
    supplier: str
    rank: int
    score: float
    reasons: list[str]
    sources: list[str]
    distance_km: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "demand": self.demand, "supply": self.supply, "supplier": self.supplier, "rank": self.rank,
            "score": round(self.score, 4), "reasons": self.reasons, "sources": self.sources,
            "distance_km": None if self.distance_km is None else round(self.distance_km, 2),
        }  # fmt: skip


@dataclass
class _Scored:
    score: float
    demand: str | None
    use: str
    reasons: list[str]
    sources: list[str]
    distance: float | None


def sector_similarity(pattern: str, sector: str | None) -> float:
    """How well a company's ISIC code fits a sector named by knowledge.

    A pattern at division level (``24``) covers all its classes; otherwise sharing the group counts
    0.75 and sharing only the division 0.5.

    Examples
    --------
    >>> [sector_similarity(p, "2394") for p in ("23", "2393", "2310", "1701")]
    [1.0, 0.75, 0.5, 0.0]
    """
    if not sector or not pattern:
        return 0.0
    if sector.startswith(pattern):
        return 1.0
    shared = 0
    for a, b in zip(pattern, sector, strict=False):
        if a != b:
            break
        shared += 1
    return {3: 0.75, 2: 0.5}.get(min(shared, 3), 0.0)


@cache
def _best_sector(patterns: tuple[str, ...], sector: str | None) -> float:
    return max((sector_similarity(p, sector) for p in patterns), default=0.0)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector (reference counting still frees what is dropped).

    Matching a registry makes millions of small objects that live to the end (caches,
    candidates, matches) and form no reference cycles; every full collection walks all of them
    again, which took 40% of the time of matching 100 parks."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def _noisy_or(ps: Iterable[float]) -> float:
    q = 1.0
    for p in ps:
        q *= 1.0 - min(max(p, 0.0), 0.999)
    return 1.0 - q


@dataclass
class _SectorEvidence:
    """Knowledge about one receiving sector for one kind of supply."""

    route: float = 0.0
    text_route: float = 0.0
    route_donor: float = 0.0
    evidence: list[tuple[float, Evidence]] = field(default_factory=list)
    _tags: list[str] | None = field(default=None, repr=False)

    def tags(self) -> list[str]:
        """The provenance tags of the evidence, strongest first, each once (worked out once)."""
        if self._tags is None:
            self._tags = list(dict.fromkeys(e.tag for _, e in self.evidence))
        return self._tags


@dataclass
class _Tally:
    """The strengths of the pieces of evidence on one sector, in the order of the evidence (by
    code first), as the noisy-ors of :class:`_SectorEvidence` take them."""

    sources: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    """By code or class, and by text."""
    same_donor: list[float] = field(default_factory=list)
    evidence: list[tuple[float, Evidence]] = field(default_factory=list)


class _Routes(dict[str, _SectorEvidence]):
    """Knowledge per receiving sector for one resource, with the sector part of the logit cached
    per (donor sector, kind) and sector."""

    def __init__(self) -> None:
        super().__init__()
        self.static: dict[tuple[str | None, str], dict[str, float]] = {}
        self.top: list[tuple[str, _SectorEvidence]] | None = None


@dataclass
class Matcher:
    """Match supplies to receivers with one knowledge base and classifier.

    The score of a (supply, receiver) pair is a logistic function of :data:`FEATURES`
    (``docs/matching.md`` explains each):

    * ``route``: documented exchanges of the same resource (class, family or EWC code) to the
      receiver's sector, combined as a noisy-or; ``route_donor``: the part of it from the same
      donor sector;
    * ``text_route``: documented exchanges described in similar words, to the receiver's sector;
    * ``receiver_words``: documented receivers of the resource described in the receiver's words
      (``cement production``, ``urban entity``), which also reaches companies with no sector code;
    * ``pair`` and ``pair_kind``: how often the donor's and receiver's sectors are documented
      partners (any resource; resources of this kind);
    * ``same_sector``, ``kind_sector``, ``popularity``: sector priors; ``no_sector``: the receiver
      states no sector code (so all its sector features are 0);
    * ``demand``: how well a posted demand of the receiver fits;
    * ``text``: the receiver's own description resembles the supply;
    * ``process`` and ``process_sector``: a process the receiver's name or description names
      takes the resource in (:mod:`symbiolink.knowledge.processes`); failing such words, the share
      of its sector's processes that do;
    * ``distance``: the distance as a share of the kind's limit.
    """

    knowledge: KnowledgeBase = field(default_factory=default_knowledge)
    classifier: Classifier = field(default_factory=default_classifier)
    limits: rules.Limits = field(default_factory=rules.Limits)
    weights: dict[str, float] = field(default_factory=default_weights)

    def __post_init__(self) -> None:
        self._route_cache: dict[tuple[Any, ...], _Routes] = {}
        self._sims_cache: dict[tuple[tuple[str, ...], frozenset[str]], dict[str, float]] = {}
        self._rtok: dict[str, list[str]] = {}
        self._families = {cid: c.family for cid, c in self.classifier.classes.items()}
        self.process_index = ProcessIndex(self.knowledge.processes)
        #: For each class: the processes that take it in (as a class or by its family).
        self.takers: dict[str, frozenset[str]] = {
            cid: frozenset(
                p.id
                for p in self.knowledge.processes
                if cid in p.by_class or c.family in p.by_family
            )
            for cid, c in self.classifier.classes.items()
        }
        self._by_family: dict[str, list[Evidence]] = defaultdict(list)
        self._evidence_tokens: list[tuple[frozenset[str], Evidence]] = []
        pairs: dict[tuple[str, str], int] = defaultdict(int)
        pair_kinds: dict[tuple[str, str, str], int] = defaultdict(int)
        kinds: dict[tuple[str, str], int] = defaultdict(int)
        popularity: dict[str, int] = defaultdict(int)
        for e in self.knowledge.evidence:
            if e.class_id:
                self._by_family[self._families.get(e.class_id, e.class_id)].append(e)
            toks = frozenset(content_tokens(e.text))
            if toks:
                self._evidence_tokens.append((toks, e))
            for r in {x[:2] for x in e.receiver_isic}:
                popularity[r] += 1
                kinds[(e.kind, r)] += 1
                for d in {x[:2] for x in e.donor_isic}:
                    pairs[(d, r)] += 1
                    pair_kinds[(e.kind, d, r)] += 1
        self._pairs = dict(pairs)
        #: Classes documented as fuels: some piece of knowledge uses them as one.
        self.fuel_classes = frozenset(
            e.class_id
            for e in self.knowledge.evidence
            if e.class_id and e.kind == "material" and set(content_tokens(e.use)) & FUEL_USE_WORDS
        )
        self._pair_kinds = dict(pair_kinds)
        self._kinds = dict(kinds)
        self._popularity = dict(popularity)
        self._max_pop = max(popularity.values(), default=1)
        self._max_kind = {
            k: max((n for (kk, _), n in kinds.items() if kk == k), default=1)
            for k in ("material", "energy", "water")
        }

    # -- knowledge ---------------------------------------------------------------------------

    def _evidence_for(self, hits: list[ClassHit], ewc: str | None) -> list[tuple[Evidence, float]]:
        """Evidence on the stream's resource, with how closely it concerns it."""
        weights: dict[str, float] = {}
        chosen: dict[str, Evidence] = {}

        def take(e: Evidence, w: float) -> None:
            if w > weights.get(e.id, 0.0):
                weights[e.id] = w
                chosen[e.id] = e

        for h in hits:
            for e in self.knowledge.by_class.get(h.class_id, []):
                take(e, h.confidence)
            fam = self._families.get(h.class_id)
            if fam:
                for e in self._by_family.get(fam, []):
                    take(e, h.confidence * FAMILY_WEIGHT)
        if ewc:
            for e in self.knowledge.by_ewc.get(ewc, []):
                take(e, 1.0)
        return [(chosen[k], w) for k, w in weights.items()]

    def _text_evidence(self, text_tokens: frozenset[str]) -> list[tuple[Evidence, float]]:
        out: list[tuple[Evidence, float]] = []
        if not text_tokens:
            return out
        for et, e in self._evidence_tokens:
            common = len(et & text_tokens)
            if common:
                sim = common / math.sqrt(len(et) * len(text_tokens))
                if sim >= TEXT_EVIDENCE_MIN:
                    out.append((e, sim))
        return out

    def sector_evidence(
        self,
        hits: list[ClassHit],
        ewc: str | None,
        text_tokens: frozenset[str],
        donor: str | None,
        sectors: frozenset[str],
    ) -> _Routes:
        """For each receiving sector present: knowledge scores and the evidence behind them."""
        # The sectors are part of the key: the same resource in a registry of other sectors has
        # other sectors to rank (a matcher serves one park, then another).
        key = (tuple((h.class_id, h.confidence) for h in hits), ewc, text_tokens, donor, sectors)
        cached = self._route_cache.get(key)
        if cached is not None:
            return cached
        found: dict[str, _Tally] = {}
        for k, source in enumerate(
            (self._evidence_for(hits, ewc), self._text_evidence(text_tokens))
        ):
            for e, w in source:
                sims = self._sector_sims(e.receiver_isic, sectors)
                if not sims:
                    continue
                donor_fits = bool(e.donor_isic) and _best_sector(e.donor_isic, donor) >= 0.5
                d = 1.0 if donor_fits or not e.donor_isic else DONOR_MISMATCH
                for sector, sim in sims.items():
                    p = P_ROUTE * w * sim * d
                    tally = found.get(sector)
                    if tally is None:
                        tally = found[sector] = _Tally()
                    tally.sources[k].append(p)
                    if donor_fits:
                        tally.same_donor.append(p)
                    tally.evidence.append((p, e))
        out = _Routes()
        for sector in sectors:
            tally = found.get(sector)
            if tally is not None:
                tally.evidence.sort(key=lambda x: (-x[0], x[1].id))
                out[sector] = _SectorEvidence(
                    _noisy_or(tally.sources[0]),
                    _noisy_or(tally.sources[1]),
                    _noisy_or(tally.same_donor),
                    tally.evidence,
                )
        self._route_cache[key] = out
        return out

    def _sector_sims(self, patterns: tuple[str, ...], sectors: frozenset[str]) -> dict[str, float]:
        """The sectors that knowledge naming ``patterns`` concerns at all, with how closely."""
        key = (patterns, sectors)
        sims = self._sims_cache.get(key)
        if sims is None:
            sims = {x: sim for x in sectors if (sim := _best_sector(patterns, x)) > 0}
            self._sims_cache[key] = sims
        return sims

    def receiver_word_map(
        self, hits: list[ClassHit], ewc: str | None, text_tokens: frozenset[str]
    ) -> dict[str, tuple[float, Evidence]]:
        """For the supply's evidence: each word describing a documented receiver, with its strength."""
        key = ("words", tuple((h.class_id, h.confidence) for h in hits), ewc, text_tokens)
        cached = self._route_cache.get(key)
        if cached is not None:
            return cached  # type: ignore[return-value]
        strength: dict[str, float] = defaultdict(float)
        best: dict[str, tuple[float, Evidence]] = {}
        for e, w in [*self._evidence_for(hits, ewc), *self._text_evidence(text_tokens)]:
            words = self._receiver_tokens(e)
            for t in words:
                p = P_ROUTE * w / math.sqrt(len(words))
                strength[t] = 1.0 - (1.0 - strength[t]) * (1.0 - p)
                if t not in best or p > best[t][0]:
                    best[t] = (p, e)
        out = {t: (v, best[t][1]) for t, v in strength.items()}
        self._route_cache[key] = out  # type: ignore[assignment]
        return out

    def _receiver_tokens(self, e: Evidence) -> list[str]:
        toks = self._rtok.get(e.id)
        if toks is None:
            toks = sorted(set(content_tokens(e.receiver_words)) - GENERIC_COMPANY_WORDS)
            self._rtok[e.id] = toks
        return toks

    def pair_feature(self, donor: str | None, receiver: str | None) -> float:
        if not donor or not receiver:
            return 0.0
        return min(1.0, math.log1p(self._pairs.get((donor[:2], receiver[:2]), 0)) / math.log(6))

    def pair_kind_feature(self, kind: str, donor: str | None, receiver: str | None) -> float:
        if not donor or not receiver:
            return 0.0
        return min(
            1.0, math.log1p(self._pair_kinds.get((kind, donor[:2], receiver[:2]), 0)) / math.log(4)
        )

    def kind_feature(self, kind: str, receiver: str | None) -> float:
        if not receiver:
            return 0.0
        n = self._kinds.get((kind, receiver[:2]), 0)
        return math.log1p(n) / math.log1p(self._max_kind.get(kind, 1))

    def popularity_feature(self, receiver: str | None) -> float:
        if not receiver:
            return 0.0
        return math.log1p(self._popularity.get(receiver[:2], 0)) / math.log1p(self._max_pop)

    def combine(self, features: dict[str, float]) -> float:
        """The logistic score of a feature vector."""
        z = self.weights.get("intercept", 0.0) + sum(
            self.weights.get(k, 0.0) * v for k, v in features.items()
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    # -- matching ----------------------------------------------------------------------------

    def match(
        self,
        park: ParkFile,
        *,
        top: int = 5,
        min_score: float = 0.05,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Match]:
        """Ranked receivers for every supply stream of ``park``, in the order of its streams.

        The supplies are scored a park at a time (:meth:`_candidates_batch`)."""
        with _collector_paused():
            return self._match(park, top, min_score, progress)

    def _match(
        self,
        park: ParkFile,
        top: int,
        min_score: float,
        progress: Callable[[int, int], None] | None,
    ) -> list[Match]:
        ctx = _Context(park, self)
        supplies = [s for s in park.streams if s.direction == "supply"]
        ranked: list[list[Match]] = [[] for _ in supplies]
        done = 0
        for batch in ctx.batches(supplies):
            streams = [supplies[i] for i in batch]
            for i, s, candidates in zip(
                batch, streams, self._candidates_batch(ctx, streams, top=top), strict=True
            ):
                ranked[i] = self.ranked(ctx, s, candidates, top=top, min_score=min_score)
            before, done = done, done + len(batch)
            if progress and (done // 500 > before // 500 or done == len(supplies)):
                progress(done, len(supplies))
        return [m for matches in ranked for m in matches]

    def match_demands(
        self, park: ParkFile, *, top: int = 5, min_score: float = 0.05
    ) -> list[DemandMatch]:
        """For every demand stream: the supplies of other companies that could meet it, best first."""
        ctx = _Context(park, self)
        by_demand: dict[str, list[tuple[float, Stream, _Candidate]]] = defaultdict(list)
        supplies = [s for s in park.streams if s.direction == "supply"]
        with _collector_paused():
            for batch in ctx.batches(supplies):
                streams = [supplies[i] for i in batch]
                for s, found in zip(streams, self._candidates_batch(ctx, streams), strict=True):
                    for cand in found:
                        if cand.demand is not None and cand.score >= min_score:
                            by_demand[cand.demand[1].id].append((cand.score, s, cand))
        out: list[DemandMatch] = []
        for d in park.streams:
            if d.direction != "demand":
                continue
            ranked = sorted(by_demand.get(d.id, []), key=lambda x: (-x[0], x[1].id))[:top]
            for rank, (score, s, cand) in enumerate(ranked, start=1):
                sc = self.explain(ctx, s, cand)
                out.append(
                    DemandMatch(
                        d.id, s.id, s.company, rank, score, sc.reasons, sc.sources, cand.distance
                    )
                )
        return out

    def candidates(self, ctx: _Context, s: Stream, *, top: int | None = None) -> list[_Candidate]:
        """Admissible receivers of a supply, with their scores.

        Blocking: all companies of the supplier's park, plus, from other parks within the kind's
        distance limit, the nearest few companies of each sector the knowledge names as a user and
        the nearest few that post a demand of the same resource. Cost grows with the number of
        streams, not with pairs. The supplier's park is scored with array operations; what
        depends only on the receiver's sector is summed once per (resource, donor sector, kind).

        With ``top``, only the candidates that :func:`diversified` could still pick for the best
        ``top`` are returned (the others score below the ``top``-th best of the sector groups'
        leaders), which leaves the ranking unchanged.
        """
        return self._candidates_batch(ctx, [s], top=top)[0]

    def _candidates_batch(
        self,
        ctx: _Context,
        supplies: list[Stream],
        *,
        top: int | None = None,
        demands_found: list[list[tuple[float, str, str]]] | None = None,
    ) -> list[list[_Candidate]]:
        """:meth:`candidates` of several supplies whose suppliers are in the same park.

        The park's companies are scored for all the supplies at once, as a (supplies x companies)
        array; the nearest companies of other parks are looked up for all of them at once too.

        With ``demands_found``, a list per supply is appended to it: (score, demand id, company
        id) of every admissible candidate whose best demand fits, whatever ``top`` (what
        :meth:`match_demands` ranks).
        """
        preps = [self._prepare(ctx, s) for s in supplies]
        home = ctx.park_arrays(preps[0].supplier.park)
        z, dist, demands, terms = self._home_logits(ctx, supplies, preps, home)
        score = 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
        # Scores of the admissible receivers; -inf where a rule forbids the pair.
        admissible = np.where(np.isfinite(z), score, -np.inf)
        if top is None:
            thresholds = np.full(len(supplies), -1.0)
        else:
            thresholds = _thresholds(admissible, home, top)
        nearest = ctx.find_nearest(preps)
        out: list[list[_Candidate]] = []
        for i, (s, prep) in enumerate(zip(supplies, preps, strict=True)):
            threshold = float(thresholds[i])
            row = admissible[i]
            kept = np.flatnonzero(row >= threshold)  # all admissible ones when threshold is -1
            order = kept[np.lexsort((home.id_rank[kept], -row[kept]))].tolist()
            if top is not None:
                order = _shortlist(order, row, home.groups, top, threshold)
            found = [
                self._home_candidate(ctx, prep, home, pos, row, dist[i], demands[i], terms[i])
                for pos in order
            ]
            # A candidate below the threshold cannot enter the best ``top`` (see _thresholds).
            cross = ctx.cross_park(prep, nearest)
            found += self._scored(ctx, s, prep, cross, threshold)
            out.append(found)
            if demands_found is not None:
                entries = [
                    (float(row[pos]), fit[1].id, home.companies[pos].id)
                    for pos, fit in demands[i].items()
                    if np.isfinite(row[pos])
                ]
                entries += [
                    (c.score, c.demand[1].id, c.company.id)
                    for c in (
                        found[len(order) :] if threshold <= 0 else self._scored(ctx, s, prep, cross)
                    )
                    if c.demand is not None
                ]
                demands_found.append(entries)
        return out

    def candidates_for(
        self, ctx: _Context, s: Stream, company_ids: Iterable[str]
    ) -> dict[str, _Candidate]:
        """Candidates ``company_ids`` of supply ``s``, scored as :meth:`_candidates_batch` scores
        them (for explaining a few pairs); those a rule forbids are left out."""
        prep = self._prepare(ctx, s)
        out: dict[str, _Candidate] = {}
        home_rows: tuple[Any, ...] | None = None
        for company_id in company_ids:
            company = ctx.companies[company_id]
            if company.park == prep.supplier.park:
                home = ctx.park_arrays(company.park)
                if home_rows is None:
                    z, dist, demands, terms = self._home_logits(ctx, [s], [prep], home)
                    score = 1.0 / (1.0 + np.exp(-np.clip(z[0], -50.0, 50.0)))
                    home_rows = (z[0], score, dist[0], demands[0], terms[0])
                z0, score, dist0, demands0, terms0 = home_rows
                pos = home.position[company_id]
                if np.isfinite(z0[pos]):
                    out[company_id] = self._home_candidate(
                        ctx, prep, home, pos, score, dist0, demands0, terms0
                    )
                continue
            there = ctx.location(company)
            distance = None
            if prep.here is not None and there is not None:
                distance = float(haversine_rows(np.array([prep.here]), np.array([there]))[0, 0])
            found = self._one(ctx, s, prep, company, distance)
            if found is not None:
                out[company_id] = found
        return out

    def _prepare(self, ctx: _Context, s: Stream) -> _Prep:
        supplier = ctx.companies[s.company]
        profile = ctx.profile(s, supplier)
        demand_id = ctx.key_id((profile.fit_id, rules.supply_key(s)))
        return _Prep(supplier, ctx.location(supplier), profile, demand_id)

    def _profile(
        self,
        hits: list[ClassHit],
        ewc: str | None,
        hazardous: bool,
        toks: frozenset[str],
        donor: str | None,
        kind: str,
        sectors: frozenset[str],
        key_id: Callable[[tuple[Any, ...]], int],
    ) -> _Profile:
        """What scoring a supply needs that follows from its resource, donor sector and kind;
        ``key_id`` numbers the keys of the caches."""
        hits_key = tuple((h.class_id, h.confidence) for h in hits)
        sector_ev = self.sector_evidence(hits, ewc, toks, donor, sectors)
        groups = [("sector", sector) for sector, _ in _top_sectors(sector_ev)]
        groups += [("class", h.class_id) for h in hits[:2]]
        groups += [("takes", h.class_id) for h in hits[:2] if self.takers.get(h.class_id)]
        classes = self.classifier.classes
        return _Profile(
            hits=hits,
            ewc=ewc,
            hazardous=hazardous,
            toks=toks,
            donor=donor,
            kind=kind,
            sector_ev=sector_ev,
            word_map=self.receiver_word_map(hits, ewc, toks),
            limit=self.limits.max_distance_km.get(kind) or 1.0,
            reach=self.limits.max_distance_km.get(kind, 20000.0),
            static=self._static_scores(sector_ev, donor, kind),
            groups=groups,
            resource_id=key_id(("resource", hits_key, ewc, toks)),
            fit_id=key_id(("fit", hits_key, toks, kind)),
            confidence={h.class_id: h.confidence for h in hits},
            families=frozenset(classes[h.class_id].family for h in hits),
            fuel=next((h for h in hits if h.class_id in self.fuel_classes), None),
        )

    def _static_for(self, profile: _Profile, sector: str | None) -> float:
        z = profile.static.get(sector or "")
        if z is None:
            se = profile.sector_ev.get(sector) if sector else None
            z = self._static_z(se, profile.donor, profile.kind, sector)
            profile.static[sector or ""] = z
        return z

    def _static_row(self, ctx: _Context, profile: _Profile, home: _ParkArrays) -> np.ndarray:
        """The sector part of the logits of a park's companies."""
        if profile.static_row is None:
            profile.static_row = np.array(
                [self._static_for(profile, sector or None) for sector in ctx.sector_list]
            )
        row: np.ndarray = profile.static_row[home.sector_index]
        return row

    def _home_logits(
        self, ctx: _Context, supplies: list[Stream], preps: list[_Prep], home: _ParkArrays
    ) -> tuple[np.ndarray, np.ndarray, list[dict[int, _Demand]], list[_Words]]:
        """Logits of every company of the suppliers' park, a row per supply (``-inf`` where a
        rule forbids the pair), with the distances, the fitting demands and the word features.

        Each row is summed in the same order as :meth:`_one` sums one candidate's terms."""
        w = self.weights
        park_id = preps[0].supplier.park
        terms = [ctx.home_words(prep.profile, home, park_id) for prep in preps]
        z = np.stack([self._static_row(ctx, prep.profile, home) for prep in preps])
        dist = np.stack([ctx.home_distances(prep.supplier, prep.here, home) for prep in preps])
        known = np.nan_to_num(dist, nan=0.0)
        limit = np.array([prep.profile.limit for prep in preps])[:, None]
        z += w.get("distance", 0.0) * np.minimum(1.0, known / limit)
        z += w.get("receiver_words", 0.0) * np.stack([t.words_p for t in terms])
        z += w.get("text", 0.0) * np.stack([t.text for t in terms])
        z += w.get("process", 0.0) * np.stack([t.process for t in terms])
        z += w.get("process_sector", 0.0) * np.stack([t.process_sector for t in terms])
        w_demand = w.get("demand", 0.0)
        demands: list[dict[int, _Demand]] = []
        for i, (s, prep) in enumerate(zip(supplies, preps, strict=True)):
            fitting = ctx.home_demands(s, prep, home, park_id)
            for pos, (fit, _, _) in fitting.items():
                z[i, pos] += w_demand * fit
            demands.append(fitting)
            z[i, home.position[prep.supplier.id]] = -np.inf
        for i, (prep, t) in enumerate(zip(preps, terms, strict=True)):
            if prep.profile.hazardous:
                z[i, ~(home.hazardous_ok | t.recovers)] = -np.inf
        z[known > limit] = -np.inf
        return z, dist, demands, terms

    def _home_candidate(
        self,
        ctx: _Context,
        prep: _Prep,
        home: _ParkArrays,
        pos: int,
        score: np.ndarray,
        dist: np.ndarray,
        demands: dict[int, _Demand],
        terms: _Words,
    ) -> _Candidate:
        """The candidate at ``pos`` of a row of :meth:`_home_logits`."""
        company = home.companies[pos]
        sector = home.sectors[pos] or None
        d = float(dist[pos])
        return _Candidate(
            company,
            sector,
            None if math.isnan(d) else d,
            float(score[pos]),
            demands.get(pos),
            prep.profile.sector_ev.get(sector) if sector else None,
            ctx.company_words(prep.profile, company)[0],
            float(terms.words_p[pos]),
            float(terms.text[pos]),
            ctx.process_fit(prep.profile, company),
        )

    def _one(
        self, ctx: _Context, s: Stream, prep: _Prep, company: Company, distance: float | None
    ) -> _Candidate | None:
        """One candidate scored on its own (companies of other parks); the same sums as the arrays."""
        found = self._scored(ctx, s, prep, [(company, distance)])
        return found[0] if found else None

    def _scored(
        self,
        ctx: _Context,
        s: Stream,
        prep: _Prep,
        receivers: Iterable[tuple[Company, float | None]],
        threshold: float = -1.0,
    ) -> list[_Candidate]:
        """Receivers (with their distances) scored one by one, with the same sums as the arrays of
        :meth:`_home_logits`; without those a rule forbids, and those scoring below a positive
        ``threshold`` (the rules on demands are not checked for those that even the best fit
        could not lift enough)."""
        w = self.weights
        w_distance, w_words, w_text, w_demand, w_process, w_process_sector = (
            w.get(k, 0.0)
            for k in ("distance", "receiver_words", "text", "demand", "process", "process_sector")
        )
        profile = prep.profile
        static, limit = profile.static, profile.limit
        out: list[_Candidate] = []
        for company, distance in receivers:
            if company.id == prep.supplier.id:
                continue
            sector = ctx.sector(company)
            if distance is not None and distance > limit:
                continue
            fit = ctx.process_fit(profile, company)
            if (
                profile.hazardous
                and rules.hazardous_problem(True, sector, self.limits)
                and not fit.recovers
            ):
                continue
            z = static.get(sector or "")
            if z is None:
                z = self._static_for(profile, sector)
            if distance is not None:
                z += w_distance * min(1.0, distance / limit)
            words, words_p, text = ctx.company_words(profile, company)
            z += w_words * words_p + w_text * text
            z += w_process * fit.value + w_process_sector * fit.sector_value
            fits = ctx.company_fits(profile, company)
            if (
                threshold > 0
                and _logistic(z + max(0.0, w_demand * fits[0][0] if fits else 0.0)) < threshold
            ):
                continue  # even the demand that fits best could not lift it enough
            demand = ctx.best_demand(s, fits) if fits else None
            if demand is not None:
                z += w_demand * demand[0]
            score = _logistic(z)
            if score < threshold:
                continue
            se = profile.sector_ev.get(sector) if sector else None
            out.append(
                _Candidate(company, sector, distance, score, demand, se, words, words_p, text, fit)
            )
        return out

    @staticmethod
    def _static_scores(sector_ev: _Routes, donor: str | None, kind: str) -> dict[str, float]:
        return sector_ev.static.setdefault((donor, kind), {})

    def _static_z(
        self, se: _SectorEvidence | None, donor: str | None, kind: str, sector: str | None
    ) -> float:
        """The part of the logit that depends only on the receiver's sector."""
        w = self.weights
        z = w.get("intercept", 0.0)
        if se is not None:
            z += (
                w.get("route", 0.0) * se.route
                + w.get("text_route", 0.0) * se.text_route
                + w.get("route_donor", 0.0) * se.route_donor
            )
        z += w.get("pair", 0.0) * self.pair_feature(donor, sector)
        z += w.get("pair_kind", 0.0) * self.pair_kind_feature(kind, donor, sector)
        z += w.get("same_sector", 0.0) * (
            1.0 if donor and sector and donor[:3] == sector[:3] else 0.0
        )
        z += w.get("kind_sector", 0.0) * self.kind_feature(kind, sector)
        z += w.get("popularity", 0.0) * self.popularity_feature(sector)
        z += w.get("no_sector", 0.0) * (0.0 if sector else 1.0)
        return z

    def candidate_features(self, ctx: _Context, s: Stream, cand: _Candidate) -> dict[str, float]:
        """The feature vector of a candidate (:data:`FEATURES`), as the score used it."""
        donor = ctx.sector(ctx.companies[s.company])
        se, sector = cand.sector_evidence, cand.sector
        limit = self.limits.max_distance_km.get(s.kind) or 1.0
        return {
            "route": se.route if se else 0.0,
            "text_route": se.text_route if se else 0.0,
            "route_donor": se.route_donor if se else 0.0,
            "receiver_words": cand.words_p,
            "pair": self.pair_feature(donor, sector),
            "pair_kind": self.pair_kind_feature(s.kind, donor, sector),
            "same_sector": 1.0 if donor and sector and donor[:3] == sector[:3] else 0.0,
            "kind_sector": self.kind_feature(s.kind, sector),
            "popularity": self.popularity_feature(sector),
            "no_sector": 0.0 if sector else 1.0,
            "demand": cand.demand[0] if cand.demand else 0.0,
            "text": cand.text,
            "process": cand.process.value,
            "process_sector": cand.process.sector_value,
            "distance": min(1.0, cand.distance / limit) if cand.distance is not None else 0.0,
        }

    def ranked(
        self,
        ctx: _Context,
        s: Stream,
        candidates: list[_Candidate],
        *,
        top: int,
        min_score: float,
    ) -> list[Match]:
        """The matches of supply ``s``: its scored candidates diversified to ``top``, explained."""
        out = []
        for rank, (cand, score) in enumerate(
            diversified(candidates, top=top, min_score=min_score), start=1
        ):
            sc = self.explain(ctx, s, cand)
            out.append(Match(s.id, cand.company.id, sc.demand, rank, score, sc.use, sc.reasons,
                             sc.sources, cand.distance))  # fmt: skip
        return out

    def explain(self, ctx: _Context, s: Stream, cand: _Candidate) -> _Scored:
        """Reasons in plain words, the sources and the use, for one candidate."""
        what, hazardous_ewc, donor = ctx.about(s)
        reasons = list(what)
        fit = cand.process
        if hazardous_ewc is not None:
            if rules.hazardous_problem(True, cand.sector, self.limits) is None:
                reasons.append(f"EWC {hazardous_ewc} is hazardous; ISIC {cand.sector} may take it")
            elif fit.process is not None and fit.input is not None and fit.input.recovery:
                op = fit.input.recovery
                reasons.append(
                    f"EWC {hazardous_ewc} is hazardous; {fit.process.label_en} recovers it "
                    f"({op}, {RECOVERY_OPERATIONS[op]}) and needs a permit for it"
                )
        use = ""
        demand_id = None
        sources: list[str] = []
        if cand.demand is not None:
            _, d, why = cand.demand
            demand_id, use = d.id, d.name
            reasons.append(f"posted demand {d.name!r} ({d.id}) {why}")
        if fit.value > 0 and fit.process is not None and fit.input is not None:
            use = use or fit.input.use
            sources += fit.process.tags
            label = self.classifier.classes[fit.hit].label_en.lower() if fit.hit else "it"
            reasons.append(
                f"{cand.company.name[:50]!r} names {fit.process.label_en}, which takes "
                f"{label}: {fit.input.use}"
            )
        elif fit.sector_value > 0 and fit.process is not None and fit.input is not None:
            use = use or fit.input.use
            sources += fit.process.tags
            reasons.append(f"{fit.process.label_en} (ISIC {cand.sector}) takes it: {fit.input.use}")
        if cand.sector_evidence is not None:
            e0 = cand.sector_evidence.evidence[0][1]
            use = use or e0.use
            sources += [t for t in cand.sector_evidence.tags() if t not in sources]
            n = len(sources)
            reasons.append(
                f"documented: {e0.text or e0.class_id} to ISIC {e0.receiver_isic[0]}"
                + (f" ({e0.use.lower()})" if e0.use else "")
                + f"; {cand.company.name[:50]} is ISIC {cand.sector}; {n} source{'s' if n != 1 else ''}"
            )
        if cand.words:
            _, e_best = max(cand.words, key=lambda x: x[0])
            if cand.sector_evidence is None:
                use = use or e_best.use
                reasons.append(f"documented: {e_best.text} to a {e_best.receiver_words.lower()}")
            for _, e in cand.words:
                if e.tag not in sources:
                    sources.append(e.tag)
        if self.pair_feature(donor, cand.sector) > 0 and cand.sector_evidence is None:
            reasons.append(
                f"ISIC {(donor or '?')[:2]} and ISIC {(cand.sector or '?')[:2]} are documented partners"
            )
        if cand.text >= 0.2:
            reasons.append(f"its description shares words with {s.name!r}")
        reasons.append(
            f"{cand.distance:.1f} km away"
            if cand.distance is not None
            else "distance unknown (no coordinates)"
        )
        return _Scored(cand.score, demand_id, use, reasons, sources[:10], cand.distance)

    def features(self, ctx: _Context, s: Stream) -> dict[str, tuple[dict[str, float], _Scored]]:
        """Features and explanation of every admissible receiver (for fitting and analysis)."""
        return {
            c.company.id: (self.candidate_features(ctx, s, c), self.explain(ctx, s, c))
            for c in self.candidates(ctx, s)
        }


#: Processes a company's words name, each with how much the words count.
_Named = tuple[tuple[Process, float], ...]
#: What a process named only in a company's description counts, against its name.
DESCRIPTION_WEIGHT = 0.6
#: A posted demand that fits a supply: how well, the demand, and why.
_Demand = tuple[float, Stream, str]
#: The documented receivers' words a company's description has (their strength and evidence), the
#: ``receiver_words`` feature they make, and the ``text`` feature.
_CompanyWords = tuple[list[tuple[float, Evidence]], float, float]
#: The nearest companies of other parks (and their distances) by (supplier, reach, group).
_Nearest = dict[tuple[str, float, tuple[str, str]], list[tuple[Company, float]]]

#: Cells (supply x company pairs) of the arrays of one :meth:`Matcher._candidates_batch` at most:
#: bounds the memory a batch takes in a very large park.
BATCH_CELLS = 2_000_000


@dataclass
class _Profile:
    """What scoring a supply needs that follows from its resource (classes, EWC code, words), its
    donor sector and its kind only: worked out once for all the supplies that share them."""

    hits: list[ClassHit]
    ewc: str | None
    hazardous: bool
    toks: frozenset[str]
    donor: str | None
    kind: str
    sector_ev: _Routes
    word_map: dict[str, tuple[float, Evidence]]
    limit: float
    """Distance limit (km) of the kind, for the score and the rule."""
    reach: float
    """How far (km) to look for companies of other parks."""
    static: dict[str, float]
    groups: list[tuple[str, str]]
    """Groups of companies of other parks to take the nearest few of (:meth:`_Context.cross_park`)."""
    resource_id: int
    """Stands for the classes, EWC code and words: what the word features depend on."""
    fit_id: int
    """Stands for the classes, words and kind: what the fit of a demand depends on."""
    confidence: dict[str, float]
    """The confidence of each class of the resource."""
    families: frozenset[str]
    fuel: ClassHit | None
    """The first class of the resource documented as a fuel."""
    static_row: np.ndarray | None = None
    """The sector part of the logit for each sector of :attr:`_Context.sector_list`."""


@dataclass
class _Prep:
    """What a supply's scoring needs: its supplier, the supplier's place and the shared profile."""

    supplier: Company
    here: tuple[float, float] | None
    profile: _Profile
    demand_id: int
    """Stands for what the demands that fit the supply depend on: :attr:`_Profile.fit_id` and
    what the hard rules read of the supply (:func:`rules.supply_key`)."""


@dataclass
class _Words:
    """The word features of a resource for each company of a park."""

    words_p: np.ndarray
    text: np.ndarray
    process: np.ndarray
    process_sector: np.ndarray
    recovers: np.ndarray
    """A process the company's words name recovers the resource (see :class:`_ProcessFit`)."""


@dataclass
class _ParkArrays:
    """A park's companies as arrays, for scoring all of them at once."""

    companies: list[Company]
    sectors: list[str]
    sector_index: np.ndarray
    """Where each company's sector is in :attr:`_Context.sector_list`."""
    position: dict[str, int]
    id_rank: np.ndarray
    groups: list[str]
    group_order: np.ndarray
    """Company positions sorted by sector group; each group starts at :attr:`group_starts`."""
    group_starts: np.ndarray
    token_index: dict[str, np.ndarray]
    token_counts: np.ndarray
    demand_positions: list[tuple[int, list[Stream]]]
    hazardous_ok: np.ndarray
    locations: np.ndarray
    process_reps: list[Company]
    """One company for each combination of named processes and sector processes in the park."""
    process_sig: np.ndarray
    """For each company, its combination's position in :attr:`process_reps`."""


def _top_sectors(sector_ev: _Routes) -> list[tuple[str, _SectorEvidence]]:
    """The sectors with the strongest knowledge for a resource (computed once per resource)."""
    if sector_ev.top is None:
        sector_ev.top = sorted(
            sector_ev.items(), key=lambda kv: (-(kv[1].route + kv[1].text_route), kv[0])
        )[:CROSS_PARK_SECTORS]
    return sector_ev.top


def _thresholds(admissible: np.ndarray, home: _ParkArrays, top: int) -> np.ndarray:
    """For each row of scores (``-inf`` where not admissible): the ``top``-th best score among the
    sector groups' leaders (the best receiver of each group), or -1 with fewer groups.

    :func:`diversified` never picks a candidate scoring below it for the best ``top``: while fewer
    than ``top`` are picked, some leader's group is still unpicked, and that leader's (undiscounted)
    score is at least the threshold. So lower candidates, and more than ``top`` per group, can go.
    """
    leaders = np.maximum.reduceat(admissible[:, home.group_order], home.group_starts, axis=1)
    if leaders.shape[1] < top:
        return np.full(len(admissible), -1.0)
    kth = -np.partition(-leaders, top - 1, axis=1)[:, top - 1]
    return np.where(np.isfinite(kth), kth, -1.0)


def _cells_within(here: tuple[float, float], limit: float) -> tuple[int, int, int, int]:
    """The grid cell (one degree) of a place, and how many cells each way (latitude, longitude)
    hold all places within ``limit`` km."""
    dlat = math.ceil(limit / 111.0)
    dlon = math.ceil(limit / max(1.0, 111.0 * math.cos(math.radians(min(abs(here[0]), 89.0)))))
    return math.floor(here[0]), math.floor(here[1]), dlat, dlon


def _may_be_nearest(heres: np.ndarray, places: np.ndarray, reach: float, k: int) -> np.ndarray:
    """Positions of the ``places`` that may be among the ``k`` nearest within ``reach`` km of
    one of ``heres`` (rows of (lat, lon)), found without working out all the distances.

    By the triangle inequality, the distance from a place to any of ``heres`` is within ``spread``
    (how far the farthest of ``heres`` is from the first) of its distance to the first. A place
    whose lowest possible distance is beyond ``reach``, or beyond the highest possible distances
    of ``k`` places surely within reach, is never one of the ``k`` nearest."""
    first = (float(heres[0, 0]), float(heres[0, 1]))
    spread = float(haversine_many(first, heres).max()) + 1e-6  # and a margin for rounding
    to_first = haversine_many(first, places)
    lowest, highest = to_first - spread, to_first + spread
    sure = highest[highest <= reach]
    bound = reach
    if len(sure) >= k:
        bound = min(reach, float(np.partition(sure, k - 1)[k - 1]))
    return np.flatnonzero(lowest <= bound)


def _nearest_mask(dist: np.ndarray, k: int) -> np.ndarray:
    """Per row of distances: the finite ones no larger than the row's ``k``-th smallest (more than
    ``k`` only where distances tie)."""
    if dist.shape[1] > k:
        kth = np.partition(dist, k - 1, axis=1)[:, k - 1 : k]
        mask: np.ndarray = np.isfinite(dist) & (dist <= kth)
        return mask
    finite: np.ndarray = np.isfinite(dist)
    return finite


def _shortlist(
    order: list[int], score: np.ndarray, groups: list[str], top: int, threshold: float
) -> list[int]:
    """The positions of ``order`` (best first) that :func:`diversified` may still pick for the
    best ``top``: the ``j``-th of a sector group (from 0) can only be picked after the ``j``
    before it, at its score times ``REPEAT_DISCOUNT ** j``, and no pick scores below
    ``threshold`` (:func:`_thresholds`); so at most ``top`` of a group, and fewer if they score
    low."""
    kept: list[int] = []
    per_group: dict[str, int] = defaultdict(int)
    for pos in order:
        g = groups[pos]
        j = per_group[g]
        per_group[g] = j + 1
        if j < top and float(score[pos]) * REPEAT_DISCOUNT**j >= threshold:
            kept.append(pos)
    return kept


@dataclass
class _Candidate:
    company: Company
    sector: str | None
    distance: float | None
    score: float
    demand: _Demand | None
    sector_evidence: _SectorEvidence | None
    words: list[tuple[float, Evidence]]
    words_p: float
    text: float
    process: _ProcessFit


@dataclass(frozen=True)
class _ProcessFit:
    """What the processes a company runs say about a resource (:meth:`_Context.process_fit`)."""

    value: float = 0.0
    """The ``process`` feature: how surely a process its words name takes the resource."""
    sector_value: float = 0.0
    """The ``process_sector`` feature: without such words, the share of its sector's processes
    that take the resource."""
    process: Process | None = None
    """The process behind the larger of the two (for explanations)."""
    input: ProcessInput | None = None
    hit: str | None = None
    """The class of the resource the process takes."""
    recovers: bool = False
    """A process its words name takes the resource in as a recovery operation (a hazardous waste
    it may be permitted to take)."""


NO_PROCESS = _ProcessFit()


def diversified(
    candidates: list[_Candidate], *, top: int, min_score: float
) -> list[tuple[_Candidate, float]]:
    """The best ``top`` receivers, preferring variety: each receiver of a sector group (three ISIC
    digits) already listed lowers the next one's score by :data:`REPEAT_DISCOUNT`, so a by-product
    with uses in several sectors shows them all instead of five look-alike plants. The score shown
    is the discounted one, so scores fall with rank."""
    pool = sorted(candidates, key=lambda c: (-c.score, c.company.id))
    seen: dict[str, int] = defaultdict(int)
    out: list[tuple[_Candidate, float]] = []
    while pool and len(out) < top:
        best_i, best_v = -1, -1.0
        for i, c in enumerate(pool):
            if c.score <= best_v:
                break  # sorted: no later candidate can beat the best adjusted score
            v = c.score * REPEAT_DISCOUNT ** seen[(c.sector or "?")[:3]]
            if v > best_v:
                best_i, best_v = i, v
        if best_v < min_score:
            break
        chosen = pool.pop(best_i)
        seen[(chosen.sector or "?")[:3]] += 1
        out.append((chosen, best_v))
    return out


class _Context:
    """Per-park look-ups shared across all supplies: classes, sectors, places, demands, words."""

    def __init__(
        self, park: ParkFile, matcher: Matcher, *, sectors: frozenset[str] | None = None
    ) -> None:
        """``sectors``: the sector codes of the whole registry, where ``park`` is a part of it
        (:mod:`symbiolink.matching.index` matches a supply among the companies that can matter)."""
        self.park = park
        self.matcher = matcher
        self.companies = {c.id: c for c in park.companies}
        self.parks = {p.id: p for p in park.parks}
        self.demands: dict[str, list[Stream]] = defaultdict(list)
        for s in park.streams:
            if s.direction == "demand":
                self.demands[s.company].append(s)
        self._hits: dict[tuple[str, str, str | None], list[ClassHit]] = {}
        self._sector: dict[str, str | None] = {}
        self._loc: dict[str, tuple[float, float] | None] = {}
        self._tokens: dict[str, frozenset[str]] = {}
        self._company_tokens: dict[str, frozenset[str]] = {}
        self._all_sectors: frozenset[str] | None = sectors
        self._sector_list: list[str] | None = None
        self._sector_index: dict[str, int] | None = None
        self._by_park: dict[str, list[Company]] | None = None
        self._park_number: dict[str, int] = {}
        self._grid: dict[tuple[int, int, str], list[Company]] | None = None
        self._demand_classes: dict[str, list[Company]] | None = None
        self._process_companies: dict[str, list[Company]] = defaultdict(list)
        self._home: dict[str, np.ndarray] = {}
        self._arrays: dict[str, _ParkArrays] = {}
        self._profiles: dict[tuple[Any, ...], _Profile] = {}
        self._key_ids: dict[tuple[Any, ...], int] = {}
        self._company_words: dict[tuple[int, frozenset[str]], _CompanyWords] = {}
        self._processes: dict[str, tuple[_Named, tuple[Process, ...]]] = {}
        self._process_fits: dict[tuple[Any, ...], _ProcessFit] = {}
        self._about: dict[str, tuple[list[str], str | None, str | None]] = {}
        self._words: dict[tuple[int, str], _Words] = {}
        self._demand_index: dict[int, dict[tuple[str, str], list[tuple[int, Stream]]]] = {}
        self._park_fits: dict[tuple[int, str], list[tuple[int, list[_Demand]]]] = {}
        self._home_demands: dict[tuple[int, str], dict[int, _Demand]] = {}
        self._company_fits: dict[tuple[int, str], list[_Demand]] = {}
        self._group_cache: dict[tuple[Any, ...], tuple[list[Company], np.ndarray, np.ndarray]] = {}

    # -- streams and companies ---------------------------------------------------------------

    def hits(self, s: Stream) -> list[ClassHit]:
        """The classes of a stream (classified once per name, description and EWC code)."""
        key = (s.name, s.description or "", s.ewc)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = self.matcher.classifier.classify(
                name=s.name, description=s.description or "", ewc=s.ewc, kind=None
            )
        return hits

    def ewc(self, s: Stream) -> str | None:
        entry = ewc_lookup(s.ewc) if s.ewc else None
        return entry.code if entry else None

    def hazardous(self, s: Stream) -> bool:
        entry = ewc_lookup(s.ewc) if s.ewc else None
        return bool(entry and entry.hazardous)

    def tokens(self, s: Stream) -> frozenset[str]:
        text = f"{s.name} {s.description or ''}"
        toks = self._tokens.get(text)
        if toks is None:
            toks = self._tokens[text] = frozenset(content_tokens(text))
        return toks

    def about(self, s: Stream) -> tuple[list[str], str | None, str | None]:
        """For explanations: what the stream is (a reason, if it is recognised), its EWC code if
        that is hazardous, and the supplier's sector (worked out once per stream)."""
        cached = self._about.get(s.id)
        if cached is None:
            hits = self.hits(s)
            what = []
            if hits:
                label = self.matcher.classifier.classes[hits[0].class_id].label_en.lower()
                what.append(f"{s.name!r} is {label} ({hits[0].reason})")
            hazardous_ewc = self.ewc(s) if self.hazardous(s) else None
            cached = (what, hazardous_ewc, self.sector(self.companies[s.company]))
            self._about[s.id] = cached
        return cached

    def profile(self, s: Stream, supplier: Company) -> _Profile:
        """The shared :class:`_Profile` of a supply."""
        hits, ewc, toks, donor = self.hits(s), self.ewc(s), self.tokens(s), self.sector(supplier)
        key = (tuple((h.class_id, h.confidence) for h in hits), ewc, toks, donor, s.kind)
        profile = self._profiles.get(key)
        if profile is None:
            profile = self._profiles[key] = self.matcher._profile(
                hits, ewc, self.hazardous(s), toks, donor, s.kind, self.all_sectors, self.key_id
            )
        return profile

    def key_id(self, key: tuple[Any, ...]) -> int:
        """A number standing for ``key`` in the keys of caches (quicker to hash than the key)."""
        return self._key_ids.setdefault(key, len(self._key_ids))

    def sector(self, c: Company) -> str | None:
        if c.id not in self._sector:
            self._sector[c.id] = c.sector_isic()
        return self._sector[c.id]

    def location(self, c: Company) -> tuple[float, float] | None:
        if c.id not in self._loc:
            self._loc[c.id] = (
                self.park.location_of(c)
                if c.lat is None
                else (c.lat, c.lon)
                if c.lon is not None
                else None
            )
        return self._loc[c.id]

    @property
    def all_sectors(self) -> frozenset[str]:
        if self._all_sectors is None:
            self._all_sectors = frozenset(x for c in self.park.companies if (x := self.sector(c)))
        return self._all_sectors

    @property
    def sector_list(self) -> list[str]:
        """Every sector code of the companies, and "" for those without one."""
        if self._sector_list is None:
            self._sector_list = ["", *sorted(self.all_sectors)]
        return self._sector_list

    @property
    def sector_index(self) -> dict[str, int]:
        """Where each sector code ("" for none) is in :attr:`sector_list`."""
        if self._sector_index is None:
            self._sector_index = {sector: i for i, sector in enumerate(self.sector_list)}
        return self._sector_index

    def batches(self, supplies: list[Stream]) -> list[list[int]]:
        """Positions in ``supplies``, grouped by the supplier's park (parks in order of first
        appearance, supplies in their order), in batches of at most :data:`BATCH_CELLS` supply x
        company pairs."""
        if self._by_park is None:
            self._index()
        assert self._by_park is not None
        by_park: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(supplies):
            by_park[self.companies[s.company].park].append(i)
        out: list[list[int]] = []
        for park_id, positions in by_park.items():
            size = max(1, BATCH_CELLS // max(1, len(self._by_park[park_id])))
            out += [positions[k : k + size] for k in range(0, len(positions), size)]
        return out

    def _index(self) -> None:
        self._by_park = defaultdict(list)
        self._grid = defaultdict(list)
        self._demand_classes = defaultdict(list)
        for c in self.park.companies:
            self._by_park[c.park].append(c)
            self._park_number.setdefault(c.park, len(self._park_number))
            loc = self.location(c)
            if loc is not None:
                self._grid[(math.floor(loc[0]), math.floor(loc[1]), self.sector(c) or "")].append(c)
            for proc, weight in self.company_processes(c)[0]:
                if weight == 1.0:
                    self._process_companies[proc.id].append(c)
        for cid, demands in self.demands.items():
            for d in demands:
                for h in self.hits(d):
                    self._demand_classes[h.class_id].append(self.companies[cid])

    # -- the supplier's park -----------------------------------------------------------------

    def park_arrays(self, park_id: str) -> _ParkArrays:
        """The companies of a park as arrays (built once per park)."""
        if self._by_park is None:
            self._index()
        assert self._by_park is not None
        cached = self._arrays.get(park_id)
        if cached is not None:
            return cached
        companies = self._by_park[park_id]
        sectors = [self.sector(c) or "" for c in companies]
        token_lists: dict[str, list[int]] = defaultdict(list)
        counts = np.zeros(len(companies))
        for i, c in enumerate(companies):
            toks = self.company_tokens(c)
            counts[i] = len(toks)
            for t in toks:
                token_lists[t].append(i)
        by_id = sorted(range(len(companies)), key=lambda i: companies[i].id)
        id_rank = np.empty(len(companies), dtype=int)
        id_rank[by_id] = np.arange(len(companies))
        groups = [(sec or "?")[:3] for sec in sectors]
        group_order = np.array(sorted(range(len(companies)), key=lambda i: groups[i]), dtype=int)
        sorted_groups = [groups[i] for i in group_order]
        group_starts = np.array(
            [k for k, g in enumerate(sorted_groups) if k == 0 or g != sorted_groups[k - 1]],
            dtype=int,
        )
        permitted = self.matcher.limits.hazardous_receivers
        locs = np.array(
            [self.location(c) or (math.nan, math.nan) for c in companies], dtype=float
        ).reshape(-1, 2)
        combos: dict[tuple[Any, ...], int] = {}
        reps: list[Company] = []
        sig = np.empty(len(companies), dtype=int)
        for i, c in enumerate(companies):
            combo = self.company_processes(c)
            if combo not in combos:
                combos[combo] = len(reps)
                reps.append(c)
            sig[i] = combos[combo]
        arrays = _ParkArrays(
            companies=companies,
            sectors=sectors,
            sector_index=np.array([self.sector_index[sec] for sec in sectors], dtype=int),
            position={c.id: i for i, c in enumerate(companies)},
            id_rank=id_rank,
            groups=groups,
            group_order=group_order,
            group_starts=group_starts,
            token_index={t: np.array(ix, dtype=int) for t, ix in token_lists.items()},
            token_counts=counts,
            demand_positions=[
                (i, self.demands[c.id]) for i, c in enumerate(companies) if self.demands.get(c.id)
            ],
            hazardous_ok=np.array(
                [bool(sec) and sec.startswith(permitted) for sec in sectors], dtype=bool
            ),
            locations=locs,
            process_reps=reps,
            process_sig=sig,
        )
        self._arrays[park_id] = arrays
        return arrays

    def home_distances(
        self, supplier: Company, here: tuple[float, float] | None, home: _ParkArrays
    ) -> np.ndarray:
        """Distances (km) from a supplier to every company of its park; NaN where unknown."""
        cached = self._home.get(supplier.id)
        if cached is None:
            if here is None:
                cached = np.full(len(home.companies), np.nan)
            else:
                cached = haversine_many(here, home.locations)
            self._home[supplier.id] = cached
        return cached

    def home_words(self, profile: _Profile, home: _ParkArrays, park_id: str) -> _Words:
        """The ``receiver_words`` and ``text`` features of a resource for each company of a park
        (the same sums as :meth:`Matcher._one`, as arrays)."""
        key = (profile.resource_id, park_id)
        cached = self._words.get(key)
        if cached is not None:
            return cached
        n = len(home.companies)
        words_p = np.zeros(n)
        if profile.word_map:
            logq = np.zeros(n)
            for t, (p, _) in profile.word_map.items():
                idx = home.token_index.get(t)
                if idx is not None:
                    logq[idx] += math.log1p(-min(p, 0.999))
            words_p = -np.expm1(logq)
        text = np.zeros(n)
        if profile.toks:
            overlap = np.zeros(n)
            for t in profile.toks:
                idx = home.token_index.get(t)
                if idx is not None:
                    overlap[idx] += 1.0
            with np.errstate(divide="ignore", invalid="ignore"):
                text = np.where(
                    home.token_counts > 0,
                    overlap / np.sqrt(home.token_counts * len(profile.toks)),
                    0.0,
                )
        # Companies naming the same processes in a sector of the same processes fit alike.
        fits = [self.process_fit(profile, c) for c in home.process_reps]
        sig = home.process_sig
        cached = self._words[key] = _Words(
            words_p,
            text,
            np.array([f.value for f in fits])[sig],
            np.array([f.sector_value for f in fits])[sig],
            np.array([f.recovers for f in fits], dtype=bool)[sig],
        )
        return cached

    # -- demands -----------------------------------------------------------------------------

    def home_demands(
        self, s: Stream, prep: _Prep, home: _ParkArrays, park_id: str
    ) -> dict[int, _Demand]:
        """The best admissible demand of each company of the supplier's park that posts one that
        fits, by position (shared by supplies alike, see :attr:`_Prep.demand_id`)."""
        key = (prep.demand_id, park_id)
        cached = self._home_demands.get(key)
        if cached is None:
            fits_key = (prep.profile.fit_id, park_id)
            park_fits = self._park_fits.get(fits_key)
            if park_fits is None:
                park_fits = self._park_fits[fits_key] = [
                    (pos, fits)
                    for pos, demands in self.fitting_demands(s, prep.profile.hits, home)
                    if (fits := self.fits(prep.profile, demands))
                ]
            cached = {}
            for pos, fits in park_fits:
                best = self.best_demand(s, fits)
                if best is not None:
                    cached[pos] = best
            self._home_demands[key] = cached
        return cached

    def company_fits(self, profile: _Profile, company: Company) -> list[_Demand]:
        """:meth:`fits` of the demands a company posts (worked out once per resource)."""
        demands = self.demands.get(company.id)
        if not demands:
            return []
        key = (profile.fit_id, company.id)
        cached = self._company_fits.get(key)
        if cached is None:
            cached = self._company_fits[key] = self.fits(profile, demands)
        return cached

    def fits(self, profile: _Profile, demands: Iterable[Stream]) -> list[_Demand]:
        """The demands that fit a resource at all, best first (equals in the given order),
        whether or not a hard rule forbids them."""
        found: list[_Demand] = []
        for d in demands:
            fit, why = self.demand_fit(profile, d)
            if fit > 0:
                found.append((fit, d, why))
        found.sort(key=lambda x: -x[0])  # stable
        return found

    def best_demand(self, s: Stream, fits: list[_Demand]) -> _Demand | None:
        """The first of :meth:`fits` that no hard rule forbids: the demand that fits the supply
        best (the first of equals)."""
        for fit in fits:
            if self.admissible(s, fit[1]):
                return fit
        return None

    def admissible(self, s: Stream, d: Stream) -> bool:
        """No hard rule forbids the supply to meet the demand."""
        return (
            rules.kinds_fit(s.kind, d.kind)
            and not rules.temperature_problem(s, d, self.matcher.limits)
            and not rules.contaminant_problem(s, d)
        )

    def fitting_demands(
        self, s: Stream, hits: list[ClassHit], home: _ParkArrays
    ) -> list[tuple[int, list[Stream]]]:
        """The park's demands that could fit the supply at all (same class or family, a shared
        word, or a fuel for an energy need), grouped by company position; the rest score 0."""
        index = self._demand_index.get(id(home))
        if index is None:
            index = self._demand_index[id(home)] = self._index_demands(home)
        classes = self.matcher.classifier.classes
        keys = [("class", h.class_id) for h in hits] + [
            ("family", classes[h.class_id].family) for h in hits
        ]
        keys += [("token", t) for t in self.tokens(s)]
        if s.kind == "material" and any(h.class_id in self.matcher.fuel_classes for h in hits):
            keys.append(("fuel", ""))
        found: dict[int, list[Stream]] = {}
        for key in keys:
            for pos, d in index.get(key, ()):
                bucket = found.setdefault(pos, [])
                if d not in bucket:
                    bucket.append(d)
        return sorted(found.items())

    def _index_demands(self, home: _ParkArrays) -> dict[tuple[str, str], list[tuple[int, Stream]]]:
        classes = self.matcher.classifier.classes
        index: dict[tuple[str, str], list[tuple[int, Stream]]] = defaultdict(list)
        for pos, demands in home.demand_positions:
            for d in demands:
                for h in self.hits(d):
                    index[("class", h.class_id)].append((pos, d))
                    index[("family", classes[h.class_id].family)].append((pos, d))
                for t in self.tokens(d):
                    index[("token", t)].append((pos, d))
                if d.kind == "energy" and self.tokens(d) & FUEL_WORDS:
                    index[("fuel", "")].append((pos, d))
        return index

    # -- other parks -------------------------------------------------------------------------

    def cross_park(self, prep: _Prep, nearest: _Nearest) -> list[tuple[Company, float | None]]:
        """Candidates from other parks, with their distances: the nearest few companies of each
        sector the knowledge names (and posting demands of the same resource), within the kind's
        distance limit. ``nearest`` is :meth:`find_nearest` of the supply."""
        if prep.here is None or not nearest:
            return []
        out: list[tuple[Company, float | None]] = []
        seen: set[str] = set()
        supplier_id, reach = prep.supplier.id, prep.profile.reach
        for group in prep.profile.groups:
            for c, d in nearest[(supplier_id, reach, group)]:
                if c.id not in seen:
                    seen.add(c.id)
                    out.append((c, d))
        return out

    def find_nearest(self, preps: list[_Prep]) -> _Nearest:
        """The nearest companies of other parks in each group of :attr:`_Profile.groups` (at
        most :data:`CROSS_PARK_NEAREST`, nearest first, then by id), for the suppliers of these
        supplies, by (supplier, reach, group); the suppliers of a park that look in the same cells
        for the same group are done as one array."""
        if self._by_park is None:
            self._index()
        assert self._by_park is not None
        nearest: _Nearest = {}
        if len(self._by_park) == 1:
            return nearest
        pending: dict[tuple[Any, ...], dict[str, tuple[float, float]]] = defaultdict(dict)
        cells: dict[tuple[str, float], tuple[int, int, int, int]] = {}
        for prep in preps:
            if prep.here is None:
                continue
            reach, supplier = prep.profile.reach, prep.supplier
            cell = cells.get((supplier.id, reach))
            if cell is None:
                cell = cells[(supplier.id, reach)] = _cells_within(prep.here, reach)
            for group in prep.profile.groups:
                # Of a sector: those in the grid cells within reach; posting a demand or running
                # a process that takes the resource: all.
                group_key = (*cell, group) if group[0] == "sector" else (group,)
                pending[(group_key, reach, supplier.park)][supplier.id] = prep.here
        for (group_key, reach, park_id), suppliers in pending.items():
            group = group_key[-1]
            companies, locs, parks = self._group_members(group_key)
            if not companies:
                for supplier_id in suppliers:
                    nearest[(supplier_id, reach, group)] = []
                continue
            heres = np.array(list(suppliers.values()), dtype=float)
            # Only the companies of other parks that may be among the nearest of some supplier.
            near = np.flatnonzero(parks != self._park_number[park_id])
            near = near[_may_be_nearest(heres, locs[near], reach, CROSS_PARK_NEAREST)]
            dist = haversine_rows(heres, locs[near])
            dist[dist > reach] = np.inf
            rows, cols = np.nonzero(_nearest_mask(dist, CROSS_PARK_NEAREST))
            chosen: dict[int, list[tuple[float, str, int]]] = defaultdict(list)
            for r, c, d in zip(
                rows.tolist(), cols.tolist(), dist[rows, cols].tolist(), strict=True
            ):
                k = int(near[c])
                chosen[r].append((d, companies[k].id, k))
            for r, supplier_id in enumerate(suppliers):
                best = sorted(chosen.get(r, ()))[:CROSS_PARK_NEAREST]
                nearest[(supplier_id, reach, group)] = [(companies[k], d) for d, _, k in best]
        return nearest

    def _group_members(self, key: tuple[Any, ...]) -> tuple[list[Company], np.ndarray, np.ndarray]:
        """The companies of a group, with their places and (numbered) parks: of a sector (``key`` is
        :func:`_cells_within` and the group), those in the grid cells; posting a demand of a class,
        or whose name names a process that takes the class (``key`` is the group), all."""
        assert self._grid is not None and self._demand_classes is not None
        cached = self._group_cache.get(key)
        if cached is not None:
            return cached
        group = key[-1]
        if group[0] == "sector":
            i0, j0, dlat, dlon, _ = key
            found: list[Company] = []
            for i in range(i0 - dlat, i0 + dlat + 1):
                for j in range(j0 - dlon, j0 + dlon + 1):
                    found.extend(self._grid.get((i, j, group[1]), ()))
        elif group[0] == "takes":
            takers = sorted(self.matcher.takers.get(group[1], ()))
            found = list(
                {
                    c.id: c
                    for pid in takers
                    for c in self._process_companies.get(pid, ())
                    if self.location(c) is not None
                }.values()
            )
        else:
            found = [
                c for c in self._demand_classes.get(group[1], []) if self.location(c) is not None
            ]
        locs = np.array([self.location(c) for c in found], dtype=float).reshape(-1, 2)
        parks = np.array([self._park_number[c.park] for c in found], dtype=int)
        cached = self._group_cache[key] = (found, locs, parks)
        return cached

    # -- words and fits ---------------------------------------------------------------------

    def demand_fit(self, profile: _Profile, d: Stream) -> tuple[float, str]:
        """How well a posted demand fits a supply: same class, same family, or similar words."""
        dhits = self.hits(d)
        if profile.hits and dhits:
            classes = self.matcher.classifier.classes
            shits = profile.confidence
            for h in dhits:
                if h.class_id in shits:
                    return P_DEMAND * min(
                        1.0, 0.5 + 0.5 * h.confidence * shits[h.class_id]
                    ), f"asks for {classes[h.class_id].label_en.lower()}"
            for h in dhits:
                if classes[h.class_id].family in profile.families:
                    return 0.6 * P_DEMAND, f"asks for {classes[h.class_id].family} like this"
        a, b = profile.toks, self.tokens(d)
        if profile.kind == "material" and d.kind == "energy" and b & FUEL_WORDS:
            fuel = profile.fuel
            if fuel is not None:
                label = self.matcher.classifier.classes[fuel.class_id].label_en.lower()
                return (
                    0.7 * P_DEMAND * fuel.confidence,
                    f"asks for fuel; {label} is a documented fuel",
                )
        if a and b:
            overlap = len(a & b) / math.sqrt(len(a) * len(b))
            if overlap >= 0.3:
                return (
                    P_DEMAND_TEXT * overlap,
                    f"shares words with it ({', '.join(sorted(a & b)[:3])})",
                )
        return 0.0, ""

    def company_tokens(self, company: Company) -> frozenset[str]:
        if company.id not in self._company_tokens:
            self._company_tokens[company.id] = (
                frozenset(content_tokens(f"{company.name} {company.description or ''}"))
                - GENERIC_COMPANY_WORDS
            )
        return self._company_tokens[company.id]

    def company_words(self, profile: _Profile, company: Company) -> _CompanyWords:
        """The documented receivers' words in a company's description, and the word features
        (worked out once per resource and set of words)."""
        ctoks = self.company_tokens(company)
        if not ctoks:
            return [], 0.0, 0.0
        key = (profile.resource_id, ctoks)
        cached = self._company_words.get(key)
        if cached is None:
            # sorted: the same words in the same order whatever the process's hash seed
            words = [profile.word_map[t] for t in sorted(ctoks) if t in profile.word_map]
            words_p = _noisy_or(p for p, _ in words) if words else 0.0
            cached = (words, words_p, self.text_similarity(profile.toks, company))
            self._company_words[key] = cached
        return cached

    def company_processes(self, company: Company) -> tuple[_Named, tuple[Process, ...]]:
        """The processes a company's name names (counting 1) or only its description does
        (counting :data:`DESCRIPTION_WEIGHT`: a description also speaks of customers and
        suppliers), and the processes of its sector."""
        found = self._processes.get(company.id)
        if found is None:
            index = self.matcher.process_index
            in_name = index.named(company.name)
            in_text = index.named(company.description or "") if company.description else ()
            named = tuple((p, 1.0) for p in in_name) + tuple(
                (p, DESCRIPTION_WEIGHT) for p in in_text if p not in in_name
            )
            found = self._processes[company.id] = (named, index.of_sector(self.sector(company)))
        return found

    def process_fit(self, profile: _Profile, company: Company) -> _ProcessFit:
        """The ``process`` and ``process_sector`` features of a company for a resource (worked
        out once per resource and the processes concerned)."""
        named, of_sector = self.company_processes(company)
        if not profile.hits or not (named or of_sector):
            return NO_PROCESS
        key = (profile.resource_id, named, () if named else of_sector)
        fit = self._process_fits.get(key)
        if fit is None:
            classes = self.matcher.classifier.classes
            if named:
                best: tuple[float, Process | None, ProcessInput | None] = (0.0, None, None)
                recovers = False
                for p, weight in named:
                    value, found = p.takes(profile.hits, classes)
                    if found is not None:
                        recovers = recovers or (found.recovery is not None and weight == 1.0)
                        if value * weight > best[0]:
                            best = (value * weight, p, found)
                value, proc, inp = best
                hit = _hit_taken(profile.hits, inp, classes)
                recovers = recovers and self.matcher.limits.hazardous_by_process
                fit = _ProcessFit(value, 0.0, proc, inp, hit, recovers)
            else:
                taken = [(p, *p.takes(profile.hits, classes)) for p in of_sector]
                share = sum(v for _, v, _ in taken) / len(taken)
                first = next(((p, i) for p, v, i in taken if i is not None), (None, None))
                fit = _ProcessFit(
                    0.0, share, first[0], first[1], _hit_taken(profile.hits, first[1], classes)
                )
            self._process_fits[key] = fit
        return fit

    def text_similarity(self, toks: frozenset[str], company: Company) -> float:
        other = self.company_tokens(company)
        if not toks or not other:
            return 0.0
        return len(toks & other) / math.sqrt(len(toks) * len(other))


def _hit_taken(
    hits: list[ClassHit], taken: ProcessInput | None, classes: dict[str, Any]
) -> str | None:
    """The class of ``hits`` that a process input concerns (directly or by its family)."""
    if taken is None:
        return None
    for h in hits:
        if (not taken.family and h.class_id == taken.resource) or (
            taken.family and classes[h.class_id].family == taken.resource
        ):
            return h.class_id
    return None


def match_park(
    park: ParkFile,
    *,
    top: int = 5,
    kb_exclude: Iterable[str] = (),
    limits: rules.Limits | None = None,
) -> list[Match]:
    """Ranked receivers for every supply of ``park`` (a library call on a park held in memory)."""
    kb = default_knowledge().exclude(kb_exclude)
    return Matcher(knowledge=kb, limits=limits or rules.Limits()).match(park, top=top)
