"""The park-wide exchange network as a mixed-integer linear programme: build, solve, write back.

Variables (one linopy variable per component type, deterministic names):

- ``flow[arc]`` >= 0: what each candidate link carries (canonical units);
- ``build[arc]`` binary, for links with a fixed yearly cost (pipes): a link carries nothing unless
  built, and a built link pays its annuity and upkeep;
- ``open[facility]`` binary: a shared facility carries nothing unless built;
- ``external[demand]`` >= 0: what a demand with a stated quantity takes from outside (virgin
  product, fresh water, purchased heat; free of contaminants);
- ``disposal[supply]`` >= 0: what a supply sends to disposal (landfill, drain, cooling tower);
- ``unmet[demand]`` >= 0: only where outside supply is ruled out, what stays unmet.

Constraints: every supply is used or disposed of; a demand is met by links (times the substitution
ratio) and the outside; each contaminant a demand limits is a mass balance on its mixed inlet
(outside water counts zero); a facility passes on what it takes, within its capacity and its inlet
limits; heat, distance and hazardous rules decide which links exist at all (see ``network``).

Objectives: ``cost`` (the park's yearly cost of buying from outside and disposing, net of links;
with a carbon price, its value too), ``co2`` (the park's yearly CO2e from those) and
``freshwater`` (fresh water taken, m3/h: a water-pinch target).

References
----------
Wang, Y. P. and Smith, R. (1994). Wastewater minimisation. Chemical Engineering Science 49(7),
981-1006. doi:10.1016/0009-2509(94)80006-5 (the fresh-water target of the fixed-flowrate problem).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from symbiolink.accounting.policy import Policy
from symbiolink.errors import SymbiolinkError
from symbiolink.model.units import CANONICAL_UNIT
from symbiolink.optimization.network import Network

OBJECTIVES = ("cost", "co2", "freshwater")
UNITS = {"cost": "USD/yr", "co2": "t CO2e/yr", "freshwater": "m3/h"}
TOL = 1e-7


_QUIET_LOCK = threading.Lock()
#: Solves silencing stdout now, and the real stdout they keep (one for all: solves in threads
#: overlap, and the last one out must restore the real stdout, not another's silenced one).
_quiet: dict[str, int] = {"depth": 0, "saved": -1}


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS prints a banner on the process's stdout, which would corrupt ``--json``: silence the
    C-level stdout while the solver runs (its log is off; errors come back as a status)."""
    sys.stdout.flush()
    with _QUIET_LOCK:
        if _quiet["depth"] == 0:
            try:
                saved = os.dup(1)
            except OSError:  # pragma: no cover - no real stdout (embedded interpreter)
                saved = -1
            if saved >= 0:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.close(devnull)
            _quiet["saved"] = saved
        _quiet["depth"] += 1
    try:
        yield
    finally:
        sys.stdout.flush()
        with _QUIET_LOCK:
            _quiet["depth"] -= 1
            if _quiet["depth"] == 0 and _quiet["saved"] >= 0:
                os.dup2(_quiet["saved"], 1)
                os.close(_quiet["saved"])
                _quiet["saved"] = -1


@dataclass
class Built:
    """A built model and the labelled data it was built from."""

    model: linopy.Model
    network: Network
    arcs: pd.Index
    fixed_arcs: pd.Index
    demands: pd.Index
    supplies: pd.Index
    facilities: pd.Index
    money: Any
    """Yearly money saved against sending everything to disposal and buying everything outside."""
    co2: Any
    """Yearly CO2e saved on the same baseline."""
    freshwater: Any
    baseline_usd: float
    baseline_co2: float
    no_outside: frozenset[str]


