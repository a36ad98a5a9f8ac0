"""Read throughput and latency of the API under 50 concurrent clients, on loopback.

A generated registry is imported into a fresh database (SQLite file, or PostgreSQL with
``--database``), a company member's token is issued, and ``symbiolink serve``'s app runs in its own
process (uvicorn, ``--server-workers`` processes). 50 clients then read for ``--seconds``: a park,
its companies, a company's streams, and a stream, in turn. Reported: requests per second, latency
p50, p95 and p99, and errors.

Targets (issue 6): at least 300 requests/s and p95 at most 100 ms. The time from posting a stream
to its matches (incremental matching) is not measured yet: the platform does not match
incrementally yet.

Usage: python benchmarks/api_load.py [--parks 25] [--clients 50] [--seconds 20] [--database URL]
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
    args = ap.parse_args()
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'load.db'}"
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


if __name__ == "__main__":
    main()
