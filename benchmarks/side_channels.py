"""Timing of "missing" against "forbidden": does a company member learn, from how long a 404 takes,
whether a stream, company or link of another park exists?

A generated registry of two parks is imported into a fresh database (SQLite file, or PostgreSQL with
``--database``), the second park is matched so that it has links, and a member of a company of the
first park asks, in process (the app under Starlette's test client: no network in the figures),
for ids of the second park (forbidden) and for ids that exist nowhere (missing), interleaved in a
random order, ``--requests`` of each per route. Both must answer 404 with the same body; reported
per route: the median time of each, their difference, and the two-sided Mann-Whitney U test's p
value (scipy), which is small where the two times come from different distributions.

Usage: python benchmarks/side_channels.py [--requests 1000] [--database URL] [--seed 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def prepare(url: str) -> tuple[Any, str, dict[str, list[str]]]:
    """The app, a member's token, and per route the forbidden ids (of the other park)."""
    from symbiolink.model.validate import validate_document
    from symbiolink.store import import_park, links, open_store
    from symbiolink.store.accounts import add_user, issue_token
    from symbiolink.store.models import LinkRow
    from symbiolink.synthetic import generate_registry
    from symbiolink.web.app import create_app
    from symbiolink.web.limits import RateLimits

    park, _ = validate_document(generate_registry(2, 20, seed=5), file="registry")
    assert park is not None
    engine = open_store(url)
    import_park(engine, park)
    mine, other = park.parks[0].id, park.parks[1].id
    admin = add_user(engine, "admin@example.org", "side-channel-password", "admin")
    links.suggest_for_park(engine, other, admin)
    own_company = next(c.id for c in park.companies if c.park == mine)
    member = add_user(
        engine, "member@example.org", "side-channel-password", "company_member", company=own_company
    )
    token = issue_token(engine, member)
    theirs = {c.id for c in park.companies if c.park == other}
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        link_ids = [str(i) for i in s.scalars(select(LinkRow.id))]
    engine.dispose()
    forbidden = {
        "GET /api/v1/streams/{id}": [x.id for x in park.streams if x.company in theirs],
        "GET /api/v1/companies/{id}/streams": sorted(theirs),
        "GET /api/v1/links/{id}": link_ids,
        "GET /links/{id} (page)": link_ids,
    }
    app = create_app(url, rate_limits=RateLimits(0, 0))
    return app, token, forbidden


def run(url: str, requests: int, seed: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient
    from scipy.stats import mannwhitneyu

    app, token, forbidden = prepare(url)
    rng = random.Random(seed)
    out: dict[str, Any] = {"requests_per_kind": requests, "routes": {}}
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        client.cookies.set("symbiolink_session", token)
        for route, ids in forbidden.items():
            method, template = route.split(" ")[:2]
            missing = [f"zz-missing-{i}" if "links" not in template else str(900_000 + i)
                       for i in range(len(ids))]  # fmt: skip
            order = ["forbidden"] * requests + ["missing"] * requests
            rng.shuffle(order)
            times: dict[str, list[float]] = {"forbidden": [], "missing": []}
            for _ in range(20):  # warm-up
                client.request(method, template.replace("{id}", ids[0]))
            for kind in order:
                pool = ids if kind == "forbidden" else missing
                path = template.replace("{id}", rng.choice(pool))
                start = time.perf_counter()
                r = client.request(method, path)
                times[kind].append(time.perf_counter() - start)
                if r.status_code != 404:
                    raise SystemExit(f"{route}: {kind} id answered {r.status_code}, not 404")
            test = mannwhitneyu(times["forbidden"], times["missing"], alternative="two-sided")
            med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
            out["routes"][route] = {
                "median_forbidden_ms": round(med["forbidden"], 3),
                "median_missing_ms": round(med["missing"], 3),
                "difference_ms": round(med["forbidden"] - med["missing"], 3),
                "mann_whitney_u": float(test.statistic),
                "p_value": float(test.pvalue),
            }
    app.state.engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1000, help="of each kind, per route")
    ap.add_argument("--database", help="an empty database's URL (default: a fresh SQLite file)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'side.db'}"
        result = run(url, args.requests, args.seed)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    print(f"{args.requests} requests of each kind per route (in process)")
    print(f"{'route':38} {'forbidden ms':>13} {'missing ms':>11} {'diff ms':>8} {'p (M-W U)':>10}")
    for route, r in result["routes"].items():
        print(f"{route:38} {r['median_forbidden_ms']:13.3f} {r['median_missing_ms']:11.3f} "
              f"{r['difference_ms']:8.3f} {r['p_value']:10.3g}")  # fmt: skip


if __name__ == "__main__":
    main()
