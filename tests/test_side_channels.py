"""Side channels (issue 9): a forbidden id answers as a missing one does, with the same statements
run; and a leak search: private figures and a hidden owner's stream id, seeded as unique values,
appear in no answer of any API route, page or export to anyone but the owner and admins (error
messages, 422 bodies and the Excel template unzipped included).

Counting statements (an SQLAlchemy event listener) is deterministic; the timing of the same pairs
is measured by ``benchmarks/side_channels.py``, not here. Runs on SQLite, and on PostgreSQL when
SYMBIOLINK_TEST_DATABASE_URL is set."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from symbiolink.matching.engine import Match
from symbiolink.store import import_park, links, make_engine
from symbiolink.store.accounts import User, add_user, issue_token
from symbiolink.store.jobs import create_job
from symbiolink.store.models import LinkRow, StreamRow
from symbiolink.web.app import create_app
from symbiolink.web.limits import RateLimits
from web_park import PASSWORD, platform_park_document

#: The private figures of a1's slag (quantity t/yr, price and disposal cost per t) and what the
#: pages would derive from them (the monthly estimate, 975,313 / 12).
QUANTITY, PRICE, DISPOSAL = 975313.0, 86421.5, 64197.25
HIDDEN_STREAM = "a1-zqhidden"
SECRETS = {
    "quantity": ["975313", "975,313", "975.313", "9.75313e"],
    "monthly estimate": ["81276", "81,276", "81.276"],
    "price": ["86421", "86,421", "86.421"],
    "disposal cost": ["64197", "64,197", "64.197"],
    "hidden owner's stream id": [HIDDEN_STREAM],
}


@dataclass
class Seeded:
    app: FastAPI
    engine: Engine
    users: dict[str, User]
    tokens: dict[str, str]
    own_link: int
    """a1's slag to a2, suggested (nobody introduced)."""
    hidden_link: int
    """The hidden stream to a3."""
    other_link: int
    """A link of park B."""
    running_link: int
    """a1's slag to a3, operating."""


def _document() -> dict[str, Any]:
    doc = platform_park_document()
    slag = next(s for s in doc["streams"] if s["id"] == "a1-slag")
    slag["quantity"] = QUANTITY
    slag["properties"] = {"price": PRICE, "disposal_cost": DISPOSAL, "currency": "USD"}
    doc["streams"].append({"id": HIDDEN_STREAM, "company": "a1", "direction": "supply", "kind": "material",
                           "name": "Mill scale residue", "quantity": 40, "unit": "t/yr"})  # fmt: skip
    doc["streams"].append({"id": "b2-demand", "company": "b2", "direction": "demand", "kind": "material",
                           "name": "Slag for clinker", "quantity": 10, "unit": "t/yr"})  # fmt: skip
    return doc


