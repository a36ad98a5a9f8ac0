"""The matcher: for every supply stream, ranked receivers with reasons and sources.

Candidates come from (a) posted demands that fit, (b) companies whose sector the knowledge base
names as a user of the resource, and (c) text similarity as a last resort. Hard rules
(:mod:`symbiolink.matching.rules`) remove what cannot work. The score combines the independent
pieces of evidence as a noisy-or: each piece ``i`` alone would make the link plausible with
probability ``p_i``, and the score is ``1 - prod(1 - p_i)``, in 0..1.

Work is blocked so that cost grows with the number of streams, not with pairs: the knowledge score
of a receiving sector is computed once per (resource classes, donor sector), and only companies
within the distance limit of the stream's kind (a spatial grid) are considered.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from symbiolink.codes.ewc import ewc_lookup
from symbiolink.knowledge.base import Evidence, KnowledgeBase, default_knowledge
from symbiolink.knowledge.classes import ClassHit, Classifier, default_classifier
from symbiolink.knowledge.text import content_tokens
from symbiolink.matching import rules
from symbiolink.model.park import Company, ParkFile, Stream

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
    "demand",
    "text",
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


class _Routes(dict[str, _SectorEvidence]):
    """Knowledge per receiving sector for one resource, with the sector part of the logit cached
    per (donor sector, kind)."""

    def __init__(self) -> None:
        super().__init__()
        self.static: dict[tuple[str | None, str], dict[str, float]] = {}


@dataclass
class Matcher:
    """Match supplies to receivers with one knowledge base and classifier.

    The score of a (supply, receiver) pair is a logistic function of :data:`FEATURES`:

    * ``route``: documented exchanges of the same resource (class, family or EWC code) to the
      receiver's sector, combined as a noisy-or;
    * ``text_route``: documented exchanges described in similar words, to the receiver's sector;
    * ``receiver_words``: documented receivers of the resource described in the receiver's words
      (``cement production``, ``urban entity``), which also reaches companies with no sector code;
    * ``pair``: how often the donor's and receiver's sectors are documented partners (any resource);
    * ``kind_sector``: how often the receiver's sector takes resources of this kind;
    * ``popularity``: how often the receiver's sector receives anything;
    * ``demand``: how well a posted demand of the receiver fits;
    * ``text``: the receiver's own description resembles the supply;
    * ``distance``: the distance as a share of the kind's limit.
    """

    knowledge: KnowledgeBase = field(default_factory=default_knowledge)
    classifier: Classifier = field(default_factory=default_classifier)
    limits: rules.Limits = field(default_factory=rules.Limits)
    weights: dict[str, float] = field(default_factory=default_weights)

    def __post_init__(self) -> None:
        self._route_cache: dict[tuple[Any, ...], _Routes] = {}
        self._rtok: dict[str, list[str]] = {}
        self._families = {cid: c.family for cid, c in self.classifier.classes.items()}
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
        sectors: Iterable[str],
    ) -> _Routes:
        """For each receiving sector present: knowledge scores and the evidence behind them."""
        key = (tuple((h.class_id, h.confidence) for h in hits), ewc, text_tokens, donor)
        cached = self._route_cache.get(key)
        if cached is not None:
            return cached
        by_code = self._evidence_for(hits, ewc)
        by_text = self._text_evidence(text_tokens)
        out = _Routes()
        for sector in sectors:
            se = _SectorEvidence()
            same_donor: list[float] = []
            for source, attr in ((by_code, "route"), (by_text, "text_route")):
                ps = []
                for e, w in source:
                    sim = _best_sector(e.receiver_isic, sector)
                    if sim <= 0:
                        continue
                    donor_fits = bool(e.donor_isic) and _best_sector(e.donor_isic, donor) >= 0.5
                    d = 1.0 if donor_fits or not e.donor_isic else DONOR_MISMATCH
                    p = P_ROUTE * w * sim * d
                    ps.append(p)
                    if donor_fits:
                        same_donor.append(p)
                    se.evidence.append((p, e))
                setattr(se, attr, _noisy_or(ps))
            se.route_donor = _noisy_or(same_donor)
            if se.evidence:
                se.evidence.sort(key=lambda x: (-x[0], x[1].id))
                out[sector] = se
        self._route_cache[key] = out
        return out

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
        """Ranked receivers for every supply stream of ``park``."""
        ctx = _Context(park, self)
        out: list[Match] = []
        supplies = [s for s in park.streams if s.direction == "supply"]
        for i, s in enumerate(supplies):
            candidates = self.candidates(ctx, s)
            for rank, (cand, score) in enumerate(
                diversified(candidates, top=top, min_score=min_score), start=1
            ):
                sc = self.explain(ctx, s, cand)
                out.append(
                    Match(
                        s.id,
                        cand.company.id,
                        sc.demand,
                        rank,
                        score,
                        sc.use,
                        sc.reasons,
                        sc.sources,
                        cand.distance,
                    )
                )
            if progress and (i % 500 == 0 or i == len(supplies) - 1):
                progress(i + 1, len(supplies))
        return out

    def match_demands(
        self, park: ParkFile, *, top: int = 5, min_score: float = 0.05
    ) -> list[DemandMatch]:
        """For every demand stream: the supplies of other companies that could meet it, best first."""
        ctx = _Context(park, self)
        by_demand: dict[str, list[tuple[float, Stream, _Candidate]]] = defaultdict(list)
        for s in park.streams:
            if s.direction != "supply":
                continue
            for cand in self.candidates(ctx, s):
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

    def candidates(self, ctx: _Context, s: Stream) -> list[_Candidate]:
        """Every admissible receiver of a supply, with its score.

        Blocking: all companies of the supplier's park, plus, from other parks within the kind's
        distance limit, the nearest few companies of each sector the knowledge names as a user and
        the nearest few that post a demand of the same resource. Cost grows with the number of
        streams, not with pairs. What depends only on the receiver's sector is summed once per
        (resource, donor sector, kind) and sector.
        """
        supplier = ctx.companies[s.company]
        hits = ctx.hits(s)
        ewc = ctx.ewc(s)
        hazardous = ctx.hazardous(s)
        toks = ctx.tokens(s)
        donor = ctx.sector(supplier)
        here = ctx.location(supplier)
        sector_ev = self.sector_evidence(hits, ewc, toks, donor, ctx.all_sectors)
        word_map = self.receiver_word_map(hits, ewc, toks)
        static = self._static_scores(sector_ev, donor, s.kind)
        w = self.weights
        w_words, w_text, w_dist, w_demand = (
            w.get(k, 0.0) for k in ("receiver_words", "text", "distance", "demand")
        )
        limit = self.limits.max_distance_km.get(s.kind) or 1.0
        out: list[_Candidate] = []
        for company, distance in ctx.block(supplier, here, s.kind, self.limits, sector_ev, hits):
            if company.id == supplier.id:
                continue
            sector = ctx.sector(company)
            if hazardous and rules.hazardous_problem(True, sector, self.limits):
                continue
            if distance is not None and distance > limit:
                continue
            z = static.get(sector or "")
            if z is None:
                z = static[sector or ""] = self._static_z(
                    sector_ev.get(sector) if sector else None, donor, s.kind, sector
                )
            demand: tuple[float, Stream, str] | None = None
            for d in ctx.demands.get(company.id, ()):
                if not rules.kinds_fit(s.kind, d.kind):
                    continue
                if rules.temperature_problem(s, d, self.limits) or rules.contaminant_problem(s, d):
                    continue
                fit, why = ctx.demand_fit(s, hits, d)
                if fit > 0 and (demand is None or fit > demand[0]):
                    demand = (fit, d, why)
            words = [word_map[t] for t in ctx.company_tokens(company) if t in word_map]
            words_p = _noisy_or(p for p, _ in words) if words else 0.0
            text = ctx.text_similarity(toks, company)
            z += w_words * words_p + w_text * text
            if distance is not None:
                z += w_dist * min(1.0, distance / limit)
            if demand is not None:
                z += w_demand * demand[0]
            score = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
            out.append(
                _Candidate(
                    company,
                    sector,
                    distance,
                    score,
                    demand,
                    sector_ev.get(sector) if sector else None,
                    words,
                    words_p,
                    text,
                )
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
            "demand": cand.demand[0] if cand.demand else 0.0,
            "text": cand.text,
            "distance": min(1.0, cand.distance / limit) if cand.distance is not None else 0.0,
        }

    def explain(self, ctx: _Context, s: Stream, cand: _Candidate) -> _Scored:
        """Reasons in plain words, the sources and the use, for one candidate."""
        reasons: list[str] = []
        hits = ctx.hits(s)
        if hits:
            h = hits[0]
            reasons.append(
                f"{s.name!r} is {self.classifier.classes[h.class_id].label_en.lower()} ({h.reason})"
            )
        if ctx.hazardous(s):
            reasons.append(f"EWC {ctx.ewc(s)} is hazardous; ISIC {cand.sector} may take it")
        use = ""
        demand_id = None
        sources: list[str] = []
        if cand.demand is not None:
            _, d, why = cand.demand
            demand_id, use = d.id, d.name
            reasons.append(f"posted demand {d.name!r} ({d.id}) {why}")
        if cand.sector_evidence is not None:
            evidence = cand.sector_evidence.evidence
            e0 = evidence[0][1]
            use = use or e0.use
            for _, e in evidence:
                if e.tag not in sources:
                    sources.append(e.tag)
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
        donor = ctx.sector(ctx.companies[s.company])
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


@dataclass
class _Candidate:
    company: Company
    sector: str | None
    distance: float | None
    score: float
    demand: tuple[float, Stream, str] | None
    sector_evidence: _SectorEvidence | None
    words: list[tuple[float, Evidence]]
    words_p: float
    text: float


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

    def __init__(self, park: ParkFile, matcher: Matcher) -> None:
        self.park = park
        self.matcher = matcher
        self.companies = {c.id: c for c in park.companies}
        self.parks = {p.id: p for p in park.parks}
        self.demands: dict[str, list[Stream]] = defaultdict(list)
        for s in park.streams:
            if s.direction == "demand":
                self.demands[s.company].append(s)
        self._hits: dict[str, list[ClassHit]] = {}
        self._sector: dict[str, str | None] = {}
        self._loc: dict[str, tuple[float, float] | None] = {}
        self._tokens: dict[str, frozenset[str]] = {}
        self._company_tokens: dict[str, frozenset[str]] = {}
        self._all_sectors: frozenset[str] | None = None
        self._by_park: dict[str, list[Company]] | None = None
        self._grid: dict[tuple[int, int, str], list[Company]] | None = None
        self._demand_classes: dict[str, list[Company]] | None = None
        self._home: dict[str, list[tuple[Company, float | None]]] = {}
        self._fit_cache: dict[tuple[Any, ...], tuple[float, str]] = {}
        self._near_cache: dict[tuple[Any, ...], list[tuple[Company, float]]] = {}

    def stream_company(self, stream_id: str) -> str:
        if not hasattr(self, "_stream_company"):
            self._stream_company = {s.id: s.company for s in self.park.streams}
        return self._stream_company[stream_id]

    def hits(self, s: Stream) -> list[ClassHit]:
        if s.id not in self._hits:
            self._hits[s.id] = self.matcher.classifier.classify(
                name=s.name, description=s.description or "", ewc=s.ewc, kind=None
            )
        return self._hits[s.id]

    def ewc(self, s: Stream) -> str | None:
        entry = ewc_lookup(s.ewc) if s.ewc else None
        return entry.code if entry else None

    def hazardous(self, s: Stream) -> bool:
        entry = ewc_lookup(s.ewc) if s.ewc else None
        return bool(entry and entry.hazardous)

    def tokens(self, s: Stream) -> frozenset[str]:
        if s.id not in self._tokens:
            self._tokens[s.id] = frozenset(content_tokens(f"{s.name} {s.description or ''}"))
        return self._tokens[s.id]

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

    def _index(self) -> None:
        self._by_park = defaultdict(list)
        self._grid = defaultdict(list)
        self._demand_classes = defaultdict(list)
        for c in self.park.companies:
            self._by_park[c.park].append(c)
            loc = self.location(c)
            if loc is not None:
                self._grid[(math.floor(loc[0]), math.floor(loc[1]), self.sector(c) or "")].append(c)
        for cid, demands in self.demands.items():
            for d in demands:
                for h in self.hits(d):
                    self._demand_classes[h.class_id].append(self.companies[cid])

    def block(
        self,
        supplier: Company,
        here: tuple[float, float] | None,
        kind: str,
        limits: rules.Limits,
        sector_ev: dict[str, _SectorEvidence],
        hits: list[ClassHit],
    ) -> list[tuple[Company, float | None]]:
        """Candidate receivers with their distances: the supplier's park, and the nearest few
        companies of other parks in the sectors the knowledge names (and posting demands of the
        same resource), within the kind's distance limit."""
        if self._by_park is None:
            self._index()
        assert (
            self._by_park is not None
            and self._grid is not None
            and self._demand_classes is not None
        )
        home = self._home.get(supplier.id)
        if home is None:
            home = self._home[supplier.id] = [
                (c, rules.haversine_km(here, self.location(c)))
                for c in self._by_park[supplier.park]
            ]
        if here is None or len(self._by_park) == 1:
            return home
        out = list(home)
        seen = {c.id for c, _ in home}
        limit = limits.max_distance_km.get(kind, 20000.0)
        top_sectors = sorted(
            sector_ev.items(), key=lambda kv: (-(kv[1].route + kv[1].text_route), kv[0])
        )[:CROSS_PARK_SECTORS]
        groups = [("sector", sector) for sector, _ in top_sectors] + [
            ("class", h.class_id) for h in hits[:2]
        ]
        for group in groups:
            for c, d in self._nearest(supplier, here, limit, group):
                if c.id not in seen:
                    seen.add(c.id)
                    out.append((c, d))
        return out

    def _nearest(
        self, supplier: Company, here: tuple[float, float], limit: float, group: tuple[str, str]
    ) -> list[tuple[Company, float]]:
        """The nearest companies of other parks in a sector (or posting a demand of a class)."""
        key = (supplier.id, limit, group)
        cached = self._near_cache.get(key)
        if cached is not None:
            return cached
        assert self._grid is not None and self._demand_classes is not None
        if group[0] == "sector":
            dlat = math.ceil(limit / 111.0)
            dlon = math.ceil(
                limit / max(1.0, 111.0 * math.cos(math.radians(min(abs(here[0]), 89.0))))
            )
            i0, j0 = math.floor(here[0]), math.floor(here[1])
            found: list[Company] = []
            for i in range(i0 - dlat, i0 + dlat + 1):
                for j in range(j0 - dlon, j0 + dlon + 1):
                    found.extend(self._grid.get((i, j, group[1]), ()))
        else:
            found = self._demand_classes.get(group[1], [])
        near = []
        for c in found:
            if c.park == supplier.park:
                continue
            d = rules.haversine_km(here, self.location(c))
            if d is not None and d <= limit:
                near.append((d, c.id, c))
        result = [(c, d) for d, _, c in heapq.nsmallest(CROSS_PARK_NEAREST, near)]
        self._near_cache[key] = result
        return result

    def demand_fit(self, s: Stream, hits: list[ClassHit], d: Stream) -> tuple[float, str]:
        """How well a posted demand fits the supply: same class, same family, or similar words."""
        key = (tuple((h.class_id, h.confidence) for h in hits), self.tokens(s), d.id)
        cached = self._fit_cache.get(key)
        if cached is None:
            cached = self._fit_cache[key] = self._demand_fit(s, hits, d)
        return cached

    def _demand_fit(self, s: Stream, hits: list[ClassHit], d: Stream) -> tuple[float, str]:
        dhits = self.hits(d)
        if hits and dhits:
            classes = self.matcher.classifier.classes
            shits = {h.class_id: h.confidence for h in hits}
            for h in dhits:
                if h.class_id in shits:
                    return P_DEMAND * min(
                        1.0, 0.5 + 0.5 * h.confidence * shits[h.class_id]
                    ), f"asks for {classes[h.class_id].label_en.lower()}"
            sf = {classes[c].family for c in shits}
            for h in dhits:
                if classes[h.class_id].family in sf:
                    return 0.6 * P_DEMAND, f"asks for {classes[h.class_id].family} like this"
        a, b = self.tokens(s), self.tokens(d)
        if s.kind == "material" and d.kind == "energy" and b & FUEL_WORDS:
            fuel = next((h for h in hits if h.class_id in self.matcher.fuel_classes), None)
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

    def text_similarity(self, toks: frozenset[str], company: Company) -> float:
        other = self.company_tokens(company)
        if not toks or not other:
            return 0.0
        return len(toks & other) / math.sqrt(len(toks) * len(other))


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
