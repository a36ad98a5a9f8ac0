"""Policy and uncertainty sweeps over many parks, each park a Dask task.

A grid (``GRID.yaml``) maps policy levers to lists of values; every combination is a scenario. Each
park is matched once, and each candidate link evaluated once per lever: a link's net benefit is
affine in every lever (a landfill tax and a subsidy add per tonne, a carbon price per tonne of CO2e,
a capex tax credit scales the pipe's annuity), so the whole grid follows from five evaluations per
link, exactly (``tests/test_analytics.py`` checks it against evaluating each scenario directly).
``samples`` > 0 adds Monte Carlo draws of every ranged factor, shared by all parks and links (the
uncertainty of a factor is common to everyone who uses it), and reports the 10th and 90th
percentiles of the scenario totals.

Parks run as tasks on a local Dask cluster (``workers``), on an existing cluster (``scheduler``
address), or in this process (``workers=0``); the numbers are the same.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from symbiolink.accounting.factors import default_factors
from symbiolink.accounting.policy import LEVERS, Policy
from symbiolink.errors import SymbiolinkError, load_yaml_file
from symbiolink.model.park import ParkFile

METRICS = ("viable_links", "net_benefit_usd_yr", "co2e_avoided_t_yr")


def read_grid(path: str | Path) -> dict[str, list[float]]:
    """A grid of policy levers from YAML; every problem names the lever."""
    return grid_from_mapping(load_yaml_file(path), where=str(path))


def grid_from_mapping(doc: Any, where: str = "grid") -> dict[str, list[float]]:
    """
    Examples
    --------
    >>> grid_from_mapping({"landfill_tax_usd_t": [0, 20], "carbon_price_usd_t": 50})
    {'landfill_tax_usd_t': [0.0, 20.0], 'carbon_price_usd_t': [50.0]}
    """
    if not isinstance(doc, dict) or not doc:
        raise SymbiolinkError(
            f"{where}: expected a mapping of levers to lists of values (levers: {', '.join(LEVERS)})"
        )
    grid: dict[str, list[float]] = {}
    problems: list[str] = []
    for lever, values in doc.items():
        if lever not in LEVERS:
            problems.append(f"{where}: unknown lever {lever!r} (accepted: {', '.join(LEVERS)})")
            continue
        items = values if isinstance(values, list) else [values]
        if not items:
            problems.append(f"{where}: {lever} has no values")
        for v in items:
            if (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or not math.isfinite(v)
                or v < 0
            ):
                problems.append(f"{where}: {lever} value {v!r} is not a number >= 0")
            elif lever == "capex_tax_credit_pct" and v > 100:
                problems.append(f"{where}: {lever} value {v} is over 100 (a percentage)")
        grid[lever] = [
            float(v) for v in items if isinstance(v, int | float) and not isinstance(v, bool)
        ]
    if problems:
        raise SymbiolinkError("; ".join(problems))
    return grid


def grid_points(grid: dict[str, list[float]]) -> list[dict[str, float]]:
    """Every combination of the levers' values, in a fixed order."""
    levers = [lever for lever in LEVERS if lever in grid]
    return [
        dict(zip(levers, combo, strict=True))
        for combo in itertools.product(*(grid[lever] for lever in levers))
    ]


def split_parks(park: ParkFile) -> list[dict[str, Any]]:
    """One park document per park, with its companies and their streams."""
    doc = park.to_document()
    by_park: dict[str, dict[str, Any]] = {
        p["id"]: {"format": doc["format"], "parks": [p], "companies": [], "streams": []}
        for p in doc["parks"]
    }
    owner: dict[str, str] = {}
    for c in doc["companies"]:
        by_park[c["park"]]["companies"].append(c)
        owner[c["id"]] = c["park"]
    for s in doc["streams"]:
        by_park[owner[s["company"]]]["streams"].append(s)
    return list(by_park.values())


def factor_draws(samples: int, seed: int) -> dict[str, np.ndarray]:
    """Triangular draws (low, central, high) of every ranged factor, the same for every park."""
    out: dict[str, np.ndarray] = {}
    for fid in sorted(default_factors().factors):
        f = default_factors().factors[fid]
        if f.low is None and f.high is None:
            continue
        lo = f.low if f.low is not None else f.central
        hi = f.high if f.high is not None else f.central
        rng = np.random.default_rng(
            [seed, int.from_bytes(fid.encode()[:8].ljust(8, b"\0"), "little")]
        )
        out[fid] = (
            rng.triangular(lo, f.central, hi, samples) if hi > lo else np.full(samples, f.central)
        )
    return out


def _lever_policies(base: Policy) -> dict[str, Policy]:
    zero = base.with_levers(**dict.fromkeys(LEVERS, 0.0))
    return {
        "": zero,
        **{
            lever: zero.with_levers(**{lever: 100.0 if lever == "capex_tax_credit_pct" else 1.0})
            for lever in LEVERS
        },
    }


