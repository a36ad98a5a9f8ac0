"""The network of links as a graph of companies, and what holds it together.

Measures (networkx):

- per company: links given and taken, distinct partners, degree centrality (partners / (n - 1)),
  betweenness centrality (share of shortest directed paths between other companies that pass
  through it, normalised by (n - 1)(n - 2));
- for the network: connectance (distinct directed partner pairs / n(n - 1)), the deepest cascade (the
  most links in a chain where what one company receives, it passes on to the next), and the share
  of links and of flow per resource kind;
- keystones: companies whose departure would split the network in two (articulation points of the
  undirected partner graph), then the highest betweenness.

References
----------
Brandes, U. (2001). A faster algorithm for betweenness centrality. Journal of Mathematical Sociology
25(2), 163-177. doi:10.1080/0022250X.2001.9990249 (the algorithm networkx uses).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from symbiolink.analytics.links import NetLink


@dataclass
class CompanyMetrics:
    company: str
    links_out: int
    links_in: int
    partners: int
    degree_centrality: float
    betweenness: float
    keystone: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class NetworkMetrics:
    companies: list[CompanyMetrics]
    links: int
    connectance: float
    cascade_depth: int
    kind_share_links: dict[str, float]
    keystones: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "links": self.links, "companies": len(self.companies), "connectance": self.connectance,
            "cascade_depth": self.cascade_depth, "kind_share_links": self.kind_share_links,
            "keystones": self.keystones, "per_company": [c.to_dict() for c in self.companies],
        }  # fmt: skip


def link_graph(links: Sequence[NetLink]) -> nx.MultiDiGraph:
    """Companies as nodes, one edge per link (supplier to receiver), with the link's data."""
    g = nx.MultiDiGraph()
    for link in links:
        g.add_edge(
            link.supplier,
            link.receiver,
            key=f"{link.supply}->{link.demand or link.receiver}",
            link=link,
        )
    return g


def _simple(g: nx.MultiDiGraph) -> nx.DiGraph:
    d = nx.DiGraph()
    d.add_nodes_from(g.nodes)
    d.add_edges_from((u, v) for u, v in g.edges() if u != v)
    return d


def cascade_depth(g: nx.MultiDiGraph) -> int:
    """The most links in a chain company -> company -> ... (cycles are folded into one step)."""
    d = _simple(g)
    if d.number_of_edges() == 0:
        return 0
    dag = nx.condensation(d)
    return int(nx.dag_longest_path_length(dag))


def _company(
    c: str,
    out_links: Counter[str],
    in_links: Counter[str],
    partners: dict[str, set[str]],
    degree: dict[str, float],
    between: dict[str, float],
    keys: list[str],
) -> CompanyMetrics:
    return CompanyMetrics(
        company=c,
        links_out=out_links[c],
        links_in=in_links[c],
        partners=len(partners[c]),
        degree_centrality=float(degree.get(c, 0.0)),
        betweenness=float(between.get(c, 0.0)),
        keystone=c in keys,
    )


def metrics(links: Sequence[NetLink], *, keystones: int = 3) -> NetworkMetrics:
    """The measures of the network of ``links``.

    Examples
    --------
    >>> from symbiolink.analytics.links import NetLink
    >>> chain = [NetLink(f"s{i}", a, b, "material", "proposed") for i, (a, b) in enumerate(["AB", "BC", "CD"])]
    >>> m = metrics(chain)
    >>> (m.links, round(m.connectance, 3), m.cascade_depth, m.keystones)
    (3, 0.25, 3, ['B', 'C'])
    """
    g = link_graph(links)
    d = _simple(g)
    n = d.number_of_nodes()
    degree = nx.degree_centrality(d.to_undirected()) if n > 1 else dict.fromkeys(d.nodes, 0.0)
    between = (
        nx.betweenness_centrality(d, normalized=True) if n > 2 else dict.fromkeys(d.nodes, 0.0)
    )
    out_links: Counter[str] = Counter(link.supplier for link in links)
    in_links: Counter[str] = Counter(link.receiver for link in links)
    partners: dict[str, set[str]] = defaultdict(set)
    for link in links:
        if link.supplier != link.receiver:
            partners[link.supplier].add(link.receiver)
            partners[link.receiver].add(link.supplier)
    cut = set(nx.articulation_points(d.to_undirected())) if n > 2 else set()
    ranked = sorted(
        d.nodes, key=lambda c: (c not in cut, -between.get(c, 0.0), -len(partners[c]), c)
    )
    keys = [c for c in ranked if c in cut or between.get(c, 0.0) > 0][:keystones]
    keys = sorted(keys) if all(c in cut for c in keys) else keys
    order = sorted(d.nodes, key=lambda c: (-between.get(c, 0.0), -len(partners[c]), c))
    companies = [_company(c, out_links, in_links, partners, degree, between, keys) for c in order]
    kinds = Counter(link.kind for link in links)
    return NetworkMetrics(
        companies=companies,
        links=len(links),
        connectance=d.number_of_edges() / (n * (n - 1)) if n > 1 else 0.0,
        cascade_depth=cascade_depth(g),
        kind_share_links={k: v / len(links) for k, v in sorted(kinds.items())} if links else {},
        keystones=keys,
    )
