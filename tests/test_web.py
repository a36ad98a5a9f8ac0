"""The web API: every route, an authorization matrix generated from a table, confidentiality.

Runs on SQLite, and on PostgreSQL when SYMBIOLINK_TEST_DATABASE_URL is set (``.ci/run`` does both).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from symbiolink.cli import app as cli_app
from symbiolink.model.park import FORMAT, ParkFile
from symbiolink.store import import_park, make_engine
from symbiolink.store.accounts import add_user, audit_entries
from symbiolink.web.app import create_app

PASSWORD = "correct horse battery"


def _park() -> ParkFile:
    def c(i: str, park: str, isic: str) -> dict[str, Any]:
        return {"id": i, "name": f"Company {i.upper()}", "park": park, "isic": isic}

    def s(i: str, comp: str, q: float, **kw: Any) -> dict[str, Any]:
        return {"id": i, "company": comp, "direction": "supply", "kind": "material", "name": i, "quantity": q,
                "unit": "t/yr", **kw}  # fmt: skip

    return ParkFile.model_validate({
        "format": FORMAT,
        "parks": [{"id": "A", "name": "Park A", "country": "VN"}, {"id": "B", "name": "Park B", "country": "VN"}],
        "companies": [c("a1", "A", "2410"), c("a2", "A", "2394"), c("a3", "A", "3510"), c("b1", "B", "2410")],
        "streams": [
            s("a1-slag", "a1", 600, properties={"price": 5.0, "disposal_cost": 20.0}), s("a1-secret", "a1", 50),
            s("a2-ash", "a2", 100), s("a3-gypsum", "a3", 300), s("b1-slag", "b1", 900),
        ],
    })  # fmt: skip


@pytest.fixture
def api(database_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    engine = make_engine(database_url)
    app = create_app(database_url)  # migrates
    import_park(engine, _park())
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
}  # fmt: skip
_counter = itertools.count()


def test_the_matrix_covers_every_route() -> None:
    app = create_app("sqlite://")
    routes = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    assert routes == set(MATRIX), (
        f"routes without an entry: {routes - set(MATRIX)}; entries without a route: {set(MATRIX) - routes}"
    )


def _call(
    client: TestClient,
    headers: dict[str, dict[str, str]],
    role: str,
    method: str,
    route: str,
    own: bool,
) -> int:
    park, company = ("A", "a1") if own else ("B", "b1")
    admin = headers["admin"]
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
    got = {
        role: (
            _call(client, headers, role, method, route, True),
            _call(client, headers, role, method, route, False),
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
