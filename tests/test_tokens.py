"""Bearer tokens and their cache: a cached token is trusted for at most ``SYMBIOLINK_TOKEN_CACHE_S``
seconds and never past its expiry; a logout or revocation through the server refuses it at once.

Runs on SQLite, and on PostgreSQL when SYMBIOLINK_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, update

from symbiolink.errors import SymbiolinkError
from symbiolink.store import accounts, import_park, make_engine
from symbiolink.store.accounts import add_user, revoke_token
from symbiolink.store.models import ApiTokenRow, UserRow
from symbiolink.web.app import create_app
from symbiolink.web.pages import SESSION
from web_park import PASSWORD, platform_park


class Clock:
    """``time.time`` and ``time.monotonic`` of the accounts module, moved on by hand."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(accounts, "time", c)
    return c


def _client(database_url: str, **kwargs: Any) -> Iterator[tuple[TestClient, Engine, str]]:
    engine = make_engine(database_url)
    app = create_app(database_url, secure_cookies=False, **kwargs)
    import_park(engine, platform_park())
    add_user(engine, "member@example.org", PASSWORD, "company_member", company="a1")
    with TestClient(app) as client:
        r = client.post(
            "/api/v1/auth/token", data={"username": "member@example.org", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        yield client, engine, r.json()["access_token"]
    engine.dispose()


@pytest.fixture
def api(database_url: str) -> Iterator[tuple[TestClient, Engine, str]]:
    """The app with its token cache on for 60 s (longer than any test takes)."""
    yield from _client(database_url, token_cache_s=60)


def _me(client: TestClient, token: str) -> int:
    return client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_a_cached_token_is_not_looked_up_again(
    api: tuple[TestClient, Engine, str], database_url: str
) -> None:
    client, _engine, token = api
    app_engine = client.app.state.engine  # type: ignore[attr-defined]
    seen = _statements(app_engine)
    assert _me(client, token) == 200
    first = len(seen)
    assert _me(client, token) == 200
    # The first request looked the token up (token, then user); the second ran no query at all.
    assert first >= 2 and len(seen) == first


def test_a_revoked_token_is_refused_at_once(api: tuple[TestClient, Engine, str]) -> None:
    client, engine, token = api
    assert _me(client, token) == 200  # cached now
    cache = client.app.state.token_cache  # type: ignore[attr-defined]
    assert revoke_token(engine, token, cache)
    assert _me(client, token) == 401
    assert not revoke_token(engine, token, cache)  # gone already


def test_logout_revokes_the_session_token(api: tuple[TestClient, Engine, str]) -> None:
    client, _engine, token = api
    assert _me(client, token) == 200  # cached now
    secret = client.app.state.secret  # type: ignore[attr-defined]
    csrf = hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()
    client.cookies.set(SESSION, token)
    r = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.clear()
    # A copy of the cookie, or the same token as a bearer, works no more.
    assert _me(client, token) == 401
    client.cookies.set(SESSION, token)
    assert client.get("/me", follow_redirects=False).status_code == 303


def test_an_expired_token_is_refused_even_when_cached(
    api: tuple[TestClient, Engine, str], clock: Clock
) -> None:
    client, engine, token = api
    soon = datetime.now(UTC) + timedelta(seconds=30)
    with engine.begin() as conn:
        conn.execute(update(ApiTokenRow).values(expires_at=soon))
    assert _me(client, token) == 200  # cached, for up to 60 s
    clock.offset = 31  # past the token's expiry, within the cache's 60 s
    assert _me(client, token) == 401


def test_a_change_made_elsewhere_is_seen_within_the_cache_time(
    api: tuple[TestClient, Engine, str], clock: Clock
) -> None:
    client, engine, token = api
    assert _me(client, token) == 200
    # Another process (the command line, another worker) deactivates the account: this server
    # trusts its cached answer until the cache time has passed, then asks the database again.
    with engine.begin() as conn:
        conn.execute(update(UserRow).values(active=False))
    assert _me(client, token) == 200
    clock.offset = 61
    assert _me(client, token) == 401


def test_without_the_cache_every_request_asks_the_database(database_url: str) -> None:
    for client, engine, token in _client(database_url, token_cache_s=0):
        assert _me(client, token) == 200
        with engine.begin() as conn:
            conn.execute(update(UserRow).values(active=False))
        assert _me(client, token) == 401


def test_the_cache_time_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("SYMBIOLINK_TOKEN_CACHE_S", "2.5")
    app = create_app(database_url)
    assert app.state.token_cache.ttl == 2.5
    app.state.engine.dispose()
    for bad in ("soon", "-1", "nan", "1e9"):
        monkeypatch.setenv("SYMBIOLINK_TOKEN_CACHE_S", bad)
        with pytest.raises(SymbiolinkError, match="SYMBIOLINK_TOKEN_CACHE_S"):
            create_app(database_url)
