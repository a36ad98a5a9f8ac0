"""Read throughput and latency of the API under 50 concurrent clients, on loopback.

A generated registry is imported into a fresh database (SQLite file, or PostgreSQL with
``--database``), a company member's token is issued, and ``symbiolink serve``'s app runs in its own
process (uvicorn, ``--server-workers`` processes). 50 clients then read for ``--seconds``: a park,
its companies, a company's streams, and a stream, in turn. Reported: requests per second, latency
p50, p95 and p99, and errors.

Targets (issue 6): at least 300 requests/s and p95 at most 100 ms.

``--mode posts`` measures incremental matching instead (issue 6, acceptance 4: at most 200 ms
median against about 150k streams, ``--parks 400``): the server's live index is built (the first
read of matches: build and writing every stored match, timed, with the server's memory before and
after), then a company member posts ``--posts`` new streams one at a time (supplies and demands
named as the registry's streams are) and edits each second one, and each time the clock runs from
sending the POST (or PATCH) until ``GET /streams/{id}/matches`` has answered with its matches.

Usage: python benchmarks/api_load.py [--parks 25] [--clients 50] [--seconds 20] [--database URL]
       python benchmarks/api_load.py --mode posts [--parks 400] [--posts 100] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str, parks: int) -> tuple[str, list[str], list[str]]:
    """Import a generated registry, make a company member; returns the member, companies, streams."""
    from symbiolink.model.validate import validate_document
    from symbiolink.store import import_park, open_store
    from symbiolink.store.accounts import add_user
    from symbiolink.synthetic import generate_registry

    park, _ = validate_document(generate_registry(parks, 100, seed=3), file="registry")
    assert park is not None
    engine = open_store(url)
    import_park(engine, park)
    first = park.parks[0].id
    companies = [c.id for c in park.companies if c.park == first]
    streams = [s.id for s in park.streams if s.company in set(companies)]
    add_user(
        engine, "load@example.org", "load-test-password", "company_member", company=companies[0]
    )
    engine.dispose()
    return first, companies, streams


async def client_loop(base: str, token: str, park: str, companies: list[str], streams: list[str],
                      until: float, latencies: list[float], errors: list[int]) -> None:  # fmt: skip
    import httpx2 as httpx

    rng = random.Random()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        while time.perf_counter() < until:
            path = rng.choice([
                f"/api/v1/parks/{park}", f"/api/v1/parks/{park}/companies",
                f"/api/v1/companies/{rng.choice(companies)}/streams", f"/api/v1/streams/{rng.choice(streams)}",
            ])  # fmt: skip
            t0 = time.perf_counter()
            r = await client.get(path)
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 200:
                errors.append(r.status_code)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parks", type=int, default=25)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--server-workers", type=int, default=1)
    ap.add_argument(
        "--database", help="SQLAlchemy URL of an empty database (default: a new SQLite file)"
    )
    ap.add_argument("--mode", choices=["reads", "posts"], default="reads")
    ap.add_argument("--posts", type=int, default=100, help="streams to post (--mode posts)")
    args = ap.parse_args()
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'load.db'}"
    if args.mode == "posts":
        posts_main(url, args.parks, args.posts)
        return
    park, companies, streams = prepare(url, args.parks)
    port = _free_port()
    env = {**os.environ, "SYMBIOLINK_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "symbiolink.web.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(args.server_workers), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx2 as httpx

        for _ in range(200):
            try:
                token = httpx.post(
                    f"{base}/api/v1/auth/token",
                    data={"username": "load@example.org", "password": "load-test-password"},
                ).json()["access_token"]
                break
            except (httpx.HTTPError, KeyError):
                time.sleep(0.1)
        latencies: list[float] = []
        errors: list[int] = []
        until = time.perf_counter() + args.seconds
        start = time.perf_counter()
        asyncio.run(
            _run(base, token, park, companies, streams, until, latencies, errors, args.clients)
        )
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=20)
    q = statistics.quantiles(latencies, n=100)
    print(json.dumps({
        "database": url.split(":")[0], "parks": args.parks, "clients": args.clients,
        "server_workers": args.server_workers, "requests": len(latencies), "errors": len(errors),
        "requests_per_s": round(len(latencies) / elapsed, 1), "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1), "p99_ms": round(q[98] * 1000, 1),
    }))  # fmt: skip


async def _run(base: str, token: str, park: str, companies: list[str], streams: list[str], until: float,
               latencies: list[float], errors: list[int], clients: int) -> None:  # fmt: skip
    await asyncio.gather(
        *(
            client_loop(base, token, park, companies, streams, until, latencies, errors)
            for _ in range(clients)
        )
    )


# -- posts: the time from posting a stream to its matches ------------------------------------------


def _rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _quantiles(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"n": len(xs), "median_ms": round(statistics.median(xs) * 1000, 1),
            "p95_ms": round(xs[min(len(xs) - 1, int(0.95 * len(xs)))] * 1000, 1),
            "max_ms": round(xs[-1] * 1000, 1)}  # fmt: skip


def posts_main(url: str, parks: int, posts: int) -> None:
    import httpx2 as httpx

    from symbiolink.model.validate import validate_document
    from symbiolink.store import import_park, open_store
    from symbiolink.store.accounts import add_user
    from symbiolink.synthetic import generate_registry

    t0 = time.perf_counter()
    park, _ = validate_document(generate_registry(parks, 100, seed=3), file="registry")
    assert park is not None
    engine = open_store(url)
    import_park(engine, park)
    company = park.company_by_id()[park.streams[len(park.streams) // 2].company]
    add_user(
        engine, "poster@example.org", "load-test-password", "company_member", company=company.id
    )
    engine.dispose()
    imported = time.perf_counter() - t0
    rng = random.Random(11)
    templates = [s for s in park.streams if s.quantity is None or s.quantity < 1e6]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "symbiolink.web.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--log-level", "warning"],
        env={**os.environ, "SYMBIOLINK_DATABASE_URL": url},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(600):
            try:
                token = httpx.post(
                    f"{base}/auth/token",
                    data={"username": "poster@example.org", "password": "load-test-password"},
                ).json()["access_token"]
                break
            except (httpx.HTTPError, KeyError):
                time.sleep(0.1)
        client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=3600)
        before = _rss_mb(server.pid)
        own = next(s.id for s in park.streams if s.company == company.id)
        t = time.perf_counter()
        r = client.get(f"{base}/streams/{own}/matches")
        assert r.status_code == 200, r.text
        build = time.perf_counter() - t
        after = _rss_mb(server.pid)
        times: dict[str, list[float]] = {"post supply": [], "post demand": [], "edit": []}
        empty = 0
        for i in range(posts):
            s = rng.choice(templates)
            body = {"id": f"posted-{i}", "direction": s.direction, "kind": s.kind, "name": s.name}
            if s.ewc:
                body["ewc"] = s.ewc
            t = time.perf_counter()
            r = client.post(f"{base}/companies/{company.id}/streams", json=body)
            assert r.status_code == 201, r.text
            found = client.get(f"{base}/streams/posted-{i}/matches")
            times[f"post {s.direction}"].append(time.perf_counter() - t)
            assert found.status_code == 200, found.text
            empty += not found.json()
            if i % 2:
                other = rng.choice(templates)
                change = {"name": other.name, "kind": other.kind, "direction": other.direction,
                          "ewc": other.ewc}  # fmt: skip
                t = time.perf_counter()
                r = client.patch(f"{base}/streams/posted-{i}", json=change)
                assert r.status_code == 200, r.text
                found = client.get(f"{base}/streams/posted-{i}/matches")
                times["edit"].append(time.perf_counter() - t)
                assert found.status_code == 200, found.text
        rss = _rss_mb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # still building the index: it does not stop between
            server.kill()
            server.wait()
    every = [x for xs in times.values() for x in xs]
    print(json.dumps({
        "mode": "posts", "database": url.split(":")[0], "parks": parks, "streams": len(park.streams),
        "import_s": round(imported, 1), "index_build_and_store_s": round(build, 1),
        "server_rss_mb": {"before_index": round(before), "after_index": round(after), "at_end": round(rss)},
        "post_to_matches": _quantiles(every), **{k: _quantiles(v) for k, v in times.items() if v},
        "posted_without_matches": empty,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
