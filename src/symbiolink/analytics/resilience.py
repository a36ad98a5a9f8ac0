"""What a network loses when one company leaves or stops.

For each company: the links it gives or takes, the flow they carry per kind, the wastes of other
companies that were going to it and now have nowhere to go (stranded), and the money and CO2e those
links were worth; ranked by money lost. With the optimizer's network, the network can also be
re-optimized without the company, so the loss counts what the others can re-route.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from symbiolink.analytics.links import NetLink
from symbiolink.optimization.network import Network


@dataclass
class Loss:
    company: str
    links_lost: int
    flow_lost: dict[str, float]
    """Per kind, in its canonical unit."""
    stranded: dict[str, float]
    """Per supply of another company: what was going to this company."""
    money_lost_usd_yr: float
    co2e_lost_t_yr: float
    after_reoptimization: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def losses(links: Sequence[NetLink]) -> list[Loss]:
    """Each company's loss if it leaves (its links go with it), most money first.

    Examples
    --------
    >>> from symbiolink.analytics.links import NetLink
    >>> ls = losses([NetLink("s1", "A", "B", "material", "proposed", quantity=10, net_benefit_usd_yr=100, co2e_avoided_t_yr=5),
    ...              NetLink("s2", "B", "C", "material", "proposed", quantity=4, net_benefit_usd_yr=30, co2e_avoided_t_yr=1)])
    >>> [(x.company, x.links_lost, x.money_lost_usd_yr, x.stranded) for x in ls]
    [('B', 2, 130.0, {'s1': 10.0}), ('A', 1, 100.0, {}), ('C', 1, 30.0, {'s2': 4.0})]
    """
    by_company: dict[str, list[NetLink]] = defaultdict(list)
    for link in links:
        by_company[link.supplier].append(link)
        if link.receiver != link.supplier:
            by_company[link.receiver].append(link)
    out: list[Loss] = []
    for company, own in by_company.items():
        flow: dict[str, float] = defaultdict(float)
        stranded: dict[str, float] = defaultdict(float)
        for link in own:
            flow[link.kind] += link.quantity or 0.0
            if link.receiver == company and link.supplier != company:
                stranded[link.supply] += link.quantity or 0.0
        out.append(Loss(
            company, len(own), dict(flow), dict(stranded),
            float(sum(link.net_benefit_usd_yr or 0.0 for link in own)),
            float(sum(link.co2e_avoided_t_yr or 0.0 for link in own)),
        ))  # fmt: skip
    return sorted(out, key=lambda x: (-x.money_lost_usd_yr, -x.co2e_lost_t_yr, x.company))


def without(net: Network, company: str) -> Network:
    """The candidate network with one company gone: its streams, and every link to or from them."""
    sources = {k: n for k, n in net.sources.items() if n.company != company}
    sinks = {k: n for k, n in net.sinks.items() if n.company != company}
    arcs = [a for a in net.arcs if a.src in sources and a.dst in sinks]
    return replace(net, sources=sources, sinks=sinks, arcs=arcs)


def reoptimized_loss(
    net: Network, company: str, *, objective: str = "cost", base: Any = None
) -> dict[str, float]:
    """Money and CO2e the park loses when ``company`` leaves, after the others re-route what they can.

    The streams of the company itself leave with it, so the loss also counts its own supplies and
    demands that were in links.
    """
    from symbiolink.optimization import build_model, solve

    before = base if base is not None else solve(build_model(net), objective)
    after = solve(build_model(without(net, company)), objective)
    return {
        "money_lost_usd_yr": before.totals["net_benefit_usd_yr"]
        - after.totals["net_benefit_usd_yr"],
        "co2e_lost_t_yr": before.totals["co2e_avoided_t_yr"] - after.totals["co2e_avoided_t_yr"],
        "money_after_usd_yr": after.totals["net_benefit_usd_yr"],
    }
