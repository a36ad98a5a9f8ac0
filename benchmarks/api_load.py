"""Read throughput and latency of the API under 50 concurrent clients, on loopback.

A generated registry is imported into a fresh database (SQLite file, or PostgreSQL with
``--database``), a company member's token is issued, and ``symbiolink serve``'s app runs in its own
process (uvicorn, ``--server-workers`` processes, rate limits off). 50 connections then read for
``--seconds``: a park, its companies, a company's streams, or a stream, chosen at random.

Each ``--rate`` is one run, printed as one JSON line: ``0`` is closed loop (each connection sends
its next request when the last is answered: the most the server does, with queues full), a number
is paced (open loop: requests are due at that many per second whatever the server does, and each
latency counts from when its request was due, so a stall is not hidden by sending less; no
coordinated omission). Closed loop runs on Debian's ``wrk`` (C, with ``wrk_reads.lua``) when it is
installed, else on the small asyncio HTTP/1.1 client below; paced runs always use that client
(Debian's wrk has no ``-R``). Reported: requests per second, latency p50, p95 and p99, and errors.

Targets (issue 6): at least 300 requests/s and p95 at most 100 ms.

``--mode posts`` measures incremental matching instead (issue 6, acceptance 4: at most 200 ms
median against about 150k streams, ``--parks 400``): the server's live index is built (the first
read of matches: build and writing every stored match, timed, with the server's memory before and
after), then a company member posts ``--posts`` new streams one at a time (supplies and demands
named as the registry's streams are) and edits each second one, and each time the clock runs from
sending the POST (or PATCH) until ``GET /streams/{id}/matches`` has answered with its matches.

Usage: python benchmarks/api_load.py [--parks 25] [--clients 50] [--seconds 20] [--rate 0 300]
[--server-workers 1] [--generator auto|wrk|python] [--database URL]
       python benchmarks/api_load.py --mode posts [--parks 400] [--posts 100] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


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


def _pick(rng: random.Random, park: str, companies: list[str], streams: list[str]) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return f"/api/v1/parks/{park}"
    if kind == 1:
        return f"/api/v1/parks/{park}/companies"
    if kind == 2:
        return f"/api/v1/companies/{rng.choice(companies)}/streams"
    return f"/api/v1/streams/{rng.choice(streams)}"


class Connection:
    """One keep-alive HTTP/1.1 connection that sends GETs and reads answers with Content-Length
    (what uvicorn sends for JSON); far less work per request than a general client, so the load
    generator leaves the cores to the server."""

    def __init__(self, host: str, port: int, token: str, extra: str = "") -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n{extra}".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        return (await self.request("GET", path))[0]

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """Send one request (``body`` as JSON); the status and the body of the answer."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        data = b"" if body is None else json.dumps(body).encode()
        kind = b"Content-Type: application/json\r\n" if body is not None else b""
        length = (
            f"Content-Length: {len(data)}\r\n".encode()
            if body is not None or method != "GET"
            else b""
        )
        self.writer.write(
            f"{method} {path} HTTP/1.1\r\n".encode() + self.head + kind + length + b"\r\n" + data
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        size = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                size = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        answer = await self.reader.readexactly(size)
        if close:
            self.close()
        return status, answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def closed_loop(conns: list[Connection], pick: Any, seconds: float) -> tuple[list[float], list[int], float]:  # fmt: skip
    """Every connection sends its next request as soon as the last is answered."""
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    until = start + seconds

    async def loop(conn: Connection) -> None:
        rng = random.Random()
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            status = await conn.get(pick(rng))
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(status)

    await asyncio.gather(*(loop(c) for c in conns))
    return latencies, errors, time.perf_counter() - start


async def paced(conns: list[Connection], pick: Any, seconds: float, rate: float) -> tuple[list[float], list[int], float]:  # fmt: skip
    """Open loop: request i is due at ``start + i / rate``, sent on the first free connection, and its
    latency counts from when it was due (time spent waiting for a free connection included)."""
    latencies: list[float] = []
    errors: list[int] = []
    free: asyncio.Queue[Connection] = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)
    rng = random.Random()
    start = time.perf_counter()
    total = int(seconds * rate)
    pending: set[asyncio.Task[None]] = set()

    async def one(due: float, path: str) -> None:
        conn = await free.get()
        try:
            status = await conn.get(path)
        finally:
            free.put_nowait(conn)
        latencies.append(time.perf_counter() - due)
        if status != 200:
            errors.append(status)

    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(due, pick(rng)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    return latencies, errors, time.perf_counter() - start


def python_run(port: int, token: str, pick: Any, clients: int, seconds: float, rate: float) -> tuple[list[float], list[int], float]:  # fmt: skip
    async def run() -> tuple[list[float], list[int], float]:
        conns = [Connection("127.0.0.1", port, token) for _ in range(clients)]
        try:
            if rate > 0:
                return await paced(conns, pick, seconds, rate)
            return await closed_loop(conns, pick, seconds)
        finally:
            for c in conns:
                c.close()

    return asyncio.run(run())


def wrk_run(port: int, token: str, park: str, companies: list[str], streams: list[str],
            clients: int, seconds: float) -> dict[str, Any]:  # fmt: skip
    """Closed loop on wrk (one thread, ``clients`` connections) with ``wrk_reads.lua``."""
    script = Path(__file__).with_name("wrk_reads.lua")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as ids:
        # The ids go to the Lua script as a small module it loads (wrk passes no data otherwise).
        companies_lua = ",".join(map(json.dumps, companies))
        streams_lua = ",".join(map(json.dumps, streams))
        ids.write(
            f"return {{park={json.dumps(park)}, companies={{{companies_lua}}}, streams={{{streams_lua}}}}}\n"
        )
    env = {**os.environ, "SYMBIOLINK_LOAD_IDS": ids.name, "SYMBIOLINK_LOAD_TOKEN": token}
    proc = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(script),
         f"http://127.0.0.1:{port}"], env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    out = proc.stdout
    os.unlink(ids.name)
    line = next(x for x in out.splitlines() if x.startswith("SUMMARY "))
    result: dict[str, Any] = json.loads(line.removeprefix("SUMMARY "))
    return result