@dataclass
class Result:
    status: str
    objective: str
    value: float
    unit: str
    flows: list[dict[str, Any]]
    totals: dict[str, float]
    explanations: list[dict[str, Any]] = field(default_factory=list)
    pareto: list[dict[str, float]] = field(default_factory=list)
    built_links: list[str] = field(default_factory=list)
    opened_facilities: list[str] = field(default_factory=list)
    uncounted: list[str] = field(default_factory=list)
    """Links in the solution with a cost the accounting could not count (see their ``missing``)."""

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "status": self.status,
            "objective": {"name": self.objective, "value": round(self.value, 6), "unit": self.unit},
            "flows": self.flows,
            "totals": {k: round(v, 6) for k, v in self.totals.items()},
            "built_links": self.built_links,
            "facilities_built": self.opened_facilities,
            "explanations": self.explanations,
            "uncounted_costs": self.uncounted,
        }
        if self.pareto:
            doc["pareto"] = self.pareto
        return doc


def _series(values: dict[str, float], index: pd.Index) -> xr.DataArray:
    return xr.DataArray([float(values.get(i, 0.0)) for i in index], coords=[index])


def build_model(
    net: Network, *, policy: Policy | None = None, no_outside: frozenset[str] = frozenset()
) -> Built:
    """Build the MILP of ``net`` (without an objective; :func:`solve` sets it)."""
    policy = policy or Policy()
    m = linopy.Model()
    arcs_list = net.arcs
    arc_ids = pd.Index([a.id for a in arcs_list], name="arc")
    if arc_ids.has_duplicates:
        raise SymbiolinkError("two candidate links share an id")  # pragma: no cover - ids are pairs
    supplies = pd.Index(sorted(i for i, n in net.sources.items() if not n.facility), name="supply")
    demands = pd.Index(
        sorted(j for j, n in net.sinks.items() if not n.facility and n.quantity is not None),
        name="demand",
    )
    facilities = pd.Index(sorted(net.facilities), name="facility")
    src = xr.DataArray([a.src for a in arcs_list], coords=[arc_ids], name="node")
    dst = xr.DataArray([a.dst for a in arcs_list], coords=[arc_ids], name="node")
    ratio = xr.DataArray([a.ratio for a in arcs_list], coords=[arc_ids])

    flow = m.add_variables(lower=0, coords=[arc_ids], name="flow")
    outgoing = flow.groupby(src).sum() if len(arc_ids) else None
    incoming = (flow * ratio).groupby(dst).sum() if len(arc_ids) else None
    incoming_raw = flow.groupby(dst).sum() if len(arc_ids) else None

    def by_node(expr: Any, index: pd.Index) -> Any:
        return expr.rename(node=index.name).reindex({index.name: index}).fillna(0)

    # Supplies: sent on links or to disposal.
    disposal = m.add_variables(lower=0, coords=[supplies], name="disposal")
    q_supply = _series({i: net.sources[i].quantity or 0.0 for i in supplies}, supplies)
    if len(supplies):
        sent = by_node(outgoing, supplies) if outgoing is not None else 0
        m.add_constraints(sent + disposal == q_supply, name="supply-balance")

    # Demands with a quantity: links plus the outside (or unmet, where the outside is ruled out).
    outside_ids = pd.Index(
        [j for j in demands if net.sinks[j].kind not in no_outside], name="demand"
    )
    ruled_out = pd.Index([j for j in demands if net.sinks[j].kind in no_outside], name="demand")
    external = m.add_variables(lower=0, coords=[outside_ids], name="external")
    unmet = m.add_variables(lower=0, coords=[ruled_out], name="unmet")
    q_demand = _series({j: net.sinks[j].quantity or 0.0 for j in demands}, demands)
    if len(demands):
        met = by_node(incoming, demands) if incoming is not None else 0
        rest = (1 * external).reindex(demand=demands).fillna(0) + (1 * unmet).reindex(
            demand=demands
        ).fillna(0)
        m.add_constraints(met + rest == q_demand, name="demand-balance")
    open_sinks = [j for j, n in net.sinks.items() if not n.facility and n.quantity is None]

    # Contaminants: a mass balance on each limited inlet (outside water is clean).
    for k in net.contaminants:
        conc = xr.DataArray(
            [net.sources[a.src].contaminants.get(k, 0.0) for a in arcs_list], coords=[arc_ids]
        )
        load = (flow * conc).groupby(dst).sum()
        limited = [j for j in demands if k in net.sinks[j].max_contaminants]
        if limited:
            idx = pd.Index(limited, name="demand")
            cap = _series(
                {j: net.sinks[j].max_contaminants[k] * (net.sinks[j].quantity or 0.0) for j in idx},
                idx,
            )
            m.add_constraints(by_node(load, idx) <= cap, name=f"contaminant-{k}")
        # Open demands and facility inlets: the mixed inflow itself must meet the limit.
        lim_open = [
            j
            for j in open_sinks + [f"{f}:in" for f in facilities]
            if k in net.sinks[j].max_contaminants
        ]
        if lim_open:
            excess = xr.DataArray(
                [
                    net.sources[a.src].contaminants.get(k, 0.0)
                    - net.sinks[a.dst].max_contaminants.get(k, 0.0)
                    for a in arcs_list
                ],
                coords=[arc_ids],
            )
            idx = pd.Index(lim_open, name="sink")
            m.add_constraints(
                by_node((flow * excess).groupby(dst).sum(), idx) <= 0, name=f"contaminant-{k}-mixed"
            )

    # Facilities: pass on what they take, within capacity, only if built.
    is_open = m.add_variables(coords=[facilities], name="open", binary=True)
    if len(facilities) and incoming_raw is not None and outgoing is not None:
        ins = pd.Index([f"{f}:in" for f in facilities], name="node")
        outs = pd.Index([f"{f}:out" for f in facilities], name="node")
        taken = (
            incoming_raw.reindex(node=ins)
            .fillna(0)
            .assign_coords(node=list(facilities))
            .rename(node="facility")
        )
        given = (
            outgoing.reindex(node=outs)
            .fillna(0)
            .assign_coords(node=list(facilities))
            .rename(node="facility")
        )
        cap = _series({f: net.facilities[f].capacity for f in facilities}, facilities)
        m.add_constraints(taken - given == 0, name="facility-balance")
        m.add_constraints(taken - cap * is_open <= 0, name="facility-capacity")

    # Links with a fixed cost: built or not; the flow bound is what either end can take.
    fixed = [a for a in arcs_list if a.fixed_usd > 0]
    fixed_ids = pd.Index([a.id for a in fixed], name="fixed_arc")
    build = m.add_variables(coords=[fixed_ids], name="build", binary=True)
    if len(fixed_ids):
        bound = []
        for a in fixed:
            up = net.sources[a.src].quantity or 0.0
            d = net.sinks[a.dst].quantity
            if d is not None and a.ratio > 0:
                up = min(up, d / a.ratio)
            bound.append(up)
        big = xr.DataArray(bound, coords=[fixed_ids])
        f_flow = (
            flow.sel(arc=list(fixed_ids))
            .rename(arc="fixed_arc")
            .assign_coords(fixed_arc=list(fixed_ids))
        )
        m.add_constraints(f_flow - big * build <= 0, name="build-link")

    # What the network saves against the baseline (everything disposed of, everything bought).
    value = xr.DataArray(
        [a.value_usd + net.disposal_usd.get(a.src, 0.0) for a in arcs_list], coords=[arc_ids]
    )
    co2v = xr.DataArray(
        [a.co2_t + net.disposal_co2.get(a.src, 0.0) for a in arcs_list], coords=[arc_ids]
    )
    money = (flow * value).sum()
    if len(fixed_ids):
        money = (
            money - (build * xr.DataArray([a.fixed_usd for a in fixed], coords=[fixed_ids])).sum()
        )
    if len(facilities):
        money = (
            money
            - (
                is_open
                * _series({f: net.facilities[f].fixed_cost_usd_yr for f in facilities}, facilities)
            ).sum()
        )
    co2 = (flow * co2v).sum()
    if policy.carbon_price_usd_t:
        money = money + policy.carbon_price_usd_t * co2
    water = [j for j in demands if net.sinks[j].kind == "water"]
    water_outside = [j for j in water if j in outside_ids]
    freshwater = external.sel(demand=water_outside).sum() if water_outside else None
    baseline_usd = sum(
        net.external_usd.get(j, 0.0) * (net.sinks[j].quantity or 0.0) for j in demands
    ) + sum(net.disposal_usd.get(i, 0.0) * (net.sources[i].quantity or 0.0) for i in supplies)
    baseline_co2 = sum(
        net.external_co2.get(j, 0.0) * (net.sinks[j].quantity or 0.0) for j in demands
    ) + sum(net.disposal_co2.get(i, 0.0) * (net.sources[i].quantity or 0.0) for i in supplies)
    return Built(m, net, arc_ids, fixed_ids, demands, supplies, facilities, money, co2, freshwater,
                 baseline_usd, baseline_co2, no_outside)  # fmt: skip


