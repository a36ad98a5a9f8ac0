"""No secret and no private figure in the logs (issue 9): everything the app, SQLAlchemy and
uvicorn log at DEBUG (SQL statements and uvicorn's access log included) while users log in by the
API and the login page, use their tokens and sessions, import a park with private figures, change
them, and get errors, holds no password, token, token digest, password hash, private quantity or
price.

A real uvicorn server on the loopback, so that its access log is the one a deployment writes.
Runs on SQLite, and on PostgreSQL when SYMBIOLINK_TEST_DATABASE_URL is set."""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest
import uvicorn

from symbiolink.store import make_engine
from symbiolink.store.accounts import add_user
from symbiolink.web.app import create_app
from symbiolink.web.limits import RateLimits
from web_park import PASSWORD, platform_park_document

QUANTITY, PRICE, NEW_QUANTITY = 975313.0, 86421.5, 975317.0
WRONG_PASSWORD = "not the password 5821"


@pytest.fixture
def server(database_url: str, caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    # Everything at DEBUG, SQLAlchemy's statements too (it keeps its own loggers at WARNING).
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy", "uvicorn", "uvicorn.access", "uvicorn.error"):
        caplog.set_level(logging.DEBUG, logger=name)
    app = create_app(database_url, secure_cookies=False, rate_limits=RateLimits(600, 1200))
    engine = make_engine(database_url)
    add_user(engine, "admin@example.org", PASSWORD, "admin")
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # log_config=None: uvicorn's loggers keep no handler of their own and reach the capture.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="debug", log_config=None,
                            access_log=True)  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(400):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_logs_hold_no_secret_and_no_private_figure(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    secrets_seen: dict[str, str] = {"password": PASSWORD, "wrong password": WRONG_PASSWORD}
    doc = platform_park_document()
    slag = next(s for s in doc["streams"] if s["id"] == "a1-slag")
    slag["quantity"], slag["properties"] = QUANTITY, {"price": PRICE}
    with httpx.Client(base_url=server, timeout=60) as api:
        # Logins: a wrong password, then a right one.
        r = api.post(
            "/api/v1/auth/token", data={"username": "admin@example.org", "password": WRONG_PASSWORD}
        )
        assert r.status_code == 401  # fmt: skip
        token = api.post("/api/v1/auth/token", data={"username": "admin@example.org", "password": PASSWORD}).json()["access_token"]  # fmt: skip
        secrets_seen["token"] = token
        bearer = {"Authorization": f"Bearer {token}"}
        # An import with private figures, which are then made private and changed.
        r = api.post("/api/v1/parks/import", content=json.dumps(doc).encode(),
                     headers={**bearer, "x-filename": "park.json"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert api.put("/api/v1/streams/a1-slag/privacy", json={"private": ["quantity", "price"]}, headers=bearer).status_code == 200  # fmt: skip
        r = api.patch(
            "/api/v1/streams/a1-slag",
            json={"quantity": NEW_QUANTITY, "unit": "t/yr"},
            headers=bearer,
        )
        assert r.status_code == 200  # fmt: skip
        # Errors: a change the checks refuse (its 422 quotes the figure back to the sender), a
        # missing stream, a garbage and an unknown token, a body that is not JSON.
        r = api.patch(
            "/api/v1/streams/a1-slag", json={"quantity": NEW_QUANTITY, "unit": "kW"}, headers=bearer
        )
        assert r.status_code == 422  # fmt: skip
        assert api.get("/api/v1/streams/nope", headers=bearer).status_code == 404
        assert (
            api.get("/api/v1/users/me", headers={"Authorization": "Bearer x" * 3}).status_code
            == 401
        )
        r = api.post(
            "/api/v1/companies/a1/streams",
            content=b"{not json",
            headers={**bearer, "content-type": "application/json"},
        )
        assert r.status_code == 422  # fmt: skip
        # The browser: the login page, a session, pages.
        page = api.get("/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = api.post(
            "/login", data={"email": "admin@example.org", "password": PASSWORD, "csrf": csrf}
        )
        assert r.status_code == 303, r.text  # fmt: skip
        session = api.cookies["symbiolink_session"]
        secrets_seen["session token"] = session
        assert api.get("/park/A").status_code == 200
        assert api.get("/me").status_code == 200
    for name in ("token", "session token"):
        secrets_seen[f"{name} digest"] = hashlib.sha256(secrets_seen[name].encode()).hexdigest()
    figures = {"private quantity": ["975313", "975317"], "private price": ["86421"]}
    # What the server side logged (the test's own HTTP client logs the cookies it receives).
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    fmt = logging.Formatter()
    text = "\n".join(
        f"{r.name} {r.getMessage()} {fmt.formatException(r.exc_info) if r.exc_info else ''}"
        for r in server_side
    )
    # The capture saw the traffic: uvicorn's access lines and SQLAlchemy's statements.
    assert '"POST /api/v1/auth/token HTTP/1.1" 200' in text
    assert "SELECT" in text and "streams" in text
    found = [what for what, value in secrets_seen.items() if value in text]
    found += [what for what, forms in figures.items() if any(f in text for f in forms)]
    found += ["a password hash"] if "$argon2" in text else []
    assert not found, found