def _summary(url: str, args: argparse.Namespace, generator: str, rate: float, requests: int,
             errors: int, elapsed: float, p50: float, p95: float, p99: float) -> dict[str, Any]:  # fmt: skip
    return {
        "database": url.split(":")[0].split("+")[0], "parks": args.parks, "clients": args.clients,
        "server_workers": args.server_workers, "http": args.http, "loop": args.loop, "mode": f"paced {rate:g}/s" if rate > 0 else "closed",
        "generator": generator, "requests": requests, "errors": errors,
        "requests_per_s": round(requests / elapsed, 1), "p50_ms": round(p50 * 1000, 1),
        "p95_ms": round(p95 * 1000, 1), "p99_ms": round(p99 * 1000, 1),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parks", type=int, default=25)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--server-workers", type=int, default=1)
    ap.add_argument(
        "--rate", type=float, nargs="+", default=[0.0, 300.0],
        help="one run per value: 0 = closed loop, else paced at that many requests/s",
    )  # fmt: skip
    ap.add_argument(
        "--generator", choices=["auto", "wrk", "python"], default="auto",
        help="closed loop on wrk (auto: when installed) or on the Python client",
    )  # fmt: skip
    ap.add_argument("--http", choices=["auto", "h11", "httptools"], default="auto",
                    help="uvicorn's HTTP parser (auto: httptools when installed)")  # fmt: skip
    ap.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto",
                    help="uvicorn's event loop (auto: uvloop when installed)")  # fmt: skip
    ap.add_argument(
        "--database", help="SQLAlchemy URL of an empty database (default: a new SQLite file)"
    )
    ap.add_argument("--mode", choices=["reads", "posts"], default="reads")
    ap.add_argument("--posts", type=int, default=100, help="streams to post (--mode posts)")
    args = ap.parse_args()
    if args.generator == "wrk" and shutil.which("wrk") is None:
        ap.error("--generator wrk: wrk is not installed (Debian: apt-get install wrk)")
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'load.db'}"
    if args.mode == "posts":
        posts_main(url, args.parks, args.posts)
        return
    park, companies, streams = prepare(url, args.parks)
    port = _free_port()
    # Rate limits off (the load comes from one account and one address); the token cache as shipped.
    env = {**os.environ, "SYMBIOLINK_DATABASE_URL": url, "SYMBIOLINK_RATE_LIMIT": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "symbiolink.web.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(args.server_workers), "--log-level", "warning",
         "--no-access-log", "--http", args.http, "--loop", args.loop],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def pick(rng: random.Random) -> str:
        return _pick(rng, park, companies, streams)

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
        # A short warm-up, so every worker has its connections and caches before the clock runs.
        python_run(port, token, pick, args.clients, 2.0, 0.0)
        for rate in args.rate:
            if rate <= 0 and use_wrk:
                r = wrk_run(port, token, park, companies, streams, args.clients, args.seconds)
                summary = _summary(url, args, "wrk", rate, r["requests"], r["errors"],
                                   r["duration_us"] / 1e6, r["p50_us"] / 1e6, r["p95_us"] / 1e6,
                                   r["p99_us"] / 1e6)  # fmt: skip
            else:
                latencies, errors, elapsed = python_run(
                    port, token, pick, args.clients, args.seconds, rate
                )
                q = statistics.quantiles(latencies, n=100)
                summary = _summary(url, args, "python", rate, len(latencies), len(errors), elapsed,
                                   q[49], q[94], q[98])  # fmt: skip
            print(json.dumps(summary), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)


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
        env={**os.environ, "SYMBIOLINK_DATABASE_URL": url, "SYMBIOLINK_RATE_LIMIT": "0"},
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
