"""Who may open and post to every page and download (issue 9): every non-API route of the app, GET
and POST, x role (admin, park manager, company member, facilitator, observer, anonymous) x own
park (A, the member's company a1) / another park (B), with the status expected. The table must list
every such route: a page added without a row here fails ``test_the_table_covers_every_page``.

Runs on SQLite, and on PostgreSQL when SYMBIOLINK_TEST_DATABASE_URL is set."""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import Mount

from symbiolink.matching.engine import Match
from symbiolink.store import import_park, links, make_engine
from symbiolink.store.accounts import add_user, issue_token
from symbiolink.store.jobs import create_job
from symbiolink.store.models import LinkRow, StreamRow
from symbiolink.web.app import create_app
from symbiolink.web.limits import RateLimits
from web_park import PASSWORD, platform_park

ROLES = ("admin", "manager", "member", "facilitator", "observer", "anonymous")
EMAILS = {"admin": "admin@example.org", "manager": "manager@example.org", "member": "member@example.org",
          "facilitator": "facilitator@example.org", "observer": "observer@example.org"}  # fmt: skip
#: Mounted static files, open to everyone and holding nothing of any park.
STATIC = {"/static", "/static/plotly"}


def _all(status: int) -> dict[str, tuple[int, int]]:
    return dict.fromkeys(ROLES, (status, status))


def _signed_in(status: int, anonymous: int = 303) -> dict[str, tuple[int, int]]:
    return {**dict.fromkeys(ROLES[:-1], (status, status)), "anonymous": (anonymous, anonymous)}


_BROKER_PAGE = {"admin": (200, 200), "manager": (200, 403), "member": (403, 403), "facilitator": (200, 403),
                "observer": (403, 403), "anonymous": (303, 303)}  # fmt: skip

# (method, route) -> {role: (status on the own park / company / link, status on another park's)}
PAGES: dict[tuple[str, str], dict[str, tuple[int, int]]] = {
    ("GET", "/"): _all(303),
    ("GET", "/login"): _all(200),
    # A right password signs in (303 to the start page); the anonymous case sends a wrong one.
    ("POST", "/login"): {**dict.fromkeys(ROLES[:-1], (303, 303)), "anonymous": (401, 401)},
    ("POST", "/logout"): _all(303),
    ("GET", "/me"): _signed_in(200),
    ("GET", "/template.xlsx"): {**_signed_in(403), "member": (200, 200)},
    # An unreadable file: the member gets it back with the problems; nobody else may upload.
    ("POST", "/upload"): {**_signed_in(403), "member": (422, 422)},
    ("POST", "/links/{link_id}/action"): {"admin": (200, 200), "manager": (200, 404), "member": (200, 404),
                                          "facilitator": (200, 404), "observer": (404, 404), "anonymous": (303, 303)},
    ("GET", "/parks"): _signed_in(200),
    ("GET", "/park/{park_id}"): _BROKER_PAGE,
    ("GET", "/park/{park_id}/matches"): _BROKER_PAGE,
    # A key that is no match's: a broker hears the page is out of date; others may not suggest.
    ("POST", "/park/{park_id}/matches/suggest"): {**_BROKER_PAGE, "admin": (409, 409), "manager": (409, 403),
                                                  "facilitator": (409, 403)},
    ("GET", "/me/matches"): {**_signed_in(403), "member": (200, 200)},
    ("GET", "/park/{park_id}/network"): _BROKER_PAGE,
    ("GET", "/links/{link_id}"): {"admin": (200, 200), "manager": (200, 404), "member": (200, 404),
                                  "facilitator": (200, 404), "observer": (404, 404), "anonymous": (303, 303)},
    ("POST", "/links/{link_id}/step"): {"admin": (303, 303), "manager": (303, 404), "member": (303, 404),
                                        "facilitator": (303, 404), "observer": (404, 404), "anonymous": (303, 303)},
    ("POST", "/links/{link_id}/measure"): {"admin": (303, 303), "manager": (303, 404), "member": (303, 404),
                                           "facilitator": (303, 404), "observer": (404, 404), "anonymous": (303, 303)},
    ("GET", "/sources"): _signed_in(200),
    # Background jobs from the dashboard: brokers start one (303 to its page) and follow it.
    ("POST", "/park/{park_id}/jobs"): {**_BROKER_PAGE, "admin": (303, 303), "manager": (303, 403),
                                       "facilitator": (303, 403)},
    ("GET", "/park/{park_id}/jobs"): _BROKER_PAGE,
    ("GET", "/park/{park_id}/jobs/{job_id}"): _BROKER_PAGE,
    # FastAPI's description of the API and its viewers: public, as the API's routes are.
    ("GET", "/openapi.json"): _all(200),
    ("GET", "/docs"): _all(200),
    ("GET", "/docs/oauth2-redirect"): _all(200),
    ("GET", "/redoc"): _all(200),
}  # fmt: skip