@pytest.fixture
def seeded(database_url: str) -> Iterator[Seeded]:
    app = create_app(
        database_url, secure_cookies=False, rate_limits=RateLimits(0, 0), job_workers=0
    )
    engine = make_engine(database_url)
    from symbiolink.model.park import ParkFile

    import_park(engine, ParkFile.model_validate(_document()))
    users = {
        "admin": add_user(engine, "admin@example.org", PASSWORD, "admin"),
        "owner": add_user(engine, "owner@example.org", PASSWORD, "company_member", company="a1"),
        "neighbour": add_user(engine, "neighbour@example.org", PASSWORD, "company_member", company="a2"),
        "manager": add_user(engine, "manager@example.org", PASSWORD, "park_manager", park="A"),
        "facilitator": add_user(engine, "facilitator@example.org", PASSWORD, "facilitator", parks=["A"]),
        "other_member": add_user(engine, "other@example.org", PASSWORD, "company_member", company="b1"),
        "other_manager": add_user(engine, "other-manager@example.org", PASSWORD, "park_manager", park="B"),
        "observer": add_user(engine, "observer@example.org", PASSWORD, "observer"),
    }  # fmt: skip
    tokens = {role: issue_token(engine, u) for role, u in users.items()}
    with Session(engine) as s, s.begin():
        for sid, private in (
            ("a1-slag", ["disposal_cost", "price", "quantity"]),
            (HIDDEN_STREAM, ["identity"]),
        ):
            row = s.get(StreamRow, sid)
            assert row is not None
            row.private_fields = private
        links.suggest(s, [Match("a1-slag", "a2", None, 1, 0.8, "cement additive", ["EAF slag is used in cement"], ["src"], 1.5),
                          Match(HIDDEN_STREAM, "a3", None, 1, 0.7, "iron recovery", ["Mill scale is recycled"], ["src"], 2.0),
                          Match("b1-slag", "b2", "b2-demand", 1, 0.9, "clinker", ["slag to clinker"], ["src"], 1.0)])  # fmt: skip
        s.flush()
        # a1's slag also goes to a3, operating: its pages estimate the month from the quantity.
        links.suggest(
            s, [Match("a1-slag", "a3", None, 2, 0.6, "fill", ["slag as fill"], ["src"], 3.0)]
        )
        running = s.query(LinkRow).filter_by(supply_id="a1-slag", receiver_id="a3").one()
        running.status, running.supplier_consent, running.receiver_consent = "operating", True, True
        ids = {r.supply_id: r.id for r in s.query(LinkRow) if r.id != running.id}
        ids["running"] = running.id
    yield Seeded(
        app,
        engine,
        users,
        tokens,
        ids["a1-slag"],
        ids[HIDDEN_STREAM],
        ids["b1-slag"],
        ids["running"],
    )
    engine.dispose()
    app.state.engine.dispose()


def _csrf(app: FastAPI, token: str) -> str:
    return hmac.new(app.state.secret, token.encode(), hashlib.sha256).hexdigest()


# -- a forbidden id answers as a missing one, with the same statements ------------------------------


