"""Assess one park: indicators, each criterion met or not, the gaps ranked, and for each gap the
next steps the platform can see (the best candidate links that would close it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from symbiolink.accounting.evaluation import Evaluation
from symbiolink.analytics.links import NetLink, documented_links
from symbiolink.assessment.criteria import Criterion, Outcome, default_criteria, gaps, judge
from symbiolink.assessment.indicators import FROM_EVIDENCE, Indicator, compute
from symbiolink.errors import SymbiolinkError
from symbiolink.model.park import ParkFile


@dataclass
class Assessment:
    park: str
    indicators: dict[str, Indicator]
    outcomes: list[Outcome]
    links: str
    candidates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gaps(self) -> list[Outcome]:
        return gaps(self.outcomes)

    def frameworks(self) -> list[str]:
        return list(dict.fromkeys(o.criterion.framework for o in self.outcomes))

    def to_dict(self) -> dict[str, Any]:
        """CONTRACTS section 5: ``framework`` and ``criteria`` (all frameworks, each criterion naming
        its own), plus the same per framework, the indicators and the ranked gaps."""
        return {
            "framework": "all" if len(self.frameworks()) != 1 else self.frameworks()[0],
            "park": self.park,
            "links": self.links,
            "criteria": [o.to_dict() for o in self.outcomes],
            "frameworks": [
                {
                    "framework": f,
                    "criteria": [o.to_dict() for o in self.outcomes if o.criterion.framework == f],
                }
                for f in self.frameworks()
            ],
            "indicators": {k: v.to_dict() for k, v in self.indicators.items()},
            "gaps": [o.criterion.id for o in self.gaps],
        }


def choose_park(park: ParkFile, park_id: str | None) -> str:
    ids = [p.id for p in park.parks]
    if park_id is None:
        if len(ids) != 1:
            raise SymbiolinkError(
                f"the file has {len(ids)} parks ({', '.join(ids)}); choose one with --park"
            )
        return ids[0]
    if park_id not in ids:
        raise SymbiolinkError(f"no park {park_id!r} in the file (parks: {', '.join(ids)})")
    return park_id


def _candidates(
    park: ParkFile, park_id: str, existing: Sequence[NetLink], evaluation: Evaluation | None = None
) -> list[dict[str, Any]]:
    """Viable proposed links of the park's suppliers that are not operating yet, best first.
    ``evaluation`` (of the park's top-3 matches) is reused when the caller has it already."""
    from symbiolink.accounting.evaluation import evaluate_park
    from symbiolink.matching import Matcher

    members = {c.id for c in park.companies if c.park == park_id}
    names = {c.id: c.name for c in park.companies}
    streams = {s.id: s for s in park.streams}
    done = {(x.supply, x.receiver) for x in existing}
    if evaluation is None:
        matches = Matcher().match(park, top=3)
        evaluation = evaluate_park(
            park, [m for m in matches if streams[m.supply].company in members]
        )
    out = []
    for i in sorted(evaluation.chosen, key=lambda i: -float(i.net_benefit_usd_yr or 0.0)):
        if (i.supply, i.receiver) in done or streams[i.supply].company not in members:
            continue
        s = streams[i.supply]
        out.append({
            "supply": i.supply, "supplier": s.company, "receiver": i.receiver, "kind": s.kind,
            "quantity": i.quantity, "unit": i.unit, "net_benefit_usd_yr": float(i.net_benefit_usd_yr or 0.0),
            "co2e_avoided_t_yr": float(i.co2e_avoided_t_yr or 0.0),
            "text": f"{s.name} of {names.get(s.company, s.company)} to {names.get(i.receiver, i.receiver)} "
                    f"({float(i.net_benefit_usd_yr or 0.0):,.0f} USD/yr, {float(i.co2e_avoided_t_yr or 0.0):,.0f} t CO2e/yr)",
        })  # fmt: skip
    return out


def _steps(o: Outcome, candidates: list[dict[str, Any]], members_without: set[str]) -> list[str]:
    key = o.criterion.evaluation
    if key == "evidence":
        return [f"add a document showing: {o.criterion.indicator}"]
    if key in FROM_EVIDENCE:
        return [
            f"state {FROM_EVIDENCE[key][0]} in the evidence file (indicators.{key}), with its source"
        ]
    pick: list[dict[str, Any]] = []
    if key == "symbiosis_links":
        pick = candidates[:3]
    elif key == "enterprises_in_symbiosis_share":
        pick = [
            c
            for c in candidates
            if c["supplier"] in members_without or c["receiver"] in members_without
        ][:3]
    elif key == "wastewater_reuse_share":
        pick = [c for c in candidates if c["kind"] == "water"][:3]
    elif key in ("waste_recovery_share", "hazardous_waste_managed_share"):
        pick = sorted(
            (c for c in candidates if c["kind"] == "material"), key=lambda c: -(c["quantity"] or 0)
        )[:3]
    if not pick:
        return [
            "no viable candidate link in the registry yet: post the park's wastes and needs, or state prices and disposal costs"
        ]
    head = (
        "one more symbiosis link"
        if key == "symbiosis_links"
        else "the links that would move it most"
    )
    return [f"{head}: the best candidates are " + "; ".join(c["text"] for c in pick)]


def assess_park(
    park: ParkFile,
    park_id: str | None = None,
    *,
    links: Sequence[NetLink] | None = None,
    evidence: dict[str, Any] | None = None,
    criteria: Sequence[Criterion] | None = None,
    frameworks: Sequence[str] | None = None,
    evaluation: Evaluation | None = None,
) -> Assessment:
    """Assess ``park_id`` against the criteria (default: the shipped ones), with its operating
    (documented) links unless ``links`` are given. ``evaluation`` of the park's top-3 matches is
    reused for the next steps when the caller has made it already."""
    pid = choose_park(park, park_id)
    chosen = list(links) if links is not None else documented_links(park)
    evidence = evidence or {}
    crit = [
        c for c in (criteria or default_criteria()) if not frameworks or c.framework in frameworks
    ]
    indicators = compute(park, pid, chosen, evidence)
    outcomes = judge(crit, indicators, evidence)
    members = {c.id for c in park.companies if c.park == pid}
    active = {x.supplier for x in chosen} | {x.receiver for x in chosen}
    candidates: list[dict[str, Any]] = []
    if any(o.met is not True for o in outcomes):
        candidates = _candidates(park, pid, chosen, evaluation)
    for o in outcomes:
        if o.met is not True:
            o.next_steps = _steps(o, candidates, members - active)
    return Assessment(
        pid, indicators, outcomes, "documented" if links is None else "given", candidates
    )
