"""Evaluate the candidate links of a park: each match, its low-high range, park totals.

Park totals count, for each supply, its best viable link only (the one with the largest net
benefit), so one tonne is never counted twice; sharing a supply or a demand among several partners
is the optimizer's job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from symbiolink.accounting.factors import FactorLibrary, default_factors
from symbiolink.accounting.impact import Link, LinkImpact, evaluate
from symbiolink.accounting.policy import Policy
from symbiolink.accounting.roles import Roles
from symbiolink.knowledge import default_knowledge
from symbiolink.knowledge.base import Evidence
from symbiolink.knowledge.classes import default_classifier
from symbiolink.matching.engine import Match
from symbiolink.matching.rules import haversine_km
from symbiolink.model.park import ParkFile

TOTAL_KEYS = (
    "net_benefit_usd_yr", "supplier_usd_yr", "receiver_usd_yr", "co2e_avoided_t_yr", "waste_diverted_t_yr",
    "water_saved_m3_yr", "virgin_material_saved_t_yr", "primary_energy_saved_mwh_yr", "capex_usd",
)  # fmt: skip


@cache
def _routes_by_use() -> dict[str, list[Evidence]]:
    out: dict[str, list[Evidence]] = {}
    for e in default_knowledge().evidence:
        if e.use:
            out.setdefault(e.use, []).append(e)
    return out


@dataclass
class Evaluation:
    impacts: list[LinkImpact]
    chosen: list[LinkImpact]
    policy: Policy
    totals: dict[str, float] = field(default_factory=dict)

    @property
    def viable(self) -> list[LinkImpact]:
        return [i for i in self.impacts if i.viable]

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": {k: v for k, v in vars(self.policy).items() if v not in (None, {}, 0.0)},
            "links": [i.to_dict() for i in self.impacts],
            "totals": {
                "links": len(self.impacts),
                "viable_links": len(self.viable),
                "supplies_with_a_viable_link": len(self.chosen),
                **{k: round(v, 1) for k, v in self.totals.items()},
            },
        }


def link_for(park: ParkFile, match: Match) -> Link:
    """The :class:`Link` a match proposes, with the supply's resource class and the route's ratio."""
    streams = {s.id: s for s in park.streams}
    companies = {c.id: c for c in park.companies}
    parks = {p.id: p for p in park.parks}
    supply = streams[match.supply]
    supplier = companies[supply.company]
    receiver = companies[match.receiver]
    classes = default_classifier().classes
    hits = default_classifier().classify(
        name=supply.name, description=supply.description or "", ewc=supply.ewc, kind=None
    )
    # Only classes of the stream's own kind: a sludge whose words also name wastewater is not water.
    hit_ids = [h.class_id for h in hits if classes[h.class_id].kind == supply.kind]
    route = None
    for e in _routes_by_use().get(match.use, []):
        if e.class_id in hit_ids or route is None:
            route = e
            if e.class_id in hit_ids:
                break
    class_id = (
        route.class_id
        if route is not None and route.class_id in hit_ids
        else (hit_ids[0] if hit_ids else None)
    )
    distance = match.distance_km
    if distance is None:
        distance = haversine_km(park.location_of(supplier), park.location_of(receiver))
    return Link(
        supply=supply,
        supplier=supplier,
        receiver=receiver,
        demand=streams.get(match.demand) if match.demand else None,
        distance_km=distance,
        class_id=class_id,
        family=classes[class_id].family if class_id in classes else None,
        use=match.use,
        substitution_ratio=route.substitution_ratio if route is not None else None,
        region=parks[supplier.park].country if supplier.park in parks else None,
        receiver_isic=receiver.sector_isic(),
    )


def _with_range(link: Link, roles: Roles, policy: Policy) -> LinkImpact:
    """Central values plus the low and high ends: every ranged factor at the side that lowers
    (raises) the net benefit, found one factor at a time; CO2e the same way."""
    central = evaluate(link, roles, policy)
    if central.net_benefit_usd_yr is None:
        return central
    ranged = {
        rv.factor_id: rv
        for rv in central.factors.values()
        if rv.low is not None or rv.high is not None
    }
    sides: dict[str, dict[str, tuple[float, float]]] = {"net": {}, "co2": {}}
    for fid, rv in ranged.items():
        lo = (rv.low if rv.low is not None else rv.central) / rv.multiplier
        hi = (rv.high if rv.high is not None else rv.central) / rv.multiplier
        at_lo = evaluate(link, roles, policy, draws={fid: lo})
        at_hi = evaluate(link, roles, policy, draws={fid: hi})
        for key, attr in (("net", "net_benefit_usd_yr"), ("co2", "co2e_avoided_t_yr")):
            worse_lo = getattr(at_lo, attr) <= getattr(at_hi, attr)
            sides[key][fid] = (lo, hi) if worse_lo else (hi, lo)
    for key, attr in (("net", "net_benefit_usd_yr"), ("co2", "co2e_avoided_t_yr")):
        low = evaluate(link, roles, policy, draws={f: s[0] for f, s in sides[key].items()})
        high = evaluate(link, roles, policy, draws={f: s[1] for f, s in sides[key].items()})
        central.low[key] = float(getattr(low, attr))
        central.high[key] = float(getattr(high, attr))
    return central


def _monte_carlo(
    link: Link,
    roles: Roles,
    policy: Policy,
    impact: LinkImpact,
    samples: int,
    rng: np.random.Generator,
) -> None:
    """Triangular draws (low, central, high) of every ranged factor; p10, p50 and p90 of the results."""
    draws: dict[str, Any] = {}
    for rv in impact.factors.values():
        if rv.low is None and rv.high is None:
            continue
        c = rv.central / rv.multiplier
        lo = (rv.low if rv.low is not None else rv.central) / rv.multiplier
        hi = (rv.high if rv.high is not None else rv.central) / rv.multiplier
        draws[rv.factor_id] = rng.triangular(lo, c, hi, samples) if hi > lo else np.full(samples, c)
    out = evaluate(link, roles, policy, draws=draws)
    for attr in ("net_benefit_usd_yr", "co2e_avoided_t_yr"):
        values = np.broadcast_to(np.asarray(getattr(out, attr), dtype=float), (samples,))
        p10, p50, p90 = np.percentile(values, [10, 50, 90])
        impact.samples[attr] = {"p10": float(p10), "p50": float(p50), "p90": float(p90)}


def evaluate_park(
    park: ParkFile,
    matches: Sequence[Match],
    policy: Policy | None = None,
    *,
    library: FactorLibrary | None = None,
    samples: int = 0,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Evaluation:
    """Evaluate every match of a park under ``policy``; ``samples`` > 0 adds a Monte Carlo run."""
    policy = policy or Policy()
    library = library or default_factors()
    roles_cache: dict[object, Roles] = {}
    rng = np.random.default_rng(seed)
    impacts: list[LinkImpact] = []
    for n, m in enumerate(matches, start=1):
        link = link_for(park, m)
        roles = policy.roles(library, link.region, link.supplier.park, roles_cache)
        impact = _with_range(link, roles, policy)
        if samples and impact.net_benefit_usd_yr is not None:
            _monte_carlo(link, roles, policy, impact, samples, rng)
        impacts.append(impact)
        if progress:
            progress(n, len(matches))
    chosen = best_per_supply(impacts)
    totals = {
        k: float(sum(float(getattr(i, k)) for i in chosen if getattr(i, k) is not None))
        for k in TOTAL_KEYS
    }
    return Evaluation(impacts=impacts, chosen=chosen, policy=policy, totals=totals)


def central_impacts(
    park: ParkFile, matches: Sequence[Match], policy: Policy | None = None
) -> list[LinkImpact]:
    """Central estimates only (no range), one per match, for the ``impact`` block of matches."""
    policy = policy or Policy()
    library = default_factors()
    roles_cache: dict[object, Roles] = {}
    out = []
    for m in matches:
        link = link_for(park, m)
        out.append(
            evaluate(
                link, policy.roles(library, link.region, link.supplier.park, roles_cache), policy
            )
        )
    return out


def best_per_supply(impacts: Iterable[LinkImpact]) -> list[LinkImpact]:
    """For each supply, its viable link with the largest net benefit."""
    best: dict[str, LinkImpact] = {}
    for i in impacts:
        if i.viable and (
            i.supply not in best or i.net_benefit_usd_yr > best[i.supply].net_benefit_usd_yr
        ):
            best[i.supply] = i
    return list(best.values())
