"""How long a background evaluation and optimization of a demo park take from queued to done, and
how often they write their progress, run the way the server's job thread runs them.

The Hai Phong demo park (``data/demo/vn-haiphong-cantho.json``) is imported into a fresh SQLite
file (or ``--database``); an evaluation and an optimization are queued as the park's manager (the
brokers' view) and each is run by ``web.jobs.run_next``. Reported per job: seconds from claim to
done, progress writes, and the fractions written. The matcher is built once per process, so the
first job includes that cost (reported apart by running a warm-up match first with ``--warm``).

Usage: python benchmarks/jobs_run.py [--park vn-hp-namcaukien] [--database URL] [--warm]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--park", default="vn-hp-namcaukien")
    parser.add_argument("--database", default=None)
    parser.add_argument("--warm", action="store_true", help="Build the matcher before timing.")
    args = parser.parse_args()

    from symbiolink.io import read_park
    from symbiolink.store import import_park, make_engine, migrate
    from symbiolink.store import jobs as store
    from symbiolink.store.links import shared_matcher
    from symbiolink.web import jobs as runner

    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{Path(tmp.name) / 'jobs.db'}"
    engine = make_engine(url)
    migrate(engine)
    park = read_park(resources.files("symbiolink") / "data" / "demo" / "vn-haiphong-cantho.json")  # type: ignore[arg-type]
    import_park(engine, park)
    if args.warm:
        shared_matcher().match(park, top=1)
    writes: list[float] = []
    write = store.set_progress

    def counted(engine: Any, job_id: int, **kw: Any) -> bool:
        writes.append(kw["progress"])
        return write(engine, job_id, **kw)

    store.set_progress = counted  # type: ignore[assignment]
    out = []
    for kind, params in (
        ("evaluation", {"policy": {}, "top": 5, "samples": 0, "seed": 0, "kb_exclude": []}),
        (
            "optimization",
            {"objective": "cost", "policy": {}, "no_outside": [], "pareto": 0, "gap": 1e-3},
        ),
    ):
        writes.clear()
        job = store.create_job(engine, kind=kind, park=args.park, requested_by=None, view="brokers",
                               params=params)  # fmt: skip
        start = time.perf_counter()
        runner.run_next(engine, "benchmark")
        seconds = time.perf_counter() - start
        done = store.get_job(engine, job["id"])
        assert done is not None
        out.append({"kind": kind, "park": args.park, "status": done["status"], "seconds": round(seconds, 2),
                    "progress_writes": len(writes), "fractions": [round(f, 3) for f in writes]})  # fmt: skip
    print(json.dumps(out, indent=1))
    engine.dispose()


if __name__ == "__main__":
    main()
