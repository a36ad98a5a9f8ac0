"""Time and peak memory of the network optimization on a large park, and the gain of the optimum
over a greedy pairing on the demo parks.

Part 1 (issue 5 target: at most 30 s): a park of 200 companies with 5,000 candidate links, a fifth of
them with a fixed yearly cost (a binary build decision each), materials, water with two
contaminants and heat, solved for cost to a 0.1 % gap. The network is drawn at random with a fixed
seed (a network, not a park file, so the link count is exact); each run is its own process, so
each peak memory is its own.

Part 2: for each demo park, the cost-optimal network (built from the park by matching and the
impact accounting) against the best one-link-at-a-time pairing.

Usage: python benchmarks/optimize_scale.py [--companies 200] [--links 5000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def random_network(companies: int, links: int, seed: int):  # type: ignore[no-untyped-def]
    from symbiolink.optimization import Arc, Network, Node

    rng = np.random.default_rng(seed)
    kinds = rng.choice(["material", "water", "energy"], size=companies, p=[0.5, 0.3, 0.2])
    sources: dict[str, Node] = {}
    sinks: dict[str, Node] = {}
    for c in range(companies):
        kind = str(kinds[c])
        for n in range(2):  # two supplies and two demands per company
            q = float(rng.uniform(10, 1000))
            src = Node(f"c{c}-s{n}", kind, f"c{c}", q)
            dst = Node(f"c{c}-d{n}", kind, f"c{c}", float(rng.uniform(10, 1000)))
            if kind == "water":
                src.contaminants = {
                    "COD": float(rng.uniform(0, 500)),
                    "TDS": float(rng.uniform(0, 2000)),
                }
                dst.max_contaminants = {
                    "COD": float(rng.uniform(20, 300)),
                    "TDS": float(rng.uniform(200, 1500)),
                }
            sources[src.id] = src
            sinks[dst.id] = dst
    by_kind: dict[str, tuple[list[str], list[str]]] = {}
    for k in ("material", "water", "energy"):
        by_kind[k] = (
            [s for s, n in sources.items() if n.kind == k],
            [d for d, n in sinks.items() if n.kind == k],
        )
    arcs: dict[tuple[str, str], Arc] = {}
    while len(arcs) < links:
        k = str(rng.choice(["material", "water", "energy"], p=[0.5, 0.3, 0.2]))
        srcs, dsts = by_kind[k]
        s, d = str(rng.choice(srcs)), str(rng.choice(dsts))
        if sources[s].company == sinks[d].company or (s, d) in arcs:
            continue
        fixed = float(rng.uniform(1e3, 5e4)) if rng.random() < 0.2 else 0.0
        arcs[(s, d)] = Arc(s, d, k, value_usd=float(rng.uniform(-5, 40)), fixed_usd=fixed,
                           co2_t=float(rng.uniform(0, 0.5)))  # fmt: skip
    return Network(
        sources=sources, sinks=sinks, arcs=list(arcs.values()), facilities={},
        disposal_usd={s: float(rng.uniform(0, 30)) for s in sources}, disposal_co2={s: 0.0 for s in sources},
        external_usd={d: float(rng.uniform(5, 60)) for d in sinks}, external_co2={d: 0.0 for d in sinks},
    )  # fmt: skip


def child(companies: int, links: int, seed: int) -> None:
    from symbiolink.optimization import build_model, greedy, solve

    net = random_network(companies, links, seed)
    t0 = time.perf_counter()
    built = build_model(net)
    t1 = time.perf_counter()
    result = solve(built, "cost", gap=1e-3)
    t2 = time.perf_counter()
    paired = greedy(net)
    print(json.dumps({
        "companies": companies, "links": len(net.arcs), "binaries": int(sum(a.fixed_usd > 0 for a in net.arcs)),
        "status": result.status, "build_s": round(t1 - t0, 2), "solve_s": round(t2 - t1, 2),
        "total_s": round(t2 - t0, 2), "saved_usd_yr": round(result.totals["net_benefit_usd_yr"]),
        "greedy_usd_yr": round(paired), "links_built": len(result.built_links),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))  # fmt: skip


def demo_gains() -> None:
    from symbiolink.demo import demo_files
    from symbiolink.io import read_park
    from symbiolink.optimization import build_model, build_network, greedy, solve

    for path in demo_files():
        park = read_park(path)
        t0 = time.perf_counter()
        net = build_network(park)
        result = solve(build_model(net), "cost")
        paired = greedy(net)
        best = result.totals["net_benefit_usd_yr"]
        print(json.dumps({
            "park": path.name, "candidate_links": len(net.arcs), "optimum_usd_yr": round(best),
            "greedy_usd_yr": round(paired), "gain_usd_yr": round(best - paired),
            "gain_pct": round(100 * (best - paired) / paired, 2) if paired else None,
            "co2e_avoided_t_yr": round(result.totals["co2e_avoided_t_yr"]), "seconds": round(time.perf_counter() - t0, 2),
        }))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--companies", type=int, default=200)
    ap.add_argument("--links", type=int, default=5000)
    ap.add_argument("--seed", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.companies, args.links, args.seed[0])
        return
    for seed in args.seed:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--companies",
            str(args.companies),
            "--links",
            str(args.links),
            "--seed",
            str(seed),
        ]
        print(
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            .stdout.strip()
            .splitlines()[-1],
            flush=True,
        )
    demo_gains()


if __name__ == "__main__":
    main()