def _solve(
    b: Built,
    objective: Any,
    sense: str,
    *,
    gap: float,
    time_limit: float | None,
    solver: str = "highs",
) -> str:
    m = b.model
    if getattr(objective, "empty", False) or isinstance(objective, int | float):
        # Nothing can flow (no candidate link): the constraints alone decide outside purchases and
        # disposal; solve with a zero objective on whatever variables exist.
        names = [n for n in m.variables if m.variables[n].size]
        if not names:
            return "optimal"
        objective = 0 * m.variables[names[0]].sum()
    m.add_objective(objective, sense=sense, overwrite=True)
    options: dict[str, Any] = {}
    if solver == "highs":
        options = {"mip_rel_gap": gap, "output_flag": False, "log_to_console": False}
        if time_limit:
            options["time_limit"] = time_limit
    elif solver not in linopy.available_solvers:
        raise SymbiolinkError(
            f"solver {solver!r} is not installed (available: {', '.join(linopy.available_solvers)})"
        )
    with _quiet_stdout():
        status, condition = m.solve(solver_name=solver, **options)
    if status != "ok":
        raise SymbiolinkError(f"the solver stopped: {status} ({condition})")
    return str(condition)


def solve(
    b: Built,
    objective: str = "cost",
    *,
    gap: float = 1e-3,
    time_limit: float | None = None,
    min_co2_saved: float | None = None,
    solver: str = "highs",
) -> Result:
    """Solve for ``objective``; write the solution back as flows, totals and explanations."""
    if objective not in OBJECTIVES:
        raise SymbiolinkError(f"objective {objective!r} (accepted: {', '.join(OBJECTIVES)})")
    m = b.model
    unmet = m.variables["unmet"]
    if unmet.size:
        # First meet as much as possible where the outside is ruled out, then optimize the rest.
        _solve(b, unmet.sum(), "min", gap=gap, time_limit=time_limit, solver=solver)
        least = float(np.nansum(unmet.solution.values))
        m.add_constraints(unmet.sum() <= least + 1e-6 * max(1.0, least), name="least-unmet")
    if min_co2_saved is not None:
        if "co2-floor" in m.constraints:
            m.remove_constraints("co2-floor")
        m.add_constraints(b.co2 >= min_co2_saved, name="co2-floor")
    if objective == "cost":
        condition = _solve(b, b.money, "max", gap=gap, time_limit=time_limit, solver=solver)
    elif objective == "co2":
        condition = _solve(b, b.co2, "max", gap=gap, time_limit=time_limit, solver=solver)
    else:
        if b.freshwater is None:
            raise SymbiolinkError(
                "no water demand with a quantity that may take fresh water: nothing to minimise"
            )
        condition = _solve(b, b.freshwater, "min", gap=gap, time_limit=time_limit, solver=solver)
    return write_back(b, objective, condition)


