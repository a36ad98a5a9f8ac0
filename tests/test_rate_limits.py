"""Request rates per account and per client address (issue 9): token buckets, 429 with Retry-After
as the JSON error model on the API and as an error page on the pages, ``SYMBIOLINK_RATE_LIMIT``.

The buckets' clock is the limiter's ``clock``, set by the tests, so nothing here depends on how
fast the machine is. Runs on SQLite, and on PostgreSQL when SYMBIOLINK_TEST_DATABASE_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from symbiolink.errors import SymbiolinkError
from symbiolink.store import import_park, make_engine
from symbiolink.store.accounts import add_user, issue_token
from symbiolink.web.app import create_app
from symbiolink.web.limits import ENV_RATE_LIMIT, RateLimits, TokenBuckets
from web_park import PASSWORD, platform_park


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Limited:
    app: FastAPI
    clock: Clock
    tokens: dict[str, str]


@pytest.fixture
def limited(database_url: str) -> Iterator[Limited]:
    """The test park, an app limited to 3 requests a minute per account and 6 per address."""
    app = create_app(database_url, secure_cookies=False, rate_limits=RateLimits(3, 6))
    engine = make_engine(database_url)
    import_park(engine, platform_park())
    users = {
        "member": add_user(engine, "member@example.org", PASSWORD, "company_member", company="a1"),
        "neighbour": add_user(engine, "neighbour@example.org", PASSWORD, "company_member", company="a2"),
    }  # fmt: skip
    tokens = {role: issue_token(engine, u) for role, u in users.items()}
    tokens["member-2"] = issue_token(engine, users["member"])  # a second token of the same account
    engine.dispose()
    clock = Clock()
    app.state.rate_limiter.clock = clock
    yield Limited(app, clock, tokens)
    app.state.engine.dispose()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_account_over_its_rate_gets_429_with_retry_after(limited: Limited) -> None:
    with TestClient(limited.app) as client:
        member = _bearer(limited.tokens["member"])
        for _ in range(3):
            assert client.get("/api/v1/users/me", headers=member).status_code == 200
        r = client.get("/api/v1/parks", headers=member)
        assert r.status_code == 429
        # 3 a minute: one more comes 20 s after the bucket emptied.
        assert r.headers["Retry-After"] == "20"
        assert r.json() == {"detail": "too many requests from this account: try again in 20 s"}
        # Another token of the same account draws on the same bucket; another account does not.
        assert client.get("/api/v1/users/me", headers=_bearer(limited.tokens["member-2"])).status_code == 429  # fmt: skip
        assert client.get("/api/v1/users/me", headers=_bearer(limited.tokens["neighbour"])).status_code == 200  # fmt: skip
        limited.clock.now += 19.0
        r = client.get("/api/v1/users/me", headers=member)
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        limited.clock.now += 1.0
        assert client.get("/api/v1/users/me", headers=member).status_code == 200


def test_an_address_over_its_rate_gets_429_whoever_asks(limited: Limited) -> None:
    with (
        TestClient(limited.app) as here,
        TestClient(limited.app, client=("192.0.2.7", 40000)) as elsewhere,
    ):
        # Six a minute from one address: two accounts and requests without credentials together.
        for token in ("member", "neighbour"):
            for _ in range(2):
                assert here.get("/api/v1/users/me", headers=_bearer(limited.tokens[token])).status_code == 200  # fmt: skip
        assert here.get("/api/v1/users/me").status_code == 401
        assert here.get("/api/v1/users/me", headers=_bearer("not-a-token")).status_code == 401
        r = here.get("/api/v1/users/me")
        assert r.status_code == 429 and r.headers["Retry-After"] == "10"
        assert r.json()["detail"] == "too many requests from this address: try again in 10 s"
        # A login is counted too (before its own limit of failures).
        r = here.post(
            "/api/v1/auth/token", data={"username": "member@example.org", "password": PASSWORD}
        )
        assert r.status_code == 429  # fmt: skip
        # Another address is not limited by this one, but the account still is.
        assert elsewhere.get("/api/v1/users/me", headers=_bearer(limited.tokens["neighbour"])).status_code == 200  # fmt: skip
        assert elsewhere.get("/api/v1/users/me", headers=_bearer(limited.tokens["member"])).status_code == 200  # fmt: skip
        assert elsewhere.get("/api/v1/users/me", headers=_bearer(limited.tokens["member"])).status_code == 429  # fmt: skip
        # Static files are not counted.
        assert here.get("/static/htmx.min.js").status_code == 200


def test_a_page_over_the_rate_is_an_error_page(limited: Limited) -> None:
    with TestClient(limited.app) as client:
        client.cookies.set("symbiolink_session", limited.tokens["member"])
        for _ in range(3):
            assert client.get("/me").status_code == 200
        r = client.get("/me")
        assert r.status_code == 429 and r.headers["Retry-After"] == "20"
        assert r.headers["content-type"].startswith("text/html") and "<html" in r.text
        assert "too many requests from this account: try again in 20 s" in r.text
        assert r.headers["content-security-policy"].startswith("default-src 'self'")
        # In Vietnamese too (the page's frame; the reason is the server's sentence).
        r = client.get("/me?lang=vi")
        assert r.status_code == 429 and 'lang="vi"' in r.text


def test_every_operation_declares_429(limited: Limited) -> None:
    with TestClient(limited.app) as client:
        paths = client.get("/openapi.json").json()["paths"]
    ops = [(m, p, op) for p, item in paths.items() for m, op in item.items()]
    assert ops and all("429" in op["responses"] for _m, _p, op in ops), [
        (m, p) for m, p, op in ops if "429" not in op["responses"]
    ]


def test_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    assert RateLimits.from_env({}) == RateLimits(600, 1200)
    assert RateLimits.from_env({ENV_RATE_LIMIT: " 30, 90 "}) == RateLimits(30, 90)
    assert RateLimits.from_env({ENV_RATE_LIMIT: "0"}).off
    assert RateLimits.from_env({ENV_RATE_LIMIT: "0,100"}) == RateLimits(0, 100)
    for bad in ("600", "a,b", "-1,5", "1.5,2", "1,2,3", "１,２"):
        with pytest.raises(SymbiolinkError, match=f"{ENV_RATE_LIMIT}: .* is not a rate limit"):
            RateLimits.from_env({ENV_RATE_LIMIT: bad})
    monkeypatch.setenv(ENV_RATE_LIMIT, "0")
    app = create_app(database_url)
    assert app.state.rate_limiter is None
    app.state.engine.dispose()
    monkeypatch.setenv(ENV_RATE_LIMIT, "5,7")
    app = create_app(database_url)
    assert app.state.rate_limiter.limits == RateLimits(5, 7)
    app.state.engine.dispose()
    monkeypatch.setenv(ENV_RATE_LIMIT, "lots")
    with pytest.raises(SymbiolinkError, match="accepted: ACCOUNT,ADDRESS"):
        create_app(database_url)


def test_a_bucket_refills_at_its_rate_and_forgets_full_buckets() -> None:
    b = TokenBuckets(60)  # one a second
    assert all(b.take("k", 0.0) == 0.0 for _ in range(60))
    assert b.take("k", 0.0) == pytest.approx(1.0)
    assert b.take("k", 0.5) == pytest.approx(0.5)
    assert b.take("k", 1.0) == 0.0
    assert b.take("k", 1.0) > 0
    # After a minute idle the bucket is full again: at most 60, however long the wait.
    assert sum(b.take("k", 1000.0) == 0.0 for _ in range(100)) == 60
    b.take("other", 2000.0)
    b._forget_full(3000.0)
    assert b.buckets == {}
