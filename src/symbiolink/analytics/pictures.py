"""Pictures of a network (plotly): a Sankey of flows, the network with its keystones, a map, and the
scenario curves. Each returns a ``plotly.graph_objects.Figure``; :func:`write_html` puts several in
one self-contained page (plotly.js inline, so it works offline).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from symbiolink.analytics.links import NetLink
from symbiolink.analytics.network import NetworkMetrics, link_graph
from symbiolink.model.park import ParkFile
from symbiolink.model.units import CANONICAL_UNIT

KIND_COLOURS = {"material": "#8c6d31", "water": "#1f77b4", "energy": "#d62728"}


def sankey(
    park: ParkFile,
    links: Sequence[NetLink],
    kind: str = "material",
    *,
    names: Mapping[str, str] | None = None,
    title: str | None = None,
    status_labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Flows of one kind between companies (one unit per picture: flows of different kinds do not add).

    ``names`` labels the companies (default: their names in ``park``); ``title`` replaces the
    English title. Links of other statuses than ``documented`` are drawn fainter, so that real
    exchanges stand out from proposals. A link's hover text is its supply's id, or with
    ``status_labels`` the name of its status."""
    label_of = dict(names) if names is not None else {c.id: c.name for c in park.companies}
    chosen = [link for link in links if link.kind == kind and link.quantity]
    nodes = sorted({link.supplier for link in chosen} | {link.receiver for link in chosen})
    index = {n: i for i, n in enumerate(nodes)}
    unit = chosen[0].unit if chosen else CANONICAL_UNIT.get(kind, "")
    colour = KIND_COLOURS.get(kind, "#999999")
    fig = go.Figure(go.Sankey(
        node={"label": [label_of.get(n, n)[:40] for n in nodes], "pad": 12},
        link={"source": [index[x.supplier] for x in chosen], "target": [index[x.receiver] for x in chosen],
              "value": [x.quantity for x in chosen],
              "color": [colour + ("cc" if x.status == "documented" else "55") for x in chosen],
              "label": [status_labels.get(x.status, x.status) if status_labels else x.supply for x in chosen]},
        valueformat=",.0f", valuesuffix=f" {unit}",
    ))  # fmt: skip
    fig.update_layout(title=title or f"{kind.capitalize()} flows ({unit})",
                      height=max(300, 30 * len(nodes)))  # fmt: skip
    return fig


def network_figure(
    park: ParkFile,
    links: Sequence[NetLink],
    metrics: NetworkMetrics,
    *,
    names: Mapping[str, str] | None = None,
    title: str | None = None,
    words: Mapping[str, str] | None = None,
) -> go.Figure:
    """Companies and their links; keystones in red and larger; edges coloured by kind.

    ``names`` labels the companies (default: their names in ``park``), ``title`` replaces the title
    and ``words`` the legend's and hover's English words (the kinds, ``companies (keystones in
    red)``, ``betweenness``)."""
    names = dict(names) if names is not None else {c.id: c.name for c in park.companies}
    say = dict(words or {})
    g = link_graph(links)
    pos = nx.spring_layout(nx.Graph(g), seed=1) if g.number_of_nodes() else {}
    fig = go.Figure()
    for kind, colour in KIND_COLOURS.items():
        xs: list[float | None] = []
        ys: list[float | None] = []
        for link in links:
            if link.kind == kind and link.supplier in pos and link.receiver in pos:
                (x0, y0), (x1, y1) = pos[link.supplier], pos[link.receiver]
                xs += [x0, x1, None]
                ys += [y0, y1, None]
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line={"color": colour, "width": 2},
                    name=say.get(kind, kind),
                    hoverinfo="skip",
                )
            )
    keystones = set(metrics.keystones)
    between = {c.company: c.betweenness for c in metrics.companies}
    nodes = list(pos)
    fig.add_trace(go.Scatter(
        x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes], mode="markers+text",
        text=[names.get(n, n)[:25] for n in nodes], textposition="top center",
        marker={"size": [22 if n in keystones else 12 for n in nodes],
                "color": ["#d62728" if n in keystones else "#555" for n in nodes]},
        hovertext=[f"{names.get(n, n)}<br>{say.get('betweenness', 'betweenness')} {between.get(n, 0):.3f}" for n in nodes],
        hoverinfo="text", name=say.get("companies (keystones in red)", "companies (keystones in red)"),
    ))  # fmt: skip
    # Room beside the outermost companies for their names.
    xs_all = [p[0] for p in pos.values()] or [0.0]
    ys_all = [p[1] for p in pos.values()] or [0.0]
    pad_x = 0.25 * (max(xs_all) - min(xs_all) or 1.0)
    pad_y = 0.1 * (max(ys_all) - min(ys_all) or 1.0)
    fig.update_layout(
        title=title or "Symbiosis network",
        xaxis={"visible": False, "range": [min(xs_all) - pad_x, max(xs_all) + pad_x]},
        yaxis={"visible": False, "range": [min(ys_all) - pad_y, max(ys_all) + 2 * pad_y]},
        height=600,
    )
    return fig