def write_back(b: Built, objective: str, condition: str) -> Result:
    net = b.network
    m = b.model
    x = m.variables["flow"].solution.to_series() if len(b.arcs) else pd.Series(dtype=float)
    ext = m.variables["external"].solution.to_series().fillna(0.0)
    disp = m.variables["disposal"].solution.to_series().fillna(0.0)
    unmet = m.variables["unmet"].solution.to_series().fillna(0.0)
    money = float(b.money.solution) if hasattr(b.money, "solution") else 0.0
    co2 = float(b.co2.solution) if len(b.arcs) else 0.0
    flows: list[dict[str, Any]] = []

    def label(node: str) -> str:
        if node.endswith((":in", ":out")) and node.rsplit(":", 1)[0] in net.facilities:
            return f"facility:{node.rsplit(':', 1)[0]}"
        return node

    uncounted: list[str] = []
    for a in net.arcs:
        q = float(x.get(a.id, 0.0))
        if q > TOL and not a.costs_complete:
            gaps = "; ".join(m for m in a.missing if "cost" in m or "distance" in m or "rate" in m)
            uncounted.append(f"{a.id}: {gaps or 'a cost could not be counted'}")
        if q > TOL:
            flows.append(
                {
                    "from": label(a.src),
                    "to": label(a.dst),
                    "kind": a.kind,
                    "quantity": round(q, 6),
                    "unit": CANONICAL_UNIT[a.kind],
                }
            )
    for j, q in ext.items():
        if q > TOL:
            kind = net.sinks[str(j)].kind
            flows.append(
                {
                    "from": "external",
                    "to": str(j),
                    "kind": kind,
                    "quantity": round(float(q), 6),
                    "unit": CANONICAL_UNIT[kind],
                }
            )
    for i, q in disp.items():
        if q > TOL:
            kind = net.sources[str(i)].kind
            flows.append(
                {
                    "from": str(i),
                    "to": "disposal",
                    "kind": kind,
                    "quantity": round(float(q), 6),
                    "unit": CANONICAL_UNIT[kind],
                }
            )
    fresh = float(sum(q for j, q in ext.items() if net.sinks[str(j)].kind == "water"))
    discharge = float(sum(q for i, q in disp.items() if net.sources[str(i)].kind == "water"))
    value = {
        "cost": b.baseline_usd - money,
        "co2": b.baseline_co2 - co2,
        "freshwater": fresh,
    }[objective]
    built = (
        [str(i) for i, v in m.variables["build"].solution.to_series().items() if v > 0.5]
        if len(b.fixed_arcs)
        else []
    )
    opened = (
        [str(i) for i, v in m.variables["open"].solution.to_series().items() if v > 0.5]
        if len(b.facilities)
        else []
    )
    total_unmet = float(unmet.sum())
    status = "optimal" if condition == "optimal" else condition
    if total_unmet > TOL:
        status = "partly unmet"
    return Result(
        status=status, objective=objective, value=value, unit=UNITS[objective], flows=flows,
        totals={
            "freshwater_m3_h": fresh, "discharge_m3_h": discharge, "co2e_avoided_t_yr": co2,
            "net_benefit_usd_yr": money, "unmet": total_unmet,
        },
        explanations=explain(b, x, ext, disp, unmet), built_links=built, opened_facilities=opened,
        uncounted=uncounted,
    )  # fmt: skip


