"""The web API: every route, an authorization matrix generated from a table, confidentiality.

Runs on SQLite, and on PostgreSQL when SYMBIOLINK_TEST_DATABASE_URL is set (``.ci/run`` does both).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from symbiolink.cli import app as cli_app
from symbiolink.store import import_park, make_engine
from symbiolink.store.accounts import add_user, audit_entries
from symbiolink.web.app import create_app
from web_park import PASSWORD, platform_park


@pytest.fixture
def api(database_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    engine = make_engine(database_url)
    app = create_app(
        database_url, job_workers=0
    )  # migrates; jobs stay queued (test_jobs.py runs them)
    import_park(engine, platform_park())
    users = {
        "admin": add_user(engine, "admin@example.org", PASSWORD, "admin"),
        "manager": add_user(engine, "manager@example.org", PASSWORD, "park_manager", park="A"),
        "member": add_user(engine, "member@example.org", PASSWORD, "company_member", company="a1"),
        "neighbour": add_user(
            engine, "neighbour@example.org", PASSWORD, "company_member", company="a2"
        ),
        "facilitator": add_user(
            engine, "facilitator@example.org", PASSWORD, "facilitator", parks=["A"]
        ),
        "observer": add_user(engine, "observer@example.org", PASSWORD, "observer"),
    }
    with TestClient(app) as client:
        headers = {}
        for role, u in users.items():
            r = client.post("/api/v1/auth/token", data={"username": u.email, "password": PASSWORD})
            assert r.status_code == 200, r.text
            headers[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        admin = headers["admin"]
        r = client.put(
            "/api/v1/streams/a1-slag/privacy",
            json={"private": ["quantity", "price"]},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        r = client.put(
            "/api/v1/streams/a1-secret/privacy", json={"private": ["identity"]}, headers=admin
        )
        assert r.status_code == 200, r.text
        yield client, headers
    engine.dispose()


# -- the authorization matrix -----------------------------------------------------------------------

ROLES = ("admin", "manager", "member", "facilitator", "observer")
# (method, route) -> {role: (status on own park/company/stream, status on another park's)}
MATRIX: dict[tuple[str, str], dict[str, tuple[int, int]]] = {
    ("POST", "/api/v1/auth/token"): dict.fromkeys(ROLES, (200, 200)),
    ("GET", "/api/v1/users/me"): dict.fromkeys(ROLES, (200, 200)),
    ("POST", "/api/v1/users"): {"admin": (201, 201), "manager": (403, 403), "member": (403, 403), "facilitator": (403, 403), "observer": (403, 403)},
    ("GET", "/api/v1/parks"): dict.fromkeys(ROLES, (200, 200)),
    ("GET", "/api/v1/parks/{park_id}"): {"admin": (200, 200), "manager": (200, 403), "member": (200, 403), "facilitator": (200, 403), "observer": (403, 403)},
    ("GET", "/api/v1/parks/{park_id}/companies"): {"admin": (200, 200), "manager": (200, 403), "member": (200, 403), "facilitator": (200, 403), "observer": (403, 403)},
    ("GET", "/api/v1/parks/{park_id}/aggregates"): {"admin": (200, 200), "manager": (200, 403), "member": (200, 403), "facilitator": (200, 403), "observer": (200, 200)},
    ("GET", "/api/v1/companies/{company_id}/streams"): {"admin": (200, 200), "manager": (200, 404), "member": (200, 404), "facilitator": (200, 404), "observer": (404, 404)},
    ("POST", "/api/v1/companies/{company_id}/streams"): {"admin": (201, 201), "manager": (201, 404), "member": (201, 404), "facilitator": (403, 404), "observer": (404, 404)},
    ("GET", "/api/v1/streams/{stream_id}"): {"admin": (200, 200), "manager": (200, 404), "member": (200, 404), "facilitator": (200, 404), "observer": (404, 404)},
    ("PATCH", "/api/v1/streams/{stream_id}"): {"admin": (200, 200), "manager": (200, 404), "member": (200, 404), "facilitator": (403, 404), "observer": (404, 404)},
    ("DELETE", "/api/v1/streams/{stream_id}"): {"admin": (204, 204), "manager": (204, 404), "member": (204, 404), "facilitator": (403, 404), "observer": (404, 404)},
    ("PUT", "/api/v1/streams/{stream_id}/privacy"): {"admin": (200, 200), "manager": (403, 404), "member": (200, 404), "facilitator": (403, 404), "observer": (404, 404)},
    ("POST", "/api/v1/parks/import"): {"admin": (200, 200), "manager": (200, 403), "member": (403, 403), "facilitator": (403, 403), "observer": (403, 403)},
    ("POST", "/api/v1/parks/{park_id}/suggestions"): {"admin": (200, 200), "manager": (200, 403), "member": (403, 403), "facilitator": (200, 403), "observer": (403, 403)},
    ("GET", "/api/v1/companies/{company_id}/links"): {"admin": (200, 200), "manager": (200, 404), "member": (200, 404), "facilitator": (200, 404), "observer": (404, 404)},
    ("GET", "/api/v1/links/{link_id}"): {"admin": (200, 200), "manager": (200, 404), "member": (200, 404), "facilitator": (200, 404), "observer": (404, 404)},
    ("POST", "/api/v1/links/{link_id}/actions"): {"admin": (200, 200), "manager": (200, 404), "member": (200, 404), "facilitator": (200, 404), "observer": (404, 404)},
    ("POST", "/api/v1/links/{link_id}/measurements"): {"admin": (201, 201), "manager": (201, 404), "member": (201, 404), "facilitator": (201, 404), "observer": (404, 404)},
    ("POST", "/api/v1/parks/{park_id}/evaluations"): {"admin": (202, 202), "manager": (202, 403), "member": (202, 403), "facilitator": (202, 403), "observer": (403, 403)},
    ("POST", "/api/v1/parks/{park_id}/optimizations"): {"admin": (202, 202), "manager": (202, 403), "member": (202, 403), "facilitator": (202, 403), "observer": (403, 403)},
    # own: a job of park A the role started (an admin's for the observer, who may start none); other: an admin's of park B
    ("GET", "/api/v1/jobs/{job_id}"): {"admin": (200, 200), "manager": (200, 404), "member": (200, 404), "facilitator": (200, 404), "observer": (404, 404)},
    ("GET", "/api/v1/streams/{stream_id}/matches"): {"admin": (200, 200), "manager": (200, 404), "member": (200, 404), "facilitator": (200, 404), "observer": (404, 404)},
    ("GET", "/api/v1/companies/{company_id}/matches"): {"admin": (200, 200), "manager": (200, 404), "member": (200, 404), "facilitator": (200, 404), "observer": (404, 404)},
    ("GET", "/api/v1/parks/{park_id}/matches"): {"admin": (200, 200), "manager": (200, 403), "member": (403, 403), "facilitator": (200, 403), "observer": (403, 403)},
}  # fmt: skip
_counter = itertools.count()


def test_the_matrix_covers_every_route() -> None:
    app = create_app("sqlite://")
    app.state.engine.dispose()
    routes = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    assert routes == set(MATRIX), (
        f"routes without an entry: {routes - set(MATRIX)}; entries without a route: {set(MATRIX) - routes}"
    )


def _fresh_link(
    client: TestClient,
    admin: dict[str, str],
    engine: Any,
    supplier: str,
    receiver: str,
    status: str,
) -> int:
    """A new supply of ``supplier`` and a link from it to ``receiver``, put at ``status``."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from symbiolink.matching.engine import Match
    from symbiolink.store.links import suggest
    from symbiolink.store.models import LinkRow

    sid = f"l{next(_counter)}"
    r = client.post(
        f"/api/v1/companies/{supplier}/streams",
        json={"id": sid, "direction": "supply", "kind": "material", "name": "Slag"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    with Session(engine) as session, session.begin():
        suggest(
            session, [Match(sid, receiver, None, 1, 0.5, "aggregate", ["a reason"], ["src"], 2.0)]
        )
        link = session.scalars(select(LinkRow).where(LinkRow.supply_id == sid)).one()
        link.status = status
        return link.id


def _call(
    client: TestClient,
    headers: dict[str, dict[str, str]],
    role: str,
    method: str,
    route: str,
    own: bool,
    engine: Any = None,
) -> int:
    park, company = ("A", "a1") if own else ("B", "b1")
    admin = headers["admin"]
    if route == "/api/v1/parks/import":
        import json

        from symbiolink.analytics.scenarios import split_parks

        doc = next(d for d in split_parks(platform_park()) if d["parks"][0]["id"] == park)
        return client.post(
            route,
            content=json.dumps(doc).encode(),
            headers={**headers[role], "x-filename": "park.json"},
        ).status_code
    if "{link_id}" in route:
        status = "operating" if route.endswith("/measurements") else "suggested"
        link_id = _fresh_link(client, admin, engine, company, "a2" if own else "b2", status)
        body: dict[str, Any] | None = None
        if route.endswith("/measurements"):
            body = {"month": "2026-10", "quantity": 12.5, "unit": "t"}
        elif route.endswith("/actions"):
            body = {"action": "end"}
        return client.request(
            method, route.replace("{link_id}", str(link_id)), json=body, headers=headers[role]
        ).status_code
    if route == "/api/v1/jobs/{job_id}":
        starter = headers[role] if own and role != "observer" else admin
        r = client.post(f"/api/v1/parks/{park}/evaluations", json={}, headers=starter)
        assert r.status_code == 202, r.text
        return client.get(r.headers["location"], headers=headers[role]).status_code
    if route.endswith(("/evaluations", "/optimizations")):
        path = route.replace("{park_id}", park)
        return client.post(path, json={}, headers=headers[role]).status_code
    if route == "/api/v1/auth/token":
        return client.post(
            route,
            data={
                "username": f"{ {'manager': 'manager'}.get(role, role) }@example.org",
                "password": PASSWORD,
            },
        ).status_code
    if route.startswith("/api/v1/streams/"):
        sid = f"s{next(_counter)}"  # a fresh stream of the company, so writes do not disturb other cases
        r = client.post(
            f"/api/v1/companies/{company}/streams",
            json={"id": sid, "direction": "supply", "kind": "material", "name": "Scrap"},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        path = route.replace("{stream_id}", sid)
    else:
        path = route.replace("{park_id}", park).replace("{company_id}", company)
    body: dict[str, Any] | None = None
    if route.endswith("/streams") and method == "POST":
        body = {
            "id": f"n{next(_counter)}",
            "direction": "demand",
            "kind": "water",
            "name": "Cooling water",
            "quantity": 5,
            "unit": "m3/h",
        }
    elif method == "PATCH":
        body = {"quantity": 12, "unit": "t/yr"}
    elif route.endswith("/privacy"):
        body = {"private": ["quantity"]}
    elif route == "/api/v1/users":
        body = {
            "email": f"new{next(_counter)}@example.org",
            "password": PASSWORD,
            "role": "observer",
        }
    return client.request(method, path, json=body, headers=headers[role]).status_code


@pytest.mark.parametrize(("method", "route"), sorted(MATRIX))
def test_authorization_matrix(
    api: tuple[TestClient, dict[str, dict[str, str]]], method: str, route: str
) -> None:
    client, headers = api
    engine = client.app.state.engine  # type: ignore[attr-defined]
    got = {
        role: (
            _call(client, headers, role, method, route, True, engine),
            _call(client, headers, role, method, route, False, engine),
        )
        for role in ROLES
    }
    assert got == MATRIX[(method, route)]


def test_without_valid_credentials_every_api_route_is_401(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, _ = api
    for method, route in MATRIX:
        if route == "/api/v1/auth/token":
            continue
        path = (
            route.replace("{park_id}", "A")
            .replace("{company_id}", "a1")
            .replace("{stream_id}", "a2-ash")
            .replace("{link_id}", "1")
            .replace("{job_id}", "1")
        )
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            assert client.request(method, path, headers=headers).status_code == 401, (method, path)
    r = client.post(
        "/api/v1/auth/token", data={"username": "admin@example.org", "password": "wrong password"}
    )
    assert r.status_code == 401 and "access_token" not in r.text


# -- confidentiality ---------------------------------------------------------------------------------


def test_private_fields_are_absent_for_everyone_but_the_owner(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, h = api
    own = client.get("/api/v1/streams/a1-slag", headers=h["member"]).json()
    assert (
        own["quantity"] == 600
        and own["properties"]["price"] == 5.0
        and own["private"] == ["price", "quantity"]
    )
    for role in ("neighbour", "manager", "facilitator"):
        seen = client.get("/api/v1/streams/a1-slag", headers=h[role]).json()
        assert (
            "quantity" not in seen and "unit" not in seen and "price" not in seen["properties"]
        ), role
        assert seen["properties"]["disposal_cost"] == 20.0  # not marked private
        assert "600" not in client.get("/api/v1/companies/a1/streams", headers=h[role]).text, role
    # A stream whose company hides its identity is not listed under the company, nor found by id.
    assert "a1-secret" in client.get("/api/v1/companies/a1/streams", headers=h["member"]).text
    for role in ("neighbour", "manager"):
        assert "a1-secret" not in client.get("/api/v1/companies/a1/streams", headers=h[role]).text
        assert client.get("/api/v1/streams/a1-secret", headers=h[role]).status_code == 404


def test_aggregates_never_show_one_or_two_companies_figures(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, h = api
    cells = {
        (c["direction"], c["kind"]): c
        for c in client.get("/api/v1/parks/A/aggregates", headers=h["observer"]).json()["cells"]
    }
    supply = cells[("supply", "material")]
    assert supply["companies"] == 3 and supply["streams"] == 4
    # a1's slag quantity is private: the total counts only public quantities (a1's other stream, a2, a3).
    assert supply["quantity"] == pytest.approx(50 + 100 + 300)
    client.put(
        "/api/v1/streams/a1-secret/privacy",
        json={"private": ["identity", "quantity"]},
        headers=h["member"],
    )
    supply = client.get("/api/v1/parks/A/aggregates", headers=h["observer"]).json()["cells"][0]
    assert supply["quantity"] is None  # two companies' public figures only: suppressed
    client.put("/api/v1/streams/a1-secret/privacy", json={"private": []}, headers=h["member"])
    client.put("/api/v1/streams/a1-slag/privacy", json={"private": []}, headers=h["member"])
    supply = client.get("/api/v1/parks/A/aggregates", headers=h["observer"]).json()["cells"][0]
    assert supply["quantity"] == pytest.approx(600 + 50 + 100 + 300)
    b = client.get("/api/v1/parks/B/aggregates", headers=h["observer"]).json()["cells"][0]
    assert b["companies"] is None and b["quantity"] is None  # one company: suppressed


# -- the routes' behaviour -----------------------------------------------------------------------------


def test_streams_are_validated_like_park_file_rows(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, h = api
    r = client.post("/api/v1/companies/a1/streams", json={"id": "x", "direction": "supply", "kind": "energy", "name": "Heat",
                                                          "quantity": 5, "unit": "t/yr"}, headers=h["member"])  # fmt: skip
    assert (r.status_code == 422 and "does not fit a energy stream" in r.text) or "energy" in r.text
    r = client.post(
        "/api/v1/companies/a1/streams",
        json={"id": "x", "direction": "sideways", "kind": "material", "name": "Slag"},
        headers=h["member"],
    )
    assert r.status_code == 422 and "direction" in r.text
    r = client.post(
        "/api/v1/companies/a1/streams",
        json={"id": "a2-ash", "direction": "supply", "kind": "material", "name": "Ash"},
        headers=h["member"],
    )
    assert r.status_code == 409
    r = client.patch(
        "/api/v1/streams/a1-slag", json={"quantity": 2, "unit": "t/day"}, headers=h["member"]
    )
    assert r.status_code == 200 and r.json()["quantity"] == 2
    r = client.patch("/api/v1/streams/a1-slag", json={"company": "a2"}, headers=h["member"])
    assert r.status_code == 422
    assert (
        client.put(
            "/api/v1/streams/a1-slag/privacy", json={"private": ["colour"]}, headers=h["member"]
        ).status_code
        == 422
    )


def test_confidential_changes_are_audited(
    api: tuple[TestClient, dict[str, dict[str, str]]], database_url: str
) -> None:
    client, h = api
    client.put(
        "/api/v1/streams/a2-ash/privacy", json={"private": ["quantity"]}, headers=h["neighbour"]
    )
    engine = make_engine(database_url)
    entries = audit_entries(engine)
    engine.dispose()
    assert any(e["action"] == "privacy" and e["object"] == "stream:a2-ash" for e in entries)


def test_openapi_has_stable_operation_ids(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, _ = api
    ops = {
        op["operationId"]
        for path in client.get("/openapi.json").json()["paths"].values()
        for op in path.values()
    }
    assert {"login", "read_me", "list_parks", "read_stream", "update_stream", "set_privacy"} <= ops


def test_users_add_cli(database_url: str) -> None:
    r = CliRunner().invoke(
        cli_app,
        ["users", "add", "first@example.org", "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        cli_app,
        ["users", "add", "first@example.org", "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 1 and "exists already" in r.stderr
    r = CliRunner().invoke(
        cli_app,
        ["users", "add", "x@example.org", "--role", "park_manager", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 1 and "needs --park" in r.stderr


# -- the workflow of a link ------------------------------------------------------------------------------


def test_a_suggestion_becomes_an_introduction_only_when_both_consent(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, h = api
    r = client.post("/api/v1/parks/A/suggestions", headers=h["manager"])
    assert r.status_code == 200 and r.json()["new_links"] >= 1, r.text
    mine = client.get("/api/v1/companies/a1/links", headers=h["member"]).json()
    link = next(
        x for x in mine if x["receiver"]["sector_isic"] == "2394"
    )  # the slag to the cement plant
    assert link["status"] == "suggested" and link["reasons"]
    # Before the introduction the steel mill sees only "a company of sector 2394", not its name.
    assert link["receiver"]["name"] is None and "sector 2394" in link["receiver"]["description"]
    assert "Company A2" not in str(link) and "neighbour@example.org" not in str(link)
    lid = link["id"]
    # A third company of the park does not even learn the link exists.
    third = add_user(
        client.app.state.engine, "third@example.org", PASSWORD, "company_member", company="a3"
    )  # type: ignore[attr-defined]
    token = client.post(
        "/api/v1/auth/token", data={"username": third.email, "password": PASSWORD}
    ).json()["access_token"]
    assert (
        client.get(f"/api/v1/links/{lid}", headers={"Authorization": f"Bearer {token}"}).status_code
        == 404
    )
    r = client.post(f"/api/v1/links/{lid}/actions", json={"action": "consent"}, headers=h["member"])
    assert r.json()["status"] == "interested" and r.json()["receiver"]["name"] is None
    assert (
        client.post(
            f"/api/v1/links/{lid}/actions", json={"action": "advance"}, headers=h["member"]
        ).status_code
        == 409
    )
    seen_by_cement = client.get(f"/api/v1/links/{lid}", headers=h["neighbour"]).json()
    assert (
        seen_by_cement["supplier"]["name"] is None
    )  # the introduction needs the cement plant's consent too
    r = client.post(
        f"/api/v1/links/{lid}/actions", json={"action": "consent"}, headers=h["neighbour"]
    )
    assert r.json()["status"] == "introduced"
    both = [
        client.get(f"/api/v1/links/{lid}", headers=h[x]).json() for x in ("member", "neighbour")
    ]
    assert both[0]["receiver"]["name"] == "Company A2" and both[0]["receiver"]["contacts"] == [
        "neighbour@example.org"
    ]
    assert both[1]["supplier"]["name"] == "Company A1" and both[1]["supplier"]["contacts"] == [
        "member@example.org"
    ]
    for step in ("negotiating", "agreed", "operating"):
        assert (
            client.post(
                f"/api/v1/links/{lid}/actions", json={"action": "advance"}, headers=h["facilitator"]
            ).json()["status"]
            == step
        )
    r = client.post(
        f"/api/v1/links/{lid}/measurements",
        json={"month": "2026-10", "quantity": 48.0, "unit": "t"},
        headers=h["member"],
    )
    assert r.status_code == 201 and r.json()["measurements"] == [
        {"month": "2026-10", "quantity": 48.0, "unit": "t"}
    ]
    bad = client.post(
        f"/api/v1/links/{lid}/measurements",
        json={"month": "2026-13", "quantity": 1, "unit": "t"},
        headers=h["member"],
    )
    assert bad.status_code == 422
    events = client.get(f"/api/v1/links/{lid}", headers=h["admin"]).json()["events"]
    assert [e["to"] for e in events] == [
        "suggested",
        "interested",
        "introduced",
        "negotiating",
        "agreed",
        "operating",
    ]
    assert all(e["at"] for e in events) and events[1]["user"] != events[2]["user"]
    assert (
        client.post(
            f"/api/v1/links/{lid}/actions", json={"action": "end"}, headers=h["neighbour"]
        ).json()["status"]
        == "ended"
    )
    assert (
        client.post(
            f"/api/v1/links/{lid}/actions", json={"action": "advance"}, headers=h["member"]
        ).status_code
        == 409
    )


# -- uploads and login limits ------------------------------------------------------------------------


def test_an_upload_is_stored_whole_or_refused_with_every_problem(
    api: tuple[TestClient, dict[str, dict[str, str]]], tmp_path: Path
) -> None:
    import io

    from openpyxl import load_workbook

    from symbiolink.io import write_park

    client, h = api
    buf = io.BytesIO()
    path = tmp_path / "park.xlsx"
    write_park(platform_park(), path)
    wb = load_workbook(path)
    ws = wb["streams"]
    header = [c.value for c in ws[1]]
    ws.cell(row=3, column=header.index("unit") + 1, value="kW")  # a power on a material stream
    ws.cell(row=4, column=header.index("direction") + 1, value="sideways")
    wb.save(buf)
    r = client.post(
        "/api/v1/parks/import",
        content=buf.getvalue(),
        headers={**h["admin"], "x-filename": "park.xlsx"},
    )
    assert r.status_code == 422
    problems = r.json()["detail"]
    assert {p["where"] for p in problems} >= {"sheet streams, row 3", "sheet streams, row 4"}
    # Nothing was written: the stream the bad file would have changed is as before.
    assert client.get("/api/v1/streams/a2-ash", headers=h["admin"]).json()["unit"] == "t/yr"
    big = b"x" * (21 * 2**20)
    assert client.post("/api/v1/parks/import", content=big, headers=h["admin"]).status_code == 413


def test_failed_logins_are_limited(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, _ = api
    for _ in range(10):
        r = client.post(
            "/api/v1/auth/token", data={"username": "member@example.org", "password": "wrong wrong"}
        )
        assert r.status_code == 401
    r = client.post(
        "/api/v1/auth/token", data={"username": "member@example.org", "password": PASSWORD}
    )
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # Another account from the same address is not locked out.
    assert (
        client.post(
            "/api/v1/auth/token", data={"username": "admin@example.org", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_deep_json_and_too_many_rows_get_a_clear_4xx(
    api: tuple[TestClient, dict[str, dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, h = api
    deep = '{"a": ' * 2000 + '"x"' + "}" * 2000  # deep enough to break a recursive parser
    body = (
        '{"id": "deep", "direction": "supply", "kind": "material", "name": "Slag", "properties": '
        + deep
        + "}"
    )
    r = client.post(
        "/api/v1/companies/a1/streams",
        content=body,
        headers={**h["member"], "content-type": "application/json"},
    )
    assert r.status_code == 400 and "nested deeper than 32" in r.text
    r = client.post(
        "/api/v1/parks/import",
        content=body.encode(),
        headers={**h["admin"], "x-filename": "deep.json"},
    )
    assert r.status_code == 400
    # An ordinary body still reaches the route after the depth check read it.
    ok = {"id": "flat", "direction": "supply", "kind": "material", "name": "Slag"}
    assert (
        client.post("/api/v1/companies/a1/streams", json=ok, headers=h["member"]).status_code == 201
    )
    monkeypatch.setattr("symbiolink.web.app.MAX_ROWS", 3)
    r = client.post(
        "/api/v1/parks/import",
        content=platform_park().model_dump_json().encode(),
        headers={**h["admin"], "x-filename": "p.json"},
    )
    assert r.status_code == 413 and "at most 3 per upload" in r.text
