"""The browser UI: translations, sessions and CSRF, uploads, and the whole introduction in a real
browser (Playwright driving Debian's chromium), in English and in Vietnamese."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from symbiolink.io import write_park
from symbiolink.model.park import FORMAT, ParkFile
from symbiolink.store import import_park, make_engine
from symbiolink.store.accounts import add_user
from symbiolink.web.app import create_app
from symbiolink.web.i18n import catalog, used_messages

PASSWORD = "correct horse battery"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _registry() -> ParkFile:
    return ParkFile.model_validate({
        "format": FORMAT,
        "parks": [{"id": "hp", "name": "Hai Phong demo", "country": "VN", "lat": 20.9, "lon": 106.6}],
        "companies": [
            {"id": "steel", "name": "Thep Viet steel mill", "park": "hp", "isic": "2410", "lat": 20.9, "lon": 106.6},
            {"id": "cement", "name": "Xi mang Hai Phong cement", "park": "hp", "isic": "2394", "lat": 20.91, "lon": 106.61},
        ],
        "streams": [
            {"id": "cement-in", "company": "cement", "direction": "demand", "kind": "material", "name": "Slag for clinker", "quantity": 50000, "unit": "t/yr"},
        ],
    })  # fmt: skip


def _filled_template(path: Path) -> Path:
    """What the steel mill fills in: its park, itself, and its slag."""
    doc = _registry().to_document()
    doc["companies"] = [c for c in doc["companies"] if c["id"] == "steel"]
    doc["streams"] = [{"id": "steel-slag", "company": "steel", "direction": "supply", "kind": "material",
                       "name": "EAF steel slag", "ewc": "100202", "quantity": 60000, "unit": "t/yr"}]  # fmt: skip
    write_park(ParkFile.model_validate(doc), path)
    return path


@pytest.fixture
def seeded(database_url: str) -> Iterator[str]:
    engine = make_engine(database_url)
    create_app(database_url).state.engine.dispose()  # migrated; the app's own connections closed
    import_park(engine, _registry())
    add_user(engine, "steel@example.org", PASSWORD, "company_member", company="steel")
    add_user(engine, "cement@example.org", PASSWORD, "company_member", company="cement")
    engine.dispose()
    yield database_url


def test_every_string_of_the_pages_is_translated() -> None:
    vi = catalog("vi")
    missing = sorted(m for m in used_messages() if not vi.get(m))
    assert missing == [], f"no Vietnamese for: {missing}"


def _login(client: TestClient, email: str) -> None:
    page = client.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303, r.text


def _csrf(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]


def test_sessions_csrf_and_headers(seeded: str) -> None:
    with TestClient(create_app(seeded, secure_cookies=False)) as client:
        assert client.get("/me", follow_redirects=False).headers["location"] == "/login"
        page = client.get("/login")
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert (
            page.headers["x-frame-options"] == "DENY"
            and page.headers["referrer-policy"] == "same-origin"
        )
        r = client.post(
            "/login", data={"email": "steel@example.org", "password": PASSWORD, "csrf": "forged"}
        )
        assert r.status_code == 403
        csrf = _csrf(page.text)
        r = client.post(
            "/login",
            data={"email": "steel@example.org", "password": PASSWORD, "csrf": csrf},
            follow_redirects=False,
        )
        cookie = r.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        me = client.get("/me")
        assert "Thep Viet steel mill" in me.text
        # A form without the session's CSRF token is refused.
        assert (
            client.post(
                "/upload", data={"csrf": "x"}, files={"file": ("p.json", b"{}")}
            ).status_code
            == 403
        )
    with TestClient(
        create_app(seeded), base_url="https://testserver"
    ) as client:  # production: Secure cookies
        page = client.get("/login")
        r = client.post(
            "/login",
            data={"email": "steel@example.org", "password": PASSWORD, "csrf": _csrf(page.text)},
            follow_redirects=False,
        )
        assert "secure" in r.headers["set-cookie"].lower()


def test_upload_saves_the_company_streams_or_lists_the_problems(
    seeded: str, tmp_path: Path
) -> None:
    with TestClient(create_app(seeded, secure_cookies=False)) as client:
        _login(client, "steel@example.org")
        template = client.get("/template.xlsx")
        assert template.status_code == 200 and template.content[:2] == b"PK"
        me = client.get("/me")
        data = _filled_template(tmp_path / "t.xlsx").read_bytes()
        r = client.post("/upload", data={"csrf": _csrf(me.text)}, files={"file": ("t.xlsx", data)})
        assert r.status_code == 200 and "EAF steel slag" in r.text
        assert (
            "a company of sector 2394".lower() in r.text.lower()
        )  # the cement plant, not named yet
        assert "Xi mang Hai Phong cement" not in r.text
        bad = b'{"format": "symbiolink-park/1", "streams": [{"id": "x", "company": "steel", "direction": "up"}]}'
        r = client.post("/upload", data={"csrf": _csrf(me.text)}, files={"file": ("bad.json", bad)})
        assert r.status_code == 422 and "streams[0].direction" in r.text
        assert "EAF steel slag" in r.text  # the earlier streams are still there


# -- in a real browser ------------------------------------------------------------------------------


@pytest.fixture
def server(seeded: str) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(seeded), host="127.0.0.1", port=port, log_level="error")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://localhost:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_an_introduction_in_the_browser(server: str, tmp_path: Path, lang: str) -> None:
    from playwright.sync_api import sync_playwright

    labels: dict[str, Any] = {
        "en": {
            "login": "Log in",
            "upload": "Upload",
            "ask": "Ask for an introduction",
            "saved": "Your streams were saved",
        },
        "vi": {
            "login": "Đăng nhập",
            "upload": "Tải lên",
            "ask": "Đề nghị được giới thiệu",
            "saved": "Các dòng của bạn đã được lưu",
        },
    }[lang]
    template = _filled_template(tmp_path / "steel.xlsx")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

        def log_in(email: str) -> Any:
            page = browser.new_context().new_page()
            page.goto(f"{server}/login?lang={lang}")
            page.get_by_label("E-mail" if lang == "en" else "Thư điện tử").fill(email)
            page.get_by_label("Password" if lang == "en" else "Mật khẩu").fill(PASSWORD)
            page.get_by_role("button", name=labels["login"]).click()
            page.wait_for_url(f"{server}/me")
            return page

        steel = log_in("steel@example.org")
        steel.get_by_label(
            "Upload the filled template" if lang == "en" else "Tải lên mẫu đã điền"
        ).set_input_files(str(template))
        steel.get_by_role("button", name=labels["upload"], exact=True).click()
        steel.wait_for_selector(f"text={labels['saved']}")
        row = steel.locator("tr", has_text="EAF steel slag").last
        assert "2394" in row.inner_text() and "Xi mang" not in row.inner_text()
        assert row.locator("li").count() >= 1  # the match's reasons
        row.get_by_role("button", name=labels["ask"]).click()
        steel.wait_for_timeout(300)

        cement = log_in("cement@example.org")
        crow = cement.locator("tr", has_text="EAF steel slag").last
        assert "Thep Viet" not in crow.inner_text()  # still anonymous until the cement plant agrees
        crow.get_by_role("button", name=labels["ask"]).click()
        cement.wait_for_selector("text=Thep Viet steel mill")
        assert "steel@example.org" in cement.content()

        steel.reload()
        steel.wait_for_selector("text=Xi mang Hai Phong cement")
        assert "cement@example.org" in steel.content()
        steel.screenshot(path=str(tmp_path / f"introduced-{lang}.png"), full_page=True)
        browser.close()


def test_the_park_dashboard_shows_measured_beside_estimated(seeded: str, tmp_path: Path) -> None:
    from sqlalchemy.orm import Session

    from symbiolink.store.links import act, suggest
    from symbiolink.store.models import LinkRow

    engine = make_engine(seeded)
    manager = add_user(engine, "manager@example.org", PASSWORD, "park_manager", park="hp")
    with TestClient(create_app(seeded, secure_cookies=False)) as client:
        _login(client, "steel@example.org")
        me = client.get("/me")
        client.post(
            "/upload",
            data={"csrf": _csrf(me.text)},
            files={"file": ("t.xlsx", _filled_template(tmp_path / "t.xlsx").read_bytes())},
        )
        assert client.get("/park/hp").status_code == 403  # a company member sees no dashboard
    with Session(engine) as s, s.begin():
        if not s.query(LinkRow).count():
            from symbiolink.matching.engine import Match

            suggest(s, [Match("steel-slag", "cement", "cement-in", 1, 0.5, "", [], [], 1.0)])
        link = s.query(LinkRow).filter(LinkRow.supply_id == "steel-slag").one()
        link.status, link.supplier_consent, link.receiver_consent = "agreed", True, True
        act(s, link, manager, "advance")  # -> operating
        from symbiolink.store.links import measure

        measure(s, link, manager, "2026-09", 4000.0, "t")
        measure(s, link, manager, "2026-10", 6000.0, "t")
    engine.dispose()
    with TestClient(create_app(seeded, secure_cookies=False)) as client:
        _login(client, "manager@example.org")
        page = client.get("/park/hp?lang=vi")
        assert page.status_code == 200
        # Measured: (4,000 + 6,000) / 2 months = 5,000 t a month; estimated: 60,000 t/yr / 12 = 5,000
        # (written 5.000 in Vietnamese).
        assert page.text.count("5.000 t") == 2 and "đang vận hành" in page.text
        assert "Thep Viet steel mill" in page.text  # a broker sees both names
        assert client.get("/park/elsewhere").status_code == 403