def explain(
    b: Built, x: pd.Series, ext: pd.Series, disp: pd.Series, unmet: pd.Series
) -> list[dict[str, Any]]:
    """For each demand met partly from outside (or left unmet): which constraints stopped the links."""
    net = b.network
    out: list[dict[str, Any]] = []
    for j in b.demands:
        outside = float(ext.get(j, 0.0))
        short = float(unmet.get(j, 0.0))
        if outside <= TOL and short <= TOL:
            continue
        node = net.sinks[j]
        why: list[str] = []
        into = [a for a in net.arcs if a.dst == j]
        if not into:
            why.append(
                "no supply can reach it: "
                + (
                    "; ".join(net.excluded.get(j, []))
                    or "no candidate link (no documented use, kind or distance)"
                )
            )
        inflow = sum(float(x.get(a.id, 0.0)) for a in into)
        for k, limit in sorted(node.max_contaminants.items()):
            load = sum(
                float(x.get(a.id, 0.0)) * net.sources[a.src].contaminants.get(k, 0.0) for a in into
            )
            if node.quantity and load >= limit * node.quantity * (1 - 1e-6) and inflow > TOL:
                why.append(
                    f"contaminant {k}: the inlet is at its limit of {limit:g} mg/L; more reuse would exceed it"
                )
            elif limit == 0:
                why.append(f"contaminant {k} must be 0 mg/L: only clean water may enter")
        for a in into:
            used = float(x.get(a.id, 0.0))
            src = net.sources[a.src]
            if (
                src.facility is None
                and float(disp.get(a.src, 0.0)) <= TOL
                and used < (src.quantity or 0) - TOL
            ):
                why.append(f"{a.src} is fully used by other links")
            elif used <= TOL and a.fixed_usd > 0:
                why.append(
                    f"{a.src}: the link would cost {a.fixed_usd:,.0f} USD/yr (pipe) for too little gain"
                )
        if short > TOL:
            why.insert(
                0,
                f"{short:.6g} {CANONICAL_UNIT[node.kind]} unmet: outside supply of {node.kind} is ruled out",
            )
        out.append(
            {
                "demand": j,
                "from_outside": round(outside, 6),
                "unmet": round(short, 6),
                "why": list(dict.fromkeys(why)),
            }
        )
    return out


