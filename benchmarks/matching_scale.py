"""Time and peak memory of ``symbiolink match --top 5`` on generated national registries.

Registries of about 10k, 40k and 160k streams (100 companies per park) are generated with
``symbiolink generate``; each is matched in its own process (so each peak memory is its own), the
way the CLI does it: read and validate the file, match every supply, write the JSON.

Targets (issue 3): 300 parks x 100 companies (about 150k streams) in at most 60 s and 4 GB; 4x the
streams costs at most 6x the time.

Usage: python benchmarks/matching_scale.py [--parks 25 100 400] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(file: str) -> None:
    t0 = time.perf_counter()
    from symbiolink.io import read_park
    from symbiolink.matching import Matcher

    park = read_park(file)
    t1 = time.perf_counter()
    matches = Matcher().match(park, top=5)
    t2 = time.perf_counter()
    with open(os.devnull, "w") as fh:
        json.dump({"matches": [m.to_dict() for m in matches]}, fh)
    t3 = time.perf_counter()
    supplies = sum(1 for s in park.streams if s.direction == "supply")
    print(json.dumps({"streams": len(park.streams), "supplies": supplies, "matches": len(matches), "read_s": t1 - t0,
                      "match_s": t2 - t1, "write_s": t3 - t2, "total_s": t3 - t0,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parks", type=int, nargs="+", default=[25, 100, 400])
    ap.add_argument("--companies-per-park", type=int, default=100)
    ap.add_argument("--keep", type=Path)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    folder = Path(args.keep or tempfile.mkdtemp(prefix="symbiolink-match-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for parks in args.parks:
        file = folder / f"registry-{parks}x{args.companies_per_park}.json"
        if not file.exists():
            subprocess.run([sys.executable, "-m", "symbiolink.cli", "generate", "--parks", str(parks),
                            "--companies-per-park", str(args.companies_per_park), "--seed", "7", "-o", str(file)], check=True, capture_output=True)  # fmt: skip
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(file)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        r["parks"] = parks
        results.append(r)
        print(f"{parks:4d} parks, {r['streams']:7d} streams ({r['supplies']} supplies): read {r['read_s']:5.1f} s, "
              f"match {r['match_s']:6.1f} s, write {r['write_s']:4.1f} s, total {r['total_s']:6.1f} s, peak {r['peak_rss_mb']:6.0f} MB")  # fmt: skip
    for a, b in itertools.pairwise(results):
        print(
            f"{b['streams'] / a['streams']:.1f}x the streams: {b['total_s'] / a['total_s']:.1f}x the time"
        )


if __name__ == "__main__":
    main()