def park_task(
    doc: dict[str, Any],
    points: Sequence[dict[str, float]],
    *,
    samples: int = 0,
    seed: int = 0,
    top: int = 3,
    base: Policy | None = None,
) -> dict[str, Any]:
    """One park's totals for every grid point (and every Monte Carlo draw): match once, evaluate
    each link once per lever, and add the levers up."""
    from symbiolink.accounting.evaluation import link_for
    from symbiolink.accounting.impact import evaluate
    from symbiolink.matching import Matcher

    park = ParkFile.model_validate(doc)
    matches = Matcher().match(park, top=top)
    policies = _lever_policies(base or Policy())
    library = default_factors()
    cache: dict[Any, Any] = {}
    draws = factor_draws(samples, seed) if samples else None
    n_points = len(points)
    lever_values = {lever: np.array([p.get(lever, 0.0) for p in points]) for lever in LEVERS}
    width = (samples,) if samples else ()
    viable = np.zeros((n_points, *width))
    net_total = np.zeros((n_points, *width))
    co2_total = np.zeros((n_points, *width))
    best_net: dict[str, np.ndarray] = {}
    best_co2: dict[str, np.ndarray] = {}
    for m in matches:
        link = link_for(park, m)
        roles = (base or Policy()).roles(library, link.region, link.supplier.park, cache)
        runs = {k: evaluate(link, roles, pol, draws=draws) for k, pol in policies.items()}
        base_run = runs[""]
        if base_run.net_benefit_usd_yr is None:
            continue
        net0 = np.asarray(base_run.net_benefit_usd_yr, dtype=float)
        co2 = np.asarray(base_run.co2e_avoided_t_yr, dtype=float)
        net = np.zeros((n_points, *width)) + net0
        for lever in LEVERS:
            slope = np.asarray(runs[lever].net_benefit_usd_yr, dtype=float) - net0
            scale = lever_values[lever] / (100.0 if lever == "capex_tax_credit_pct" else 1.0)
            net = net + scale.reshape(-1, *([1] * len(width))) * slope
        ok = (net > 0) & (co2 >= 0) & base_run.costs_complete
        viable += ok
        # Totals count each supply's best viable link (as `evaluate` does).
        score = np.where(ok, net, -np.inf)
        prev = best_net.get(m.supply)
        if prev is None:
            best_net[m.supply] = score
            best_co2[m.supply] = np.where(ok, np.zeros_like(net) + co2, 0.0)
        else:
            better = score > prev
            best_net[m.supply] = np.where(better, score, prev)
            best_co2[m.supply] = np.where(better, np.zeros_like(net) + co2, best_co2[m.supply])
    for supply, score in best_net.items():
        net_total += np.where(np.isfinite(score), score, 0.0)
        co2_total += np.where(np.isfinite(score), best_co2[supply], 0.0)
    return {"park": park.parks[0].id, "viable_links": viable.tolist(), "net_benefit_usd_yr": net_total.tolist(),
            "co2e_avoided_t_yr": co2_total.tolist()}  # fmt: skip


def run_scenarios(
    park: ParkFile,
    grid: dict[str, list[float]],
    *,
    samples: int = 0,
    seed: int = 0,
    top: int = 3,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Every scenario of ``grid`` over every park of ``park``: the totals of CONTRACTS section 5.

    ``workers=0`` runs in this process; otherwise a local Dask cluster of ``workers`` processes
    (default 2), or the cluster at ``scheduler``.
    """
    points = grid_points(grid)
    docs = split_parks(park)
    results: list[dict[str, Any]] = []
    if workers == 0 and scheduler is None:
        for n, doc in enumerate(docs, start=1):
            results.append(park_task(doc, points, samples=samples, seed=seed, top=top))
            if progress:
                progress(n, len(docs))
    else:
        results = _on_dask(docs, points, samples=samples, seed=seed, top=top, workers=workers or 2,
                           scheduler=scheduler, progress=progress)  # fmt: skip
    return aggregate(points, results, samples=samples)


def _on_dask(
    docs: list[dict[str, Any]],
    points: list[dict[str, float]],
    *,
    samples: int,
    seed: int,
    top: int,
    workers: int,
    scheduler: str | None,
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="10s")
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=40)  # fmt: skip
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        raise SymbiolinkError(
            f"cannot reach the Dask scheduler {scheduler or '(local)'}: {exc}"
        ) from None
    try:
        futures = [
            client.submit(park_task, doc, points, samples=samples, seed=seed, top=top, pure=False)
            for doc in docs
        ]
        out: list[dict[str, Any]] = []
        for n, fut in enumerate(as_completed(futures), start=1):
            out.append(fut.result())
            if progress:
                progress(n, len(docs))
        order = {d["parks"][0]["id"]: i for i, d in enumerate(docs)}
        return sorted(out, key=lambda r: order[r["park"]])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def aggregate(
    points: list[dict[str, float]], results: list[dict[str, Any]], *, samples: int = 0
) -> list[dict[str, Any]]:
    """Sum the parks' totals per scenario (per draw, then its percentiles, when sampled)."""
    out: list[dict[str, Any]] = []
    for i, point in enumerate(points):
        entry: dict[str, Any] = {"params": point}
        for metric in METRICS:
            values = (
                np.sum([np.asarray(r[metric][i], dtype=float) for r in results], axis=0)
                if results
                else np.zeros(max(samples, 1))
            )
            if samples:
                entry[metric] = (
                    float(np.median(values))
                    if metric != "viable_links"
                    else round(float(np.median(values)))
                )
                p10, p90 = np.percentile(values, [10, 90])
                entry[f"{metric}_p10"] = float(p10)
                entry[f"{metric}_p90"] = float(p90)
            else:
                entry[metric] = int(values) if metric == "viable_links" else float(values)
        out.append(entry)
    return out
