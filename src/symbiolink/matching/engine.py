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

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from symbiolink.codes.ewc import ewc_lookup
from symbiolink.knowledge.base import Evidence, KnowledgeBase, default_knowledge
from symbiolink.knowledge.classes import ClassHit, Classifier, default_classifier
from symbiolink.matching import rules
from symbiolink.matching.rules import haversine_many
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
        self.static_park: dict[tuple[str | None, str, str], np.ndarray] = {}
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
    * ``same_sector``, ``kind_sector``, ``popularity``: sector priors;
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
            candidates = self.candidates(ctx, s, top=top)
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
        prep = self._prepare(ctx, s)
        home = ctx.park_arrays(prep.supplier.park)
        z, demands, words_p, text, dist = self._home_logits(ctx, s, prep, home)
        score = 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
        valid = np.flatnonzero(np.isfinite(z))
        order = valid[np.lexsort((home.id_rank[valid], -score[valid]))]
        threshold = -1.0
        if top is not None:
            order, threshold = _shortlist(order, score, home.groups, top)
        out: list[_Candidate] = []
        for pos in order:
            company = home.companies[pos]
            sector = home.sectors[pos] or None
            ctoks = ctx.company_tokens(company)
            words = [prep.word_map[t] for t in ctoks if t in prep.word_map] if ctoks else []
            d = float(dist[pos])
            out.append(
                _Candidate(
                    company,
                    sector,
                    None if math.isnan(d) else d,
                    float(score[pos]),
                    demands.get(int(pos)),
                    prep.sector_ev.get(sector) if sector else None,
                    words,
                    float(words_p[pos]),
                    float(text[pos]),
                )
            )
        for company, distance in ctx.cross_park(
            prep.supplier, prep.here, s.kind, self.limits, prep.sector_ev, prep.hits
        ):
            if threshold > 0 and self._upper_bound(ctx, s, prep, company, distance) < threshold:
                continue  # cannot enter the best ``top`` (see _shortlist)
            cand = self._one(ctx, s, prep, company, distance)
            if cand is not None:
                out.append(cand)
        return out

    def _prepare(self, ctx: _Context, s: Stream) -> _Prep:
        supplier = ctx.companies[s.company]
        hits = ctx.hits(s)
        ewc = ctx.ewc(s)
        toks = ctx.tokens(s)
        donor = ctx.sector(supplier)
        sector_ev = self.sector_evidence(hits, ewc, toks, donor, ctx.all_sectors)
        return _Prep(
            supplier, hits, ewc, ctx.hazardous(s), toks, donor, ctx.location(supplier), sector_ev,
            self.receiver_word_map(hits, ewc, toks), self.limits.max_distance_km.get(s.kind) or 1.0,
            self._static_scores(sector_ev, donor, s.kind),
        )  # fmt: skip

    def _static_for(self, prep: _Prep, kind: str, sector: str | None) -> float:
        z = prep.static.get(sector or "")
        if z is None:
            se = prep.sector_ev.get(sector) if sector else None
            z = prep.static[sector or ""] = self._static_z(se, prep.donor, kind, sector)
        return z

    def _home_logits(
        self, ctx: _Context, s: Stream, prep: _Prep, home: _ParkArrays
    ) -> tuple[
        np.ndarray, dict[int, tuple[float, Stream, str]], np.ndarray, np.ndarray, np.ndarray
    ]:
        """Logits of every company of the supplier's park (``-inf`` where a rule forbids it)."""
        w = self.weights
        n = len(home.companies)
        key = (prep.donor, s.kind, prep.supplier.park)
        z = prep.sector_ev.static_park.get(key)
        if z is None:
            z = np.array(
                [self._static_for(prep, s.kind, sec or None) for sec in home.sectors], dtype=float
            )
            prep.sector_ev.static_park[key] = z
        z = z.copy()
        dist = ctx.home_distances(prep.supplier, prep.here, home)
        known = np.nan_to_num(dist, nan=0.0)
        frac = np.minimum(1.0, known / prep.limit)
        z += w.get("distance", 0.0) * frac
        words_p = np.zeros(n)
        if prep.word_map:
            logq = np.zeros(n)
            for t, (p, _) in prep.word_map.items():
                idx = home.token_index.get(t)
                if idx is not None:
                    logq[idx] += math.log1p(-min(p, 0.999))
            words_p = -np.expm1(logq)
            z += w.get("receiver_words", 0.0) * words_p
        text = np.zeros(n)
        if prep.toks:
            overlap = np.zeros(n)
            for t in prep.toks:
                idx = home.token_index.get(t)
                if idx is not None:
                    overlap[idx] += 1.0
            with np.errstate(divide="ignore", invalid="ignore"):
                text = np.where(
                    home.token_counts > 0,
                    overlap / np.sqrt(home.token_counts * len(prep.toks)),
                    0.0,
                )
            z += w.get("text", 0.0) * text
        demands: dict[int, tuple[float, Stream, str]] = {}
        w_demand = w.get("demand", 0.0)
        hits = prep.hits
        for pos, company_demands in ctx.fitting_demands(s, hits, home):
            best: tuple[float, Stream, str] | None = None
            for d in company_demands:
                fit, why = ctx.admissible_fit(s, hits, d)
                if fit > 0 and (best is None or fit > best[0]):
                    best = (fit, d, why)
            if best is not None:
                demands[pos] = best
                z[pos] += w_demand * best[0]
        z[home.position[prep.supplier.id]] = -np.inf
        if prep.hazardous:
            z[~home.hazardous_ok] = -np.inf
        z[known > prep.limit] = -np.inf
        return z, demands, words_p, text, dist

    def _upper_bound(
        self, ctx: _Context, s: Stream, prep: _Prep, company: Company, distance: float | None
    ) -> float:
        """A score no lower than :meth:`_one`'s, from what is cheap to know: the sector part and the
        distance exactly, the words, text and demand parts at their largest possible values."""
        w = self.weights
        z = self._static_for(prep, s.kind, ctx.sector(company))
        if distance is not None:
            z += w.get("distance", 0.0) * min(1.0, distance / prep.limit)
        ctoks = ctx.company_tokens(company)
        if ctoks & prep.word_map.keys():
            z += max(0.0, w.get("receiver_words", 0.0))
        if ctoks & prep.toks:
            z += max(0.0, w.get("text", 0.0))
        if ctx.demands.get(company.id):
            z += max(0.0, w.get("demand", 0.0)) * P_DEMAND
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def _one(
        self, ctx: _Context, s: Stream, prep: _Prep, company: Company, distance: float | None
    ) -> _Candidate | None:
        """One candidate scored on its own (companies of other parks); the same sums as the arrays."""
        if company.id == prep.supplier.id:
            return None
        sector = ctx.sector(company)
        if prep.hazardous and rules.hazardous_problem(True, sector, self.limits):
            return None
        if distance is not None and distance > prep.limit:
            return None
        w = self.weights
        z = self._static_for(prep, s.kind, sector)
        if distance is not None:
            z += w.get("distance", 0.0) * min(1.0, distance / prep.limit)
        ctoks = ctx.company_tokens(company)
        words = [prep.word_map[t] for t in ctoks if t in prep.word_map] if ctoks else []
        words_p = _noisy_or(p for p, _ in words) if words else 0.0
        text = ctx.text_similarity(prep.toks, company) if ctoks else 0.0
        z += w.get("receiver_words", 0.0) * words_p + w.get("text", 0.0) * text
        demand: tuple[float, Stream, str] | None = None
        for d in ctx.demands.get(company.id, ()):
            fit, why = ctx.admissible_fit(s, prep.hits, d)
            if fit > 0 and (demand is None or fit > demand[0]):
                demand = (fit, d, why)
        if demand is not None:
            z += w.get("demand", 0.0) * demand[0]
        score = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
        se = prep.sector_ev.get(sector) if sector else None
        return _Candidate(company, sector, distance, score, demand, se, words, words_p, text)

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
class _Prep:
    """What a supply's scoring needs, worked out once."""

    supplier: Company
    hits: list[ClassHit]
    ewc: str | None
    hazardous: bool
    toks: frozenset[str]
    donor: str | None
    here: tuple[float, float] | None
    sector_ev: _Routes
    word_map: dict[str, tuple[float, Evidence]]
    limit: float
    static: dict[str, float]


