"""A soak test of the platform on PostgreSQL: 50 users for ``--minutes``, then every write checked.

A fresh PostgreSQL database is made (and dropped at the end), a generated registry imported, links
suggested in each park and some moved on to ``operating``, and 50 accounts made: members of several
companies in three parks, the parks' managers and facilitators. ``symbiolink serve``'s app runs on
loopback (uvicorn, ``--server-workers`` processes, rate limits off) and every user, on its own
keep-alive connection, sends requests one after another with a short pause between them
(``--think-ms``, at random up to that): about 80% reads (parks, companies, streams, links, the
pages) and 20% writes (create, patch and delete streams, privacy changes, link actions,
measurements).

Printed: one JSON line per request class (requests, statuses, p50/p95/p99), then one summary line.
Afterwards the database is read back and checked:

- every stream whose creation or last change was acknowledged (2xx) is there with the final value
  it was given (quantity, privacy), every acknowledged deletion is gone, and no refused creation
  is stored;
- every acknowledged link action is one event of the link by that user, and no refused one is;
- every acknowledged measurement is stored with its last value, and a month no write was
  acknowledged for has none.

Each user writes only the streams it created and its own months (users 0..49 write years
1950..1999), so the final value of each is that of its last acknowledged write, whatever the order
of the users. Exit status 1 if any request got a 5xx or no answer, or any check fails.

To look into a failure: ``SOAK_KEEP=1`` keeps the database (its name is printed) and
``SOAK_DEBUG=1`` prints every 404 with the user and the request.

Usage: python benchmarks/soak.py [--minutes 10] [--users 50] [--server-workers 2]
[--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from api_load import Connection, _free_port

PASSWORD = "soak-test-password"
#: The unit of a month's measured amount, per kind of the link's stream.
UNIT = {"material": "t", "water": "m3", "energy": "MWh"}


@dataclass
class Account:
    email: str
    role: str
    park: str
    company: str | None = None
    index: int = 0
    token: str = ""
    user_id: int = 0


@dataclass
class Ledger:
    """What the server acknowledged or refused, to compare with the database afterwards."""

    streams: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """Stream id -> its final acknowledged state (None: deleted)."""
    refused_creates: set[str] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)
    actions: Counter[tuple[int, int, str]] = field(default_factory=Counter)
    """(link, user, action) -> acknowledged count."""
    refused_actions: Counter[tuple[int, int, str]] = field(default_factory=Counter)
    measurements: dict[tuple[int, str], float] = field(default_factory=dict)
    tried_months: set[tuple[int, str]] = field(default_factory=set)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    transport_errors: Counter[str] = field(default_factory=Counter)


def make_database(admin_url: str) -> str:
    import psycopg

    name = f"symbiolink_soak_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(url: str, users: int, seed: int) -> tuple[list[Account], dict[str, Any]]:
    """The registry, the accounts and some links in each park moved on to ``operating``."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from symbiolink.model.validate import validate_document
    from symbiolink.store import import_park, open_store
    from symbiolink.store import links as store_links
    from symbiolink.store.accounts import add_user
    from symbiolink.store.models import LinkRow
    from symbiolink.synthetic import generate_registry

    park, _ = validate_document(generate_registry(4, 40, seed=seed), file="registry")
    assert park is not None
    engine = open_store(url)
    import_park(engine, park)
    used = [p.id for p in park.parks[:3]]
    by_park = {p: [c.id for c in park.companies if c.park == p] for p in used}
    accounts: list[Account] = []
    for p in used:
        accounts.append(Account(f"manager-{p}@soak.example.org", "park_manager", p))
        accounts.append(Account(f"facilitator-{p}@soak.example.org", "facilitator", p))
    members = users - len(accounts)
    for i in range(members):
        p = used[i % len(used)]
        company = by_park[p][(i // len(used)) % len(by_park[p])]
        accounts.append(Account(f"member-{i}@soak.example.org", "company_member", p, company))
    made = {}
    for i, a in enumerate(accounts):
        a.index = i
        u = add_user(engine, a.email, PASSWORD, a.role, park=a.park, company=a.company,
                     parks=[a.park] if a.role == "facilitator" else ())  # fmt: skip
        a.user_id = u.id
        made[a.email] = u
    links: dict[str, list[int]] = {}
    company_links: dict[str, list[int]] = {}
    link_kind: dict[int, str] = {}
    for p in used:
        manager = made[f"manager-{p}@soak.example.org"]
        store_links.suggest_for_park(engine, p, manager)
    with Session(engine) as session, session.begin():
        for p in used:
            manager = made[f"manager-{p}@soak.example.org"]
            rows = session.scalars(select(LinkRow).order_by(LinkRow.id)).all()
            mine = [r for r in rows if store_links.broker(manager, store_links.sides(session, r))]
            links[p] = [r.id for r in mine]
            for r in mine:
                sides = store_links.sides(session, r)
                link_kind[r.id] = sides.stream.kind
                for c in (sides.supplier.id, sides.receiver.id):
                    company_links.setdefault(c, []).append(r.id)
            # A quarter of the park's links operate (so measurements are taken); the rest stay
            # where the users move them.
            for r in mine[: max(1, len(mine) // 4)]:
                r.status, r.supplier_consent, r.receiver_consent = "operating", True, True
    engine.dispose()
    companies = {p: by_park[p] for p in used}
    streams = {s.company: [] for s in park.streams}
    for s in park.streams:
        streams[s.company].append(s.id)
    return accounts, {"companies": companies, "streams": streams, "links": links,
                      "company_links": company_links, "link_kind": link_kind}  # fmt: skip


class User:
    def __init__(self, account: Account, world: dict[str, Any], port: int, ledger: Ledger) -> None:
        self.a, self.world, self.ledger = account, world, ledger
        cookie = f"Cookie: symbiolink_session={account.token}\r\n"
        self.conn = Connection("127.0.0.1", port, account.token, extra=cookie)
        self.rng = random.Random(account.index)
        self.created: list[str] = []
        self.serial = 0

    async def call(self, klass: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        t0 = time.perf_counter()
        try:
            status, raw = await asyncio.wait_for(self.conn.request(method, path, body), 60)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.conn.close()
            self.ledger.transport_errors[f"{klass}: {exc.__class__.__name__}"] += 1
            return 0, None
        self.ledger.latencies[klass].append(time.perf_counter() - t0)
        self.ledger.statuses[klass][status] += 1
        doc = None
        if raw and raw[:1] in (b"{", b"["):
            doc = json.loads(raw)
        if os.environ.get("SOAK_DEBUG") and status == 404:
            print(
                f"404 {self.a.role} {self.a.company} {method} {path}: {raw[:200]!r}",
                file=sys.stderr,
            )
        return status, doc

    # -- reads -----------------------------------------------------------------------------------

    async def read(self) -> None:
        a, w, rng = self.a, self.world, self.rng
        company = a.company or rng.choice(w["companies"][a.park])
        kind = rng.randrange(10)
        if kind == 0:
            await self.call("read park", "GET", f"/api/v1/parks/{a.park}")
        elif kind == 1:
            await self.call("read companies", "GET", f"/api/v1/parks/{a.park}/companies")
        elif kind in (2, 3):
            other = rng.choice(w["companies"][a.park])
            await self.call("read streams", "GET", f"/api/v1/companies/{rng.choice([company, other])}/streams")  # fmt: skip
        elif kind in (4, 5):
            stream = rng.choice(self.created or w["streams"].get(company) or ["none"])
            await self.call("read stream", "GET", f"/api/v1/streams/{stream}")
        elif kind in (6, 7):
            link = self._link()
            if link is None or rng.random() < 0.5:
                await self.call("read links", "GET", f"/api/v1/companies/{company}/links")
            else:
                await self.call("read link", "GET", f"/api/v1/links/{link}")
        elif kind == 8:
            await self.call("read parks", "GET", "/api/v1/parks")
        else:
            page = "/me" if a.role == "company_member" else f"/park/{a.park}"
            await self.call("read page", "GET", page)

    # -- writes ----------------------------------------------------------------------------------

    def _link(self) -> int | None:
        """A link this user is a party to (a member) or a broker of (its park's); None if none."""
        if self.a.role == "company_member":
            links: list[int] = self.world["company_links"].get(self.a.company or "", [])
        else:
            links = self.world["links"][self.a.park]
        return self.rng.choice(links) if links else None

    def _company(self) -> str:
        return self.a.company or self.rng.choice(self.world["companies"][self.a.park])

    async def write(self) -> None:
        rng, led = self.rng, self.ledger
        kind = rng.randrange(10)
        if self.a.role == "facilitator" and kind < 7:
            kind = 7 + kind % 3  # a facilitator brokers links; it keeps no streams
        link = self._link()
        if kind >= 7 and link is None:
            kind = 0  # a member of a company without links writes its streams
        if kind < 3 or (kind < 7 and not self.created):
            self.serial += 1
            sid = f"soak-u{self.a.index}-{self.serial}"
            q = float(rng.randrange(1, 10_000))
            body = {"id": sid, "direction": rng.choice(["supply", "demand"]), "kind": "material",
                    "name": f"soak stream {sid}", "quantity": q, "unit": "t/yr"}  # fmt: skip
            status, _ = await self.call("write create stream", "POST", f"/api/v1/companies/{self._company()}/streams", body)  # fmt: skip
            if status == 201:
                self.created.append(sid)
                led.streams[sid] = {"quantity": q, "private": []}
            elif status == 0:
                led.uncertain.add(sid)
            else:
                led.refused_creates.add(sid)
        elif kind < 5:
            sid = rng.choice(self.created)
            q = float(rng.randrange(1, 10_000))
            status, _ = await self.call("write patch stream", "PATCH", f"/api/v1/streams/{sid}", {"quantity": q})  # fmt: skip
            self._settle(sid, status, 200, lambda s: {**s, "quantity": q})
        elif kind == 5:
            sid = self.created.pop(rng.randrange(len(self.created)))
            status, _ = await self.call("write delete stream", "DELETE", f"/api/v1/streams/{sid}")
            self._settle(sid, status, 204, lambda s: None)
        elif kind == 6:
            sid = rng.choice(self.created)
            private = sorted(rng.sample(["quantity", "price", "disposal_cost"], rng.randrange(3)))
            status, _ = await self.call("write privacy", "PUT", f"/api/v1/streams/{sid}/privacy", {"private": private})  # fmt: skip
            self._settle(sid, status, 200, lambda s: {**s, "private": private})
        elif kind < 9:
            assert link is not None
            action = rng.choice(["interest", "consent", "advance", "advance", "end"]) if rng.random() < 0.2 else rng.choice(["interest", "consent", "advance"])  # fmt: skip
            status, _ = await self.call("write link action", "POST", f"/api/v1/links/{link}/actions", {"action": action})  # fmt: skip
            key = (link, self.a.user_id, action)
            if 200 <= status < 300:
                led.actions[key] += 1
            elif status == 0:
                led.uncertain.add(f"action:{key}")
            else:
                led.refused_actions[key] += 1
        else:
            assert link is not None
            month = f"{1950 + self.a.index}-{rng.randrange(1, 13):02d}"
            q = float(rng.randrange(0, 1000))
            status, _ = await self.call("write measurement", "POST", f"/api/v1/links/{link}/measurements",
                                        {"month": month, "quantity": q, "unit": UNIT[self.world["link_kind"][link]]})  # fmt: skip
            led.tried_months.add((link, month))
            if 200 <= status < 300:
                led.measurements[(link, month)] = q
            elif status == 0:
                led.uncertain.add(f"measurement:{link}:{month}")

    def _settle(self, sid: str, status: int, ok: int, change: Any) -> None:
        if status == ok:
            self.ledger.streams[sid] = change(self.ledger.streams[sid])
            if self.ledger.streams[sid] is None and sid in self.created:
                self.created.remove(sid)
        elif status == 0:
            self.ledger.uncertain.add(sid)

    async def run(self, until: float, think: float) -> None:
        while time.perf_counter() < until:
            if self.rng.random() < 0.8:
                await self.read()
            else:
                await self.write()
            await asyncio.sleep(self.rng.random() * think)
        self.conn.close()


def check(url: str, accounts: list[Account], ledger: Ledger) -> list[str]:
    """Every difference between what was acknowledged and what the database holds."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from symbiolink.store import make_engine
    from symbiolink.store.links import ACTIONS
    from symbiolink.store.models import LinkEventRow, LinkMeasurementRow, StreamRow

    problems: list[str] = []
    engine = make_engine(url)
    with Session(engine) as session:
        for sid, expected in ledger.streams.items():
            if sid in ledger.uncertain:
                continue
            row = session.get(StreamRow, sid)
            if expected is None:
                if row is not None:
                    problems.append(f"stream {sid}: deletion acknowledged, still stored")
            elif row is None:
                problems.append(f"stream {sid}: acknowledged, not stored")
            else:
                if row.quantity != expected["quantity"]:
                    problems.append(f"stream {sid}: quantity {row.quantity}, acknowledged {expected['quantity']}")  # fmt: skip
                if sorted(row.private_fields or []) != expected["private"]:
                    problems.append(f"stream {sid}: private {row.private_fields}, acknowledged {expected['private']}")  # fmt: skip
        for sid in ledger.refused_creates - ledger.uncertain:
            if session.get(StreamRow, sid) is not None:
                problems.append(f"stream {sid}: creation refused, yet stored")
        events = Counter(
            {
                (link, user, action): n
                for link, user, action, n in session.execute(
                    select(LinkEventRow.link_id, LinkEventRow.user_id, LinkEventRow.action, func.count())
                    .where(LinkEventRow.action.in_(ACTIONS))
                    .group_by(LinkEventRow.link_id, LinkEventRow.user_id, LinkEventRow.action)
                )
            }
        )  # fmt: skip
        soak_users = {a.user_id for a in accounts}
        uncertain_actions = {k for k in ledger.uncertain if k.startswith("action:")}
        for key in set(events) | set(ledger.actions):
            if key[1] not in soak_users or f"action:{key}" in uncertain_actions:
                continue
            if events[key] != ledger.actions[key]:
                problems.append(f"link {key[0]}: {ledger.actions[key]} acknowledged {key[2]!r} by user {key[1]}, {events[key]} stored")  # fmt: skip
        stored = {
            (r.link_id, r.month): r.quantity for r in session.scalars(select(LinkMeasurementRow))
        }
        for key in ledger.tried_months:
            if f"measurement:{key[0]}:{key[1]}" in ledger.uncertain:
                continue
            if key in ledger.measurements:
                if stored.get(key) != ledger.measurements[key]:
                    problems.append(f"measurement {key}: stored {stored.get(key)}, acknowledged {ledger.measurements[key]}")  # fmt: skip
            elif key in stored:
                problems.append(f"measurement {key}: no write acknowledged, yet stored")
    engine.dispose()
    return problems


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if len(values) < 2:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    q = statistics.quantiles(values, n=100)
    return {"p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1), "p99_ms": round(q[98] * 1000, 1)}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--server-workers", type=int, default=2)
    ap.add_argument("--think-ms", type=float, default=200.0, help="longest pause between a user's requests")  # fmt: skip
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
                    help="a PostgreSQL URL whose user may create databases")  # fmt: skip
    args = ap.parse_args()
    if args.users < 7:
        ap.error("--users: at least 7 (three parks' managers and facilitators, and members)")
    if not 0 < args.minutes <= 120:
        ap.error("--minutes: more than 0 and at most 120")
    name = make_database(args.postgres)
    url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
    server = None
    try:
        accounts, world = prepare(url, args.users, args.seed)
        port = _free_port()
        env = {**os.environ, "SYMBIOLINK_DATABASE_URL": url, "SYMBIOLINK_RATE_LIMIT": "0"}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "symbiolink.web.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(args.server_workers), "--log-level", "warning", "--no-access-log"],
            env=env,
        )  # fmt: skip
        import httpx2 as httpx

        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(f"{base}/openapi.json").raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        for a in accounts:
            r = httpx.post(
                f"{base}/api/v1/auth/token", data={"username": a.email, "password": PASSWORD}
            )
            r.raise_for_status()
            a.token = r.json()["access_token"]
        ledger = Ledger()
        start = time.perf_counter()
        until = start + args.minutes * 60

        async def run() -> None:
            users = [User(a, world, port, ledger) for a in accounts]
            await asyncio.gather(*(u.run(until, args.think_ms / 1000) for u in users))

        asyncio.run(run())
        elapsed = time.perf_counter() - start
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    try:
        problems = check(url, accounts, ledger)
    finally:
        if not os.environ.get("SOAK_KEEP"):
            drop_database(args.postgres, name)
        else:
            print(f"kept {name}", file=sys.stderr)
    total = 0
    server_errors = 0
    for klass in sorted(ledger.latencies):
        statuses = ledger.statuses[klass]
        total += sum(statuses.values())
        server_errors += sum(n for s, n in statuses.items() if s >= 500)
        print(json.dumps({"class": klass, "requests": sum(statuses.values()),
                          "statuses": dict(sorted(statuses.items())), **_quantiles(ledger.latencies[klass])}))  # fmt: skip
    reads = [x for k, v in ledger.latencies.items() if k.startswith("read") for x in v]
    writes = [x for k, v in ledger.latencies.items() if k.startswith("write") for x in v]
    for p in problems[:50]:
        print(f"CHECK FAILED: {p}", file=sys.stderr)
    summary = {
        "minutes": args.minutes, "users": args.users, "server_workers": args.server_workers,
        "requests": total, "requests_per_s": round(total / elapsed, 1), "server_errors": server_errors,
        "no_answer": sum(ledger.transport_errors.values()), "reads": len(reads), "writes": len(writes),
        "reads_ms": _quantiles(reads), "writes_ms": _quantiles(writes),
        "streams_checked": len(ledger.streams), "link_actions_acknowledged": sum(ledger.actions.values()),
        "measurements_checked": len(ledger.tried_months), "check_failures": len(problems),
    }  # fmt: skip
    print("SOAK " + json.dumps(summary))
    if ledger.transport_errors:
        print(f"no answer: {dict(ledger.transport_errors)}", file=sys.stderr)
    return 1 if problems or server_errors or ledger.transport_errors else 0


if __name__ == "__main__":
    sys.exit(main())
