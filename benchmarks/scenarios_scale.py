"""Time and memory of a national scenario sweep on Dask, with 1 and 2 local workers, and the largest
registry this machine handles end to end.

Part 1 (issue 7): a generated registry of 300 parks (``--companies-per-park``, default 100) and a grid
of 12 points (landfill tax 0/20/50 USD/t x carbon price 0/50 USD/t x subsidy 0/10 USD/t), run with
``run_scenarios(workers=1)`` and ``workers=2`` (a local cluster each time, started inside the timing).
Reported: wall time, speed-up, the peak memory of this process and each worker's memory at the end, and a check that
both runs give the same numbers.

Part 2: end to end (read and validate the file, then the sweep on 2 workers) on registries of
growing size (``--sizes``, in parks), each in its own process; the largest that finishes within
``--limit`` seconds is the answer.

Usage: python benchmarks/scenarios_scale.py [--parks 300] [--companies-per-park 100] [--sizes 300 600 1200]
       [--only-end-to-end]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRID = {
    "landfill_tax_usd_t": [0.0, 20.0, 50.0],
    "carbon_price_usd_t": [0.0, 50.0],
    "subsidy_usd_t": [0.0, 10.0],
}


def _registry(folder: Path, parks: int, per_park: int) -> Path:
    path = folder / f"registry-{parks}x{per_park}.json"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "symbiolink.cli", "generate", "--parks", str(parks),
                        "--companies-per-park", str(per_park), "--seed", "7", "-o", str(path)],
                       check=True, capture_output=True)  # fmt: skip
    return path


def _worker_rss_mb() -> float:
    """The worker's resident memory at the end of the sweep. (Its ``ru_maxrss`` would be useless:
    a forked worker inherits the client's peak.)"""
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def sweep(path: Path, workers: int) -> dict[str, object]:
    from dask.distributed import Client, LocalCluster

    from symbiolink.analytics.scenarios import aggregate, grid_points, park_task, split_parks
    from symbiolink.io import read_park

    t0 = time.perf_counter()
    park = read_park(path)
    t1 = time.perf_counter()
    docs = split_parks(park)
    points = grid_points(GRID)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=40) as cluster, Client(cluster) as client:  # fmt: skip
        futures = client.map(park_task, docs, points=points, pure=False)
        results = client.gather(futures)
        peaks = client.run(_worker_rss_mb)
    t2 = time.perf_counter()
    scenarios = aggregate(points, results)
    return {
        "parks": len(park.parks), "streams": len(park.streams), "workers": workers, "grid_points": len(points),
        "read_s": round(t1 - t0, 1), "sweep_s": round(t2 - t1, 1), "total_s": round(t2 - t0, 1),
        "client_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "worker_rss_mb": sorted(round(v) for v in peaks.values()),
        "viable_links_at_no_policy": scenarios[0]["viable_links"],
        "checksum": round(sum(s["net_benefit_usd_yr"] for s in scenarios), 2),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parks", type=int, default=300)
    ap.add_argument("--companies-per-park", type=int, default=100)
    ap.add_argument("--sizes", type=int, nargs="*", default=[300, 600, 1200])
    ap.add_argument("--limit", type=float, default=900.0)
    ap.add_argument("--keep", type=Path)
    ap.add_argument("--only-end-to-end", action="store_true", help="Skip part 1.")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(sweep(Path(args.child[0]), int(args.child[1]))), flush=True)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="symbiolink-scen-"))
    folder.mkdir(parents=True, exist_ok=True)
    runs = []
    for workers in () if args.only_end_to_end else (1, 2):
        path = _registry(folder, args.parks, args.companies_per_park)
        out = subprocess.run([sys.executable, __file__, "--child", str(path), str(workers)], check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        runs.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(runs[-1]), flush=True)
    if runs:
        print(json.dumps({"speed_up": round(runs[0]["sweep_s"] / runs[1]["sweep_s"], 2),
                          "same_numbers": runs[0]["checksum"] == runs[1]["checksum"]}), flush=True)  # fmt: skip
    for parks in args.sizes:
        big = _registry(folder, parks, args.companies_per_park)
        try:
            out = subprocess.run([sys.executable, __file__, "--child", str(big), "2"], check=True,
                                 capture_output=True, text=True, timeout=args.limit).stdout  # fmt: skip
        except subprocess.TimeoutExpired:
            print(json.dumps({"parks": parks, "end_to_end": f"over {args.limit:g} s"}), flush=True)
            break
        except subprocess.CalledProcessError as exc:
            print(
                json.dumps({"parks": parks, "end_to_end": "failed", "stderr": exc.stderr[-500:]}),
                flush=True,
            )
            break
        print(json.dumps({"end_to_end": json.loads(out.strip().splitlines()[-1])}), flush=True)


if __name__ == "__main__":
    main()