@dataclass
class _ParkArrays:
    """A park's companies as arrays, for scoring all of them at once."""

    companies: list[Company]
    sectors: list[str]
    position: dict[str, int]
    id_rank: np.ndarray
    groups: list[str]
    token_index: dict[str, np.ndarray]
    token_counts: np.ndarray
    demand_positions: list[tuple[int, list[Stream]]]
    hazardous_ok: np.ndarray
    locations: np.ndarray


def _top_sectors(sector_ev: _Routes) -> list[tuple[str, _SectorEvidence]]:
    """The sectors with the strongest knowledge for a resource (computed once per resource)."""
    if sector_ev.top is None:
        sector_ev.top = sorted(
            sector_ev.items(), key=lambda kv: (-(kv[1].route + kv[1].text_route), kv[0])
        )[:CROSS_PARK_SECTORS]
    return sector_ev.top


def _shortlist(
    order: np.ndarray, score: np.ndarray, groups: list[str], top: int
) -> tuple[np.ndarray, float]:
    """The candidates :func:`diversified` may still pick for the best ``top``: each pick's adjusted
    score is at least the ``top``-th best score among the sector groups' leaders, so lower ones,
    and more than ``top`` per group, can go."""
    leaders: list[float] = []
    seen: set[str] = set()
    for pos in order:
        g = groups[pos]
        if g not in seen:
            seen.add(g)
            leaders.append(float(score[pos]))
            if len(leaders) == top:
                break
    threshold = leaders[-1] if len(leaders) == top else -1.0
    kept: list[int] = []
    per_group: dict[str, int] = defaultdict(int)
    for pos in order:
        if score[pos] < threshold:
            break
        g = groups[pos]
        if per_group[g] < top:
            per_group[g] += 1
            kept.append(int(pos))
    return np.array(kept, dtype=int), threshold


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
        self._home: dict[str, np.ndarray] = {}
        self._arrays: dict[str, _ParkArrays] = {}
        self._demand_index: dict[int, dict[tuple[str, str], list[tuple[int, Stream]]]] = {}
        self._fit_cache: dict[tuple[Any, ...], tuple[float, str]] = {}
        self._admissible: dict[tuple[str, str], tuple[float, str]] = {}
        self._near_cache: dict[tuple[Any, ...], list[tuple[Company, float]]] = {}
        self._group_cache: dict[tuple[Any, ...], tuple[list[Company], np.ndarray, np.ndarray]] = {}

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
        permitted = self.matcher.limits.hazardous_receivers
        locs = np.array(
            [self.location(c) or (math.nan, math.nan) for c in companies], dtype=float
        ).reshape(-1, 2)
        arrays = _ParkArrays(
            companies=companies,
            sectors=sectors,
            position={c.id: i for i, c in enumerate(companies)},
            id_rank=id_rank,
            groups=[(sec or "?")[:3] for sec in sectors],
            token_index={t: np.array(ix, dtype=int) for t, ix in token_lists.items()},
            token_counts=counts,
            demand_positions=[
                (i, self.demands[c.id]) for i, c in enumerate(companies) if self.demands.get(c.id)
            ],
            hazardous_ok=np.array(
                [bool(sec) and sec.startswith(permitted) for sec in sectors], dtype=bool
            ),
            locations=locs,
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

    def cross_park(
        self,
        supplier: Company,
        here: tuple[float, float] | None,
        kind: str,
        limits: rules.Limits,
        sector_ev: _Routes,
        hits: list[ClassHit],
    ) -> list[tuple[Company, float | None]]:
        """Candidates from other parks, with their distances: the nearest few companies of each
        sector the knowledge names (and posting demands of the same resource), within the kind's
        distance limit."""
        if self._by_park is None:
            self._index()
        assert self._by_park is not None
        if here is None or len(self._by_park) == 1:
            return []
        out: list[tuple[Company, float | None]] = []
        seen: set[str] = set()
        limit = limits.max_distance_km.get(kind, 20000.0)
        top_sectors = _top_sectors(sector_ev)
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
        companies, locs, parks = self._group_arrays(here, limit, group)
        result: list[tuple[Company, float]] = []
        if companies:
            dist = haversine_many(here, locs)
            dist[parks == supplier.park] = np.inf
            ok = np.flatnonzero(dist <= limit)
            if len(ok) > CROSS_PARK_NEAREST:
                ok = ok[np.argpartition(dist[ok], CROSS_PARK_NEAREST - 1)[:CROSS_PARK_NEAREST]]
            near = sorted((float(dist[k]), companies[k].id, int(k)) for k in ok)
            result = [(companies[k], d) for d, _, k in near]
        self._near_cache[key] = result
        return result

    def _group_arrays(
        self, here: tuple[float, float], limit: float, group: tuple[str, str]
    ) -> tuple[list[Company], np.ndarray, np.ndarray]:
        """Companies (with places and parks) of a sector in the grid cells within ``limit``, or
        posting a demand of a class; shared by all suppliers in the same cell."""
        assert self._grid is not None and self._demand_classes is not None
        if group[0] == "sector":
            dlat = math.ceil(limit / 111.0)
            dlon = math.ceil(
                limit / max(1.0, 111.0 * math.cos(math.radians(min(abs(here[0]), 89.0))))
            )
            i0, j0 = math.floor(here[0]), math.floor(here[1])
            key: tuple[Any, ...] = (i0, j0, dlat, dlon, group)
        else:
            key = group
        cached = self._group_cache.get(key)
        if cached is not None:
            return cached
        if group[0] == "sector":
            found: list[Company] = []
            for i in range(i0 - dlat, i0 + dlat + 1):
                for j in range(j0 - dlon, j0 + dlon + 1):
                    found.extend(self._grid.get((i, j, group[1]), ()))
        else:
            found = [
                c for c in self._demand_classes.get(group[1], []) if self.location(c) is not None
            ]
        locs = np.array([self.location(c) for c in found], dtype=float).reshape(-1, 2)
        parks = np.array([c.park for c in found], dtype=object)
        cached = self._group_cache[key] = (found, locs, parks)
        return cached

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

    def admissible_fit(self, s: Stream, hits: list[ClassHit], d: Stream) -> tuple[float, str]:
        """:meth:`demand_fit`, or nothing if a hard rule forbids the pair."""
        key = (s.id, d.id)
        cached = self._admissible.get(key)
        if cached is None:
            limits = self.matcher.limits
            if (
                not rules.kinds_fit(s.kind, d.kind)
                or rules.temperature_problem(s, d, limits)
                or rules.contaminant_problem(s, d)
            ):
                cached = (0.0, "")
            else:
                cached = self.demand_fit(s, hits, d)
            self._admissible[key] = cached
        return cached

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
