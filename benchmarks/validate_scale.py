"""Validate and import a large park file: time and peak memory.

Generates a park file of N streams (default 100,000) spread over parks and companies with realistic
codes, units and properties, then in separate processes (so each peak is its own):

1. validates it (read, decode, check everything), and
2. validates and imports it into a fresh SQLite database.

Targets (issue 2): validate <= 10 s, import <= 60 s, peak memory <= 1 GB.

Usage: python benchmarks/validate_scale.py [--streams N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EWC = [
    "100202",
    "100201",
    "100101",
    "100102",
    "100105",
    "020202",
    "020304",
    "030105",
    "070213",
    "120101",
    "190805",
    "150102",
    "100210",
    "191212",
    "020106",
]
ISIC = [
    "2410",
    "2394",
    "1020",
    "1061",
    "3510",
    "3700",
    "2220",
    "1104",
    "2011",
    "1701",
    "2395",
    "0321",
    "3821",
]
UNITS = {
    "material": ["t/yr", "kg/day", "t/month"],
    "water": ["m3/h", "m3/day"],
    "energy": ["MWh/yr", "kW", "GJ/month"],
}


def generate(n_streams: int, path: Path, seed: int = 1) -> None:
    rng = random.Random(seed)
    n_companies = max(1, n_streams // 10)
    n_parks = max(1, n_companies // 100)
    parks = [
        {
            "id": f"park-{p}",
            "name": f"Industrial park {p}",
            "country": "VN",
            "lat": 8.5 + 14 * rng.random(),
            "lon": 103 + 6 * rng.random(),
        }
        for p in range(n_parks)
    ]
    companies = [
        {
            "id": f"co-{c}",
            "name": f"Company {c}",
            "park": f"park-{c % n_parks}",
            "isic": rng.choice(ISIC),
            "description": "generated",
        }
        for c in range(n_companies)
    ]
    streams = []
    for s in range(n_streams):
        kind = rng.choices(["material", "water", "energy"], weights=[6, 2, 2])[0]
        direction = rng.choice(["supply", "demand"])
        stream = {"id": f"s-{s}", "company": f"co-{s % n_companies}", "direction": direction, "kind": kind, "name": f"Stream {s} ({kind})",
                  "quantity": round(rng.uniform(1, 50000), 2), "unit": rng.choice(UNITS[kind])}  # fmt: skip
        if kind == "material":
            stream["ewc"] = rng.choice(EWC)
        elif kind == "water":
            key = "contaminants" if direction == "supply" else "max_contaminants"
            stream["properties"] = {
                key: {
                    "COD": round(rng.uniform(10, 300), 1),
                    "TDS": round(rng.uniform(100, 2000), 1),
                },
                "temperature_c": 25,
            }
        else:
            stream["properties"] = {"temperature_c": round(rng.uniform(40, 400), 1)}
        streams.append(stream)
    path.write_text(
        json.dumps(
            {
                "format": "symbiolink-park/1",
                "parks": parks,
                "companies": companies,
                "streams": streams,
            }
        ),
        encoding="utf-8",
    )


def phase(name: str, file: str, db: str) -> None:
    """Run in a child process: one phase, then print its figures as JSON."""
    t0 = time.perf_counter()
    from symbiolink.io import read_park

    park = read_park(file)
    t_validate = time.perf_counter() - t0
    result = {"phase": name, "validate_s": t_validate, "streams": len(park.streams)}
    if name == "import":
        from symbiolink.store import import_park, using_store

        t1 = time.perf_counter()
        with using_store(db) as engine:
            import_park(engine, park, source=file)
        result["import_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        with using_store(db) as engine:
            import_park(engine, park, source=file)
        result["reimport_s"] = time.perf_counter() - t2
    result["total_s"] = time.perf_counter() - t0
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="keep the generated file and database in this folder")
    ap.add_argument("--phase", choices=["validate", "import"], help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        phase(args.phase, args.file, args.db)
        return
    folder = Path(args.keep or tempfile.mkdtemp(prefix="symbiolink-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"park-{args.streams}.json"
    t0 = time.perf_counter()
    generate(args.streams, file)
    print(
        f"generated {file} ({file.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s"
    )
    db = folder / "bench.db"
    db.unlink(missing_ok=True)
    for name in ("validate", "import"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--phase",
                name,
                "--file",
                str(file),
                "--db",
                f"sqlite:///{db}",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        if name == "validate":
            print(
                f"validate: {r['streams']} streams in {r['validate_s']:.2f} s, peak RSS {r['peak_rss_mb']:.0f} MB  (target <= 10 s, <= 1024 MB)"
            )
        else:
            print(
                f"import:   validate {r['validate_s']:.2f} s + import into SQLite {r['import_s']:.2f} s (re-import, all updates: {r['reimport_s']:.2f} s), "
                f"peak RSS {r['peak_rss_mb']:.0f} MB  (target <= 60 s, <= 1024 MB)"
            )


if __name__ == "__main__":
    main()