class Statements:
    """The SQL statements an engine runs while ``on``."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.seen: list[str] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.on:
            self.seen.append(statement)

    def during(self, call: Any) -> tuple[Any, list[str]]:
        self.seen, self.on = [], True
        try:
            return call(), self.seen
        finally:
            self.on = False


def _requests(app: FastAPI, token: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path with ``{id}``, request arguments) of every route that answers 404 for what the
    user may not know of."""
    csrf = _csrf(app, token)
    return [
        ("GET", "/api/v1/streams/{stream}", {}),
        ("PATCH", "/api/v1/streams/{stream}", {"json": {"quantity": 1, "unit": "t/yr"}}),
        ("DELETE", "/api/v1/streams/{stream}", {}),
        ("PUT", "/api/v1/streams/{stream}/privacy", {"json": {"private": []}}),
        ("GET", "/api/v1/companies/{company}/streams", {}),
        ("POST", "/api/v1/companies/{company}/streams", {"json": {"id": "new-one", "direction": "supply", "kind": "material", "name": "Scrap"}}),
        ("GET", "/api/v1/companies/{company}/links", {}),
        ("GET", "/api/v1/links/{link}", {}),
        ("POST", "/api/v1/links/{link}/actions", {"json": {"action": "interest"}}),
        ("POST", "/api/v1/links/{link}/measurements", {"json": {"month": "2026-10", "quantity": 1, "unit": "t"}}),
        ("GET", "/api/v1/jobs/{job}", {}),
        ("GET", "/links/{link}", {}),
        ("POST", "/links/{link}/action", {"data": {"action": "interest", "csrf": csrf}}),
        ("POST", "/links/{link}/step", {"data": {"action": "interest", "csrf": csrf}}),
        ("POST", "/links/{link}/measure", {"data": {"month": "2026-10", "quantity": "1", "unit": "t", "csrf": csrf}}),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "forbidden"),
    [
        ("neighbour", {"stream": "b1-slag", "company": "b1", "link": "other"}),
        ("manager", {"stream": "b1-slag", "company": "b2", "link": "other"}),
        ("observer", {"stream": "a2-ash", "company": "a2", "link": "own"}),
        # Another company's stream that keeps its owner hidden, and a link the user is no party to.
        ("neighbour", {"stream": HIDDEN_STREAM, "company": "b2", "link": "hidden"}),
    ],
)
def test_a_forbidden_id_answers_and_works_as_a_missing_one(
    seeded: Seeded, role: str, forbidden: dict[str, str]
) -> None:
    token = seeded.tokens[role]
    links_by_name = {
        "own": seeded.own_link,
        "hidden": seeded.hidden_link,
        "other": seeded.other_link,
    }
    # Another park's job, seen as its brokers see it: nobody here may read it.
    job = create_job(seeded.app.state.engine, kind="evaluation", park="B", requested_by=None,
                     view="brokers", params={})  # fmt: skip
    ids = {**forbidden, "link": str(links_by_name[forbidden["link"]]), "job": str(job["id"])}
    missing = {"stream": "zz-no-such-stream", "company": "zz-none", "link": "987654",
               "job": "987655"}  # fmt: skip
    counter = Statements(seeded.app.state.engine)
    with TestClient(seeded.app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        client.cookies.set("symbiolink_session", token)
        client.get("/api/v1/users/me")  # the pool's first connection opened before counting
        # The live matches' index is built on its first use, whichever request that is.
        seeded.app.state.live.ensure()
        for method, path, kwargs in _requests(seeded.app, token):
            got, statements = {}, {}
            for name, which in (("missing", missing), ("forbidden", ids)):
                url = path.format(**which)
                r, statements[name] = counter.during(
                    lambda m=method, u=url, k=kwargs: client.request(m, u, **k)
                )
                text = r.text
                if which is missing:  # the id the request sent is quoted back
                    for key, value in missing.items():
                        text = text.replace(value, ids[key])
                text = re.sub(r'name="csrf" value="[0-9a-f]+"', "", text)
                got[name] = (r.status_code, text)
            where = f"{role} {method} {path} ({ids})"
            assert got["forbidden"][0] == 404, f"{where}: {got['forbidden'][0]}"
            assert got["forbidden"] == got["missing"], where
            assert statements["forbidden"] == statements["missing"], where
            assert statements["missing"], where  # the check did run queries


# -- the leak search -----------------------------------------------------------------------------------

NOT_OWNERS = (
    "neighbour",
    "manager",
    "facilitator",
    "other_member",
    "other_manager",
    "observer",
    "anonymous",
)


def _text(r: Any) -> str:
    """What an answer carries: headers and body; a workbook's XML unzipped."""
    body = r.content
    parts = [str(r.status_code), *(f"{k}: {v}" for k, v in r.headers.items())]
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            parts += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
    else:
        parts.append(body.decode("utf-8", "replace"))
    # Random hex (CSRF tokens, match keys) could hold any digits by chance.
    return re.sub(r"[0-9a-f]{16,}", "<hex>", "\n".join(parts))


def _every_request(s: Seeded, role: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every API operation and page, GET and POST, on ids of the user's park and of the other,
    with good bodies and with bodies that fail validation (whose errors quote input)."""
    token = s.tokens.get(role, "")
    csrf = _csrf(s.app, token)
    out: list[tuple[str, str, dict[str, Any]]] = []
    streams = ["a1-slag", HIDDEN_STREAM, "a2-ash", "b1-slag"]
    link_ids = [s.own_link, s.hidden_link, s.other_link, s.running_link]
    for park in ("A", "B"):
        out += [("GET", f"/api/v1/parks/{park}", {}), ("GET", f"/api/v1/parks/{park}/companies", {}),
                ("GET", f"/api/v1/parks/{park}/aggregates", {}), ("GET", f"/park/{park}", {}),
                ("GET", f"/park/{park}/matches", {}), ("GET", f"/park/{park}/matches?company=a1", {}),
                ("GET", f"/park/{park}/matches?kind=material", {"headers": {"hx-request": "true"}}),
                ("GET", f"/park/{park}/network", {}), ("GET", f"/park/{park}/network?links=operating", {})]  # fmt: skip
    for company in ("a1", "a2", "b1"):
        out += [("GET", f"/api/v1/companies/{company}/streams", {}), ("GET", f"/api/v1/companies/{company}/links", {})]  # fmt: skip
    for sid in streams:
        out += [
            ("GET", f"/api/v1/streams/{sid}", {}),
            # A change that fails the stream's checks: the error must not quote the stored values.
            ("PATCH", f"/api/v1/streams/{sid}", {"json": {"unit": "kW"}}),
            ("PATCH", f"/api/v1/streams/{sid}", {"json": {"kind": "energy"}}),
            ("PATCH", f"/api/v1/streams/{sid}", {"json": {"quantity": "lots"}}),
            ("PUT", f"/api/v1/streams/{sid}/privacy", {"json": {"private": ["colour"]}}),
        ]
    for lid in link_ids:
        out += [("GET", f"/api/v1/links/{lid}", {}), ("GET", f"/links/{lid}", {}),
                ("POST", f"/api/v1/links/{lid}/measurements", {"json": {"month": "2026-10", "quantity": 1, "unit": "kW"}}),
                ("POST", f"/links/{lid}/measure", {"data": {"month": "2026-13", "quantity": "x", "unit": "kW", "csrf": csrf}}),
                ("POST", f"/links/{lid}/measure", {"data": {"month": "2026-10", "quantity": "1", "unit": "kW", "csrf": csrf},
                                                  "headers": {"hx-request": "true"}}),
                ("POST", f"/links/{lid}/step", {"data": {"action": "advance", "csrf": csrf}}),
                ("POST", f"/links/{lid}/action", {"data": {"action": "advance", "csrf": csrf}})]  # fmt: skip
    out += [
        ("GET", "/api/v1/users/me", {}), ("GET", "/api/v1/parks", {}), ("GET", "/", {}), ("GET", "/login", {}),
        ("GET", "/me", {}), ("GET", "/me/matches", {}), ("GET", "/parks", {}), ("GET", "/sources", {}),
        ("GET", "/template.xlsx", {}), ("GET", "/openapi.json", {}), ("GET", "/docs", {}), ("GET", "/redoc", {}),
        ("POST", "/api/v1/parks/A/suggestions", {}), ("POST", "/api/v1/parks/B/suggestions", {}),
        ("POST", "/park/A/matches/suggest", {"data": {"key": "0" * 20, "csrf": csrf}}),
        ("POST", "/api/v1/companies/a1/streams", {"json": {"id": "a1-slag", "direction": "supply", "kind": "material", "name": "x"}}),
        ("POST", "/api/v1/companies/a2/streams", {"json": {"id": "a2-new", "direction": "supply", "kind": "material", "name": "x", "unit": "kW", "quantity": 1}}),
        ("POST", "/api/v1/parks/import", {"content": b'{"format": "symbiolink-park/1"}', "headers": {"x-filename": "p.json"}}),
        ("POST", "/upload", {"data": {"csrf": csrf}, "files": {"file": ("p.json", b'{"format": "symbiolink-park/1", "parks": []}')}}),
    ]  # fmt: skip
    return out


@pytest.mark.parametrize("role", NOT_OWNERS)
def test_no_private_figure_reaches_anyone_but_the_owner(seeded: Seeded, role: str) -> None:
    leaks = []
    answered = 0
    with TestClient(seeded.app) as client:
        if role != "anonymous":
            client.headers["Authorization"] = f"Bearer {seeded.tokens[role]}"
            client.cookies.set("symbiolink_session", seeded.tokens[role])
        for method, path, kwargs in _every_request(seeded, role):
            r = client.request(method, path, **kwargs)
            assert r.status_code < 500, (method, path, r.text)
            answered += r.status_code < 300
            text = _text(r)
            sent = path + repr(kwargs)  # what the request quotes back is no leak
            for what, forms in SECRETS.items():
                leaks += [(method, path, what, f) for f in forms if f in text and f not in sent]
    assert not leaks, leaks
    assert answered >= 5  # some of it was really shown


def test_the_search_finds_what_the_owner_may_see(seeded: Seeded) -> None:
    """The same search as the owner finds each secret (so it would find a leak)."""
    found: set[str] = set()
    with TestClient(seeded.app) as client:
        client.headers["Authorization"] = f"Bearer {seeded.tokens['owner']}"
        client.cookies.set("symbiolink_session", seeded.tokens["owner"])
        for method, path, kwargs in _every_request(seeded, "owner"):
            text = _text(client.request(method, path, **kwargs))
            found |= {what for what, forms in SECRETS.items() if any(f in text for f in forms)}
    assert found == set(SECRETS)