def map_figure(park: ParkFile, links: Sequence[NetLink]) -> go.Figure:
    """Companies at their coordinates and the links between them (no base map, so it works offline)."""
    names = {c.id: c.name for c in park.companies}
    where = {c.id: park.location_of(c) for c in park.companies}
    fig = go.Figure()
    for kind, colour in KIND_COLOURS.items():
        lons: list[float | None] = []
        lats: list[float | None] = []
        for link in links:
            a, b = where.get(link.supplier), where.get(link.receiver)
            if link.kind == kind and a and b:
                lons += [a[1], b[1], None]
                lats += [a[0], b[0], None]
        if lons:
            fig.add_trace(
                go.Scatter(x=lons, y=lats, mode="lines", line={"color": colour}, name=kind)
            )
    placed = [c for c, p in where.items() if p]
    fig.add_trace(go.Scatter(x=[where[c][1] for c in placed], y=[where[c][0] for c in placed],  # type: ignore[index]
                             mode="markers", text=[names[c] for c in placed], name="companies"))  # fmt: skip
    fig.update_layout(title="Map (longitude, latitude)", xaxis_title="longitude", yaxis_title="latitude",
                      yaxis={"scaleanchor": "x"}, height=600)  # fmt: skip
    return fig


def scenario_figure(scenarios: Sequence[dict[str, Any]]) -> go.Figure:
    """Viable links, net benefit and CO2e against each lever (the mean over the other levers)."""
    levers = list(scenarios[0]["params"]) if scenarios else []
    metrics = (("viable_links", "viable links"), ("net_benefit_usd_yr", "net benefit, USD/yr"),
               ("co2e_avoided_t_yr", "CO2e avoided, t/yr"))  # fmt: skip
    fig = make_subplots(rows=len(metrics), cols=max(1, len(levers)), shared_yaxes="rows",
                        column_titles=levers, row_titles=[m[1] for m in metrics])  # fmt: skip
    for c, lever in enumerate(levers, start=1):
        values = sorted({s["params"][lever] for s in scenarios})
        for r, (metric, _) in enumerate(metrics, start=1):
            ys = [sum(s[metric] for s in scenarios if s["params"][lever] == v)
                  / max(1, sum(1 for s in scenarios if s["params"][lever] == v)) for v in values]  # fmt: skip
            fig.add_trace(
                go.Scatter(x=values, y=ys, mode="lines+markers", showlegend=False), row=r, col=c
            )
    fig.update_layout(title="Scenarios: each lever against the mean over the others", height=800)
    return fig


def write_html(figures: Sequence[go.Figure], path: str | Path, title: str = "symbiolink") -> Path:
    """One self-contained HTML page with every figure (plotly.js inline once)."""
    parts = []
    for n, fig in enumerate(figures):
        parts.append(fig.to_html(full_html=False, include_plotlyjs="inline" if n == 0 else False))
    out = Path(path)
    out.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        + "".join(parts)
        + "</body></html>",
        encoding="utf-8",
    )
    return out
