"""Everything a park report shows, computed once: profile, opportunities, optimized network,
resilience, assessment and the sources behind them. The HTML and Excel writers only lay it out."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from symbiolink.model.park import ParkFile


@dataclass
class ReportData:
    park: Any
    subset: ParkFile
    names: dict[str, str]
    profile: dict[str, Any]
    opportunities: list[Any]
    optimum: Any
    network: Any
    optimized: list[Any]
    metrics: Any
    losses: list[Any]
    assessment: Any
    factors: dict[str, str] = field(default_factory=dict)
    figures: list[Any] = field(default_factory=list)


def park_subset(park: ParkFile, park_id: str) -> ParkFile:
    """The park file of one park: its companies and their streams."""
    from symbiolink.analytics.scenarios import split_parks

    doc = next(d for d in split_parks(park) if d["parks"][0]["id"] == park_id)
    return ParkFile.model_validate(doc)


def collect(park: ParkFile, park_id: str, *, evidence: dict[str, Any] | None = None) -> ReportData:
    from symbiolink.accounting.evaluation import evaluate_park
    from symbiolink.analytics import losses, metrics, optimized_links
    from symbiolink.assessment import assess_park
    from symbiolink.matching import Matcher
    from symbiolink.optimization import build_model, build_network, solve

    sub = park_subset(park, park_id)
    names = {c.id: c.name for c in sub.companies} | {s.id: s.name for s in sub.streams}
    kinds: dict[str, dict[str, float]] = {
        "supply": defaultdict(float),
        "demand": defaultdict(float),
    }
    counted: Counter[tuple[str, str]] = Counter()
    for s in sub.streams:
        q = s.canonical_quantity()
        counted[(s.direction, s.kind)] += 1
        if q is not None:
            kinds[s.direction][s.kind] += q
    sectors = Counter((c.sector_isic() or "?")[:2] for c in sub.companies)
    profile = {
        "companies": len(sub.companies),
        "streams": counted,
        "quantities": {d: dict(v) for d, v in kinds.items()},
        "sectors": sectors.most_common(),
    }
    evaluation = evaluate_park(sub, Matcher().match(sub, top=3))
    opportunities = sorted(evaluation.chosen, key=lambda i: -float(i.net_benefit_usd_yr or 0.0))
    net = build_network(sub)
    optimum = solve(build_model(net), "cost")
    optimized = optimized_links(sub, optimum, net)
    m = metrics(optimized)
    assessment = assess_park(sub, park_id, evidence=evidence, evaluation=evaluation)
    factors: dict[str, str] = {}
    for i in evaluation.impacts:
        for rv in i.factors.values():
            factors[rv.factor_id] = rv.source
    return ReportData(park=sub.parks[0], subset=sub, names=names, profile=profile, opportunities=opportunities,
                      optimum=optimum, network=net, optimized=optimized, metrics=m, losses=losses(optimized),
                      assessment=assessment, factors=dict(sorted(factors.items())))  # fmt: skip


def figures(data: ReportData) -> list[Any]:
    """The report's charts: the top opportunities, the network, and the Sankey of material flows."""
    import plotly.graph_objects as go

    from symbiolink.analytics.pictures import network_figure, sankey

    top = data.opportunities[:10]
    bar = go.Figure(go.Bar(
        x=[float(i.net_benefit_usd_yr or 0.0) for i in top][::-1],
        y=[f"{data.names.get(i.supply, i.supply)[:30]} -> {data.names.get(i.receiver, i.receiver)[:25]}" for i in top][::-1],
        orientation="h", marker_color="#2a9d8f",
    ))  # fmt: skip
    bar.update_layout(title="Net benefit of the best opportunities (USD/yr)", height=120 + 40 * max(1, len(top)),
                      margin={"l": 360})  # fmt: skip
    figs = [bar, network_figure(data.subset, data.optimized, data.metrics)]
    if any(x.kind == "material" for x in data.optimized):
        figs.append(sankey(data.subset, data.optimized, "material"))
    return figs