def pareto(
    b: Built, points: int = 5, *, gap: float = 1e-3, solver: str = "highs"
) -> list[dict[str, float]]:
    """The cost-CO2e front by the epsilon-constraint method: the most money saved for each floor on
    the CO2e saved, from the cost optimum's CO2e up to the most CO2e that can be saved."""
    at_cost = solve(b, "cost", gap=gap, solver=solver)
    at_co2 = solve(b, "co2", gap=gap, solver=solver)
    lo = at_cost.totals["co2e_avoided_t_yr"]
    hi = at_co2.totals["co2e_avoided_t_yr"]
    front = []
    for eps in np.linspace(lo, hi, max(points, 2)):
        r = solve(
            b,
            "cost",
            gap=gap,
            solver=solver,
            min_co2_saved=float(eps) - 1e-9 * max(1.0, abs(float(eps))),
        )
        front.append(
            {
                "co2e_avoided_t_yr": r.totals["co2e_avoided_t_yr"],
                "net_benefit_usd_yr": r.totals["net_benefit_usd_yr"],
            }
        )
    if "co2-floor" in b.model.constraints:
        b.model.remove_constraints("co2-floor")
    return front


def greedy(net: Network, *, carbon_price_usd_t: float = 0.0) -> float:
    """Money saved by the best pairing made one link at a time: links in order of their saving per
    unit, each taking what is left (a baseline for what whole-network optimization gains).

    Shared facilities are not used; a link with a fixed cost is taken only if its own flow pays it.
    """
    left = {i: n.quantity or 0.0 for i, n in net.sources.items() if not n.facility}
    room: dict[str, float] = {
        j: n.quantity for j, n in net.sinks.items() if not n.facility and n.quantity is not None
    }
    budget = {
        (j, k): limit * (net.sinks[j].quantity or 0.0)
        for j, n in net.sinks.items() if n.quantity is not None for k, limit in n.max_contaminants.items()
    }  # fmt: skip

    def unit(a: Any) -> float:
        return float(
            a.value_usd
            + net.disposal_usd.get(a.src, 0.0)
            + carbon_price_usd_t * (a.co2_t + net.disposal_co2.get(a.src, 0.0))
        )

    saved = 0.0
    for a in sorted(
        (
            a
            for a in net.arcs
            if a.src in left and a.dst in net.sinks and not net.sinks[a.dst].facility
        ),
        key=lambda a: -unit(a),
    ):
        if unit(a) <= 0:
            break
        take = left[a.src]
        sink, src = net.sinks[a.dst], net.sources[a.src]
        if a.dst in room and a.ratio > 0:
            take = min(take, room[a.dst] / a.ratio)
        for k, limit in sink.max_contaminants.items():
            c = src.contaminants.get(k, 0.0)
            if sink.quantity is None:
                take = take if c <= limit else 0.0
            elif c > 0:
                take = min(take, budget[(a.dst, k)] / c)
        if take <= TOL or take * unit(a) <= a.fixed_usd:
            continue
        saved += take * unit(a) - a.fixed_usd
        left[a.src] -= take
        if a.dst in room:
            room[a.dst] -= take * a.ratio
        for k in sink.max_contaminants:
            if sink.quantity is not None:
                budget[(a.dst, k)] -= take * src.contaminants.get(k, 0.0)
    return saved