def page_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route of the app outside ``/api/`` and the static mounts."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for r in routes:
            if hasattr(r, "original_router"):  # an included router
                yield from walk(r.original_router.routes, prefix + (r.include_context.prefix or ""))
            elif isinstance(r, Mount):
                if prefix + r.path not in STATIC:
                    yield ("MOUNT", prefix + r.path)
            else:
                for m in sorted(getattr(r, "methods", None) or {"?"}):
                    if m != "HEAD":
                        yield (m, prefix + r.path)

    return {x for x in walk(app.routes, "") if not x[1].startswith("/api/")}


def test_the_table_covers_every_page() -> None:
    app = create_app("sqlite://")
    app.state.engine.dispose()
    routes = page_routes(app)
    assert routes == set(PAGES), (
        f"pages without a row: {routes - set(PAGES)}; rows without a page: {set(PAGES) - routes}"
    )


@dataclass
class World:
    app: FastAPI
    tokens: dict[str, str]


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    app = create_app(
        database_url, secure_cookies=False, rate_limits=RateLimits(0, 0), job_workers=0
    )
    engine = make_engine(database_url)
    import_park(engine, platform_park())
    users = {
        "admin": add_user(engine, EMAILS["admin"], PASSWORD, "admin"),
        "manager": add_user(engine, EMAILS["manager"], PASSWORD, "park_manager", park="A"),
        "member": add_user(engine, EMAILS["member"], PASSWORD, "company_member", company="a1"),
        "facilitator": add_user(engine, EMAILS["facilitator"], PASSWORD, "facilitator", parks=["A"]),
        "observer": add_user(engine, EMAILS["observer"], PASSWORD, "observer"),
    }  # fmt: skip
    tokens = {role: issue_token(engine, u) for role, u in users.items()}
    engine.dispose()
    yield World(app, tokens)
    app.state.engine.dispose()


_counter = itertools.count()


def _fresh_link(app: FastAPI, own: bool, status: str) -> int:
    """A new supply of a1 (own) or b1 (another park's) and a link from it, at ``status``."""
    supplier, receiver = ("a1", "a2") if own else ("b1", "b2")
    sid = f"p{next(_counter)}"
    with Session(app.state.engine) as s, s.begin():
        s.add(StreamRow(id=sid, company_id=supplier, direction="supply", kind="material", name="Slag",
                        properties={}, position=99))  # fmt: skip
        s.flush()
        links.suggest(s, [Match(sid, receiver, None, 1, 0.5, "fill", ["a reason"], ["src"], 1.0)])
        link = s.scalars(select(LinkRow).where(LinkRow.supply_id == sid)).one()
        if status == "operating":
            link.status, link.supplier_consent, link.receiver_consent = status, True, True
        return link.id


def _csrf(app: FastAPI, seed: str) -> str:
    return hmac.new(app.state.secret, seed.encode(), hashlib.sha256).hexdigest()


def _call(w: World, role: str, method: str, route: str, own: bool) -> int:
    token = w.tokens.get(role, "")
    with TestClient(w.app, follow_redirects=False) as client:
        if role != "anonymous":
            client.cookies.set("symbiolink_session", token)
        csrf = _csrf(w.app, token)
        park = "A" if own else "B"
        path = route.replace("{park_id}", park)
        kwargs: dict[str, Any] = {}
        if "{link_id}" in route:
            status = "operating" if route.endswith("/measure") else "suggested"
            path = path.replace("{link_id}", str(_fresh_link(w.app, own, status)))
        if "{job_id}" in route:
            job = create_job(w.app.state.engine, kind="evaluation", park=park, requested_by=None,
                             view="brokers", params={})  # fmt: skip
            path = path.replace("{job_id}", str(job["id"]))
        if route == "/login" and method == "POST":
            seed = "pre-login-seed"
            client.cookies.set("symbiolink_csrf", seed)
            password = PASSWORD if role != "anonymous" else "wrong password"
            email = EMAILS.get(role, "nobody@example.org")
            kwargs["data"] = {"email": email, "password": password, "csrf": _csrf(w.app, seed)}
        elif route == "/upload":
            kwargs = {"data": {"csrf": csrf}, "files": {"file": ("p.json", b"not json")}}
        elif route.endswith("/action") or route.endswith("/step"):
            kwargs["data"] = {"action": "end", "csrf": csrf}
        elif route.endswith("/measure"):
            kwargs["data"] = {"month": "2026-10", "quantity": "12.5", "unit": "t", "csrf": csrf}
        elif route.endswith("/jobs") and method == "POST":
            kwargs["data"] = {"kind": "evaluation", "csrf": csrf}
        elif route.endswith("/suggest"):
            kwargs["data"] = {"key": "0" * 20, "csrf": csrf}
        elif method == "POST":
            kwargs["data"] = {"csrf": csrf}
        return client.request(method, path, **kwargs).status_code


@pytest.mark.parametrize(("method", "route"), sorted(PAGES))
def test_who_may_open_and_post_to_each_page(world: World, method: str, route: str) -> None:
    got = {role: (_call(world, role, method, route, True), _call(world, role, method, route, False))
           for role in ROLES}  # fmt: skip
    assert got == PAGES[(method, route)]
