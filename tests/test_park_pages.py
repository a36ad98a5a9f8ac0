"""The park's pages (dashboard with map and Sankey, matching explorer, network, link workflow) on the
Vietnamese demo parks: who may open each, what each role may not see, the htmx fragments, and the
pages in a real browser (Playwright driving Debian's chromium, offline: the machine has no
internet, so the map's tiles cannot load and its markers must show all the same).

Runs on SQLite, and on PostgreSQL when SYMBIOLINK_TEST_DATABASE_URL is set."""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from symbiolink.io import read_park
from symbiolink.model.park import ParkFile
from symbiolink.store import import_park, links, make_engine
from symbiolink.store.accounts import User, add_user
from symbiolink.store.models import CompanyRow, LinkEventRow, LinkRow, StreamRow
from symbiolink.web.app import create_app

PASSWORD = "correct horse battery"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HP, CT = "vn-hp-namcaukien", "vn-ct-tranoc"
EMAILS = {
    "admin": "admin@example.org",
    "manager": "manager@example.org",
    "facilitator": "facilitator@example.org",
    "member": "steel@example.org",
    "observer": "observer@example.org",
}


@dataclass
class World:
    url: str
    users: dict[str, User]
    steel_slag_to_asphalt: int
    """A link of the steel mill (the member's company), operating."""
    fly_ash_to_cement: int
    """A suggested link from the power plant, whose fly ash keeps its identity private."""
    steam_to_brewery: int
    """A suggested link of the steel mill, for the workflow."""
    other_park_link: int


def _link(s: Session, supply: str, receiver: str) -> LinkRow:
    return s.scalars(
        select(LinkRow).where(LinkRow.supply_id == supply, LinkRow.receiver_id == receiver)
    ).one()


@cache
def _demo() -> ParkFile:
    return read_park(resources.files("symbiolink") / "data" / "demo" / "vn-haiphong-cantho.json")  # type: ignore[arg-type]


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    """Both demo parks, matched (three suggestions per supply); an account per role (the manager and
    facilitator of Hai Phong), members of the steel mill and the cement plant; the steel slag to the
    asphalt plant operating with two measured months; the power plant's fly ash identity-private."""
    create_app(database_url).state.engine.dispose()  # migrated
    engine = make_engine(database_url)
    import_park(engine, _demo())
    users = {
        "admin": add_user(engine, EMAILS["admin"], PASSWORD, "admin"),
        "manager": add_user(engine, EMAILS["manager"], PASSWORD, "park_manager", park=HP),
        "facilitator": add_user(engine, EMAILS["facilitator"], PASSWORD, "facilitator", parks=[HP]),
        "member": add_user(engine, EMAILS["member"], PASSWORD, "company_member", company="hp-steel"),
        "observer": add_user(engine, EMAILS["observer"], PASSWORD, "observer"),
        "cement": add_user(engine, "cement@example.org", PASSWORD, "company_member", company="hp-cement"),
    }  # fmt: skip
    for park in (HP, CT):
        links.suggest_for_park(engine, park, users["admin"])
    with Session(engine) as s, s.begin():
        slag = _link(s, "hp-steel-eaf-slag", "hp-asphalt")
        slag.status, slag.supplier_consent, slag.receiver_consent = "agreed", True, True
        links.act(s, slag, users["manager"], "advance")
        links.measure(s, slag, users["member"], "2026-09", 4500.0, "t")
        links.measure(s, slag, users["member"], "2026-10", 5.5e6, "kg")
        s.get(StreamRow, "hp-power-fly-ash").private_fields = ["identity"]  # type: ignore[union-attr]
        other = s.scalars(select(LinkRow).join(StreamRow, LinkRow.supply_id == StreamRow.id)
                          .where(StreamRow.company_id.like("ct-%"))).first()  # fmt: skip
        assert other is not None
        found = World(database_url, users, slag.id, _link(s, "hp-power-fly-ash", "hp-cement").id,
                      _link(s, "hp-steel-waste-heat-steam", "hp-brewery").id, other.id)  # fmt: skip
    engine.dispose()
    yield found


def _login(client: TestClient, email: str) -> None:
    page = client.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf": csrf},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text


def _csrf(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]


def _client(w: World, role: str) -> TestClient:
    client = TestClient(create_app(w.url, secure_cookies=False))
    client.__enter__()
    _login(client, EMAILS.get(role, f"{role}@example.org"))
    return client


# -- who may open which page -----------------------------------------------------------------------

ROLES = ("admin", "manager", "facilitator", "member", "observer")
# page -> {role: (status on Hai Phong's / own, status on Can Tho's / another park's)}
PAGES: dict[str, dict[str, tuple[int, int]]] = {
    "/parks": dict.fromkeys(ROLES, (200, 200)),
    "/park/{park}": {"admin": (200, 200), "manager": (200, 403), "facilitator": (200, 403), "member": (403, 403), "observer": (403, 403)},
    "/park/{park}/matches": {"admin": (200, 200), "manager": (200, 403), "facilitator": (200, 403), "member": (403, 403), "observer": (403, 403)},
    "/park/{park}/network": {"admin": (200, 200), "manager": (200, 403), "facilitator": (200, 403), "member": (403, 403), "observer": (403, 403)},
    "/me/matches": {"admin": (403, 403), "manager": (403, 403), "facilitator": (403, 403), "member": (200, 200), "observer": (403, 403)},
    "/links/{link}": {"admin": (200, 200), "manager": (200, 404), "facilitator": (200, 404), "member": (200, 404), "observer": (404, 404)},
    "/sources": dict.fromkeys(ROLES, (200, 200)),
}  # fmt: skip


def test_who_may_open_each_page_and_what_every_page_has(world: World) -> None:
    own = {"park": HP, "link": world.steel_slag_to_asphalt}
    other = {"park": CT, "link": world.other_park_link}
    with TestClient(create_app(world.url, secure_cookies=False)) as anonymous:
        for page in PAGES:
            r = anonymous.get(page.format(**own), follow_redirects=False)
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), page
    for role in ROLES:
        client = _client(world, role)
        try:
            for page, expected in PAGES.items():
                got = tuple(client.get(page.format(**ids)).status_code for ids in (own, other))
                assert got == expected[role], f"{role} on {page}: {got}, expected {expected[role]}"
            refused = client.get("/park/{park}".format(**other))
            if refused.status_code == 403:  # a page in the user's language, with the reason
                assert "<html" in refused.text and "manager" in refused.text
        finally:
            client.__exit__(None, None, None)
    _every_page_has_its_language_a_title_a_skip_link_and_labelled_controls(world)


# -- what each role may not see --------------------------------------------------------------------


def _section(html: str, heading: str) -> str:
    """The explorer's section of one supply."""
    return next(p for p in html.split('<section class="supply"') if f">{heading}</h3>" in p)


def test_private_figures_and_hidden_owners_stay_off_the_pages(world: World) -> None:
    admin, manager, cement = (_client(world, r) for r in ("admin", "manager", "cement"))
    member = _client(world, "member")
    try:
        # The steel mill keeps its slag's quantity (57,500 t/yr) private: only it and admins see it.
        engine = make_engine(world.url)
        with Session(engine) as s, s.begin():
            s.get(StreamRow, "hp-steel-eaf-slag").private_fields = ["quantity"]  # type: ignore[union-attr]
        engine.dispose()
        seen = admin.get(f"/park/{HP}").text
        assert "57,500" in seen and "57500" in seen  # the Sankey's table and its figure
        page = manager.get(f"/park/{HP}").text
        figures = re.findall(
            r'<script type="application/json" id="sankey-\w+">(.*?)</script>', page
        )
        assert figures and all("57500" not in f for f in figures)
        assert (
            "57,500" not in page and "4,792" not in page
        )  # nor the monthly estimate (57,500 / 12)
        assert "Links whose quantity the supplier keeps private are not drawn: 1" in page
        # Measured months are the link's own figures, which its broker sees: (4,500 + 5,500) / 2.
        assert "5,000 t" in page
        own = member.get(f"/links/{world.steel_slag_to_asphalt}").text
        assert "4,792" in own and "5,500" in own  # the owner's estimate; 5.5e6 kg is 5,500 t
        # The power plant keeps the identity of its fly ash private: brokers see its links without
        # the owner, and no picture draws them.
        ash = _section(manager.get(f"/park/{HP}/matches").text, "Coal fly ash")
        assert "A company of sector 3510" in ash and "Coal-fired power plant" not in ash
        assert "hp-power-fly-ash" not in manager.get(f"/park/{HP}/matches").text
        assert "Coal-fired power plant" in _section(
            admin.get(f"/park/{HP}/matches").text, "Coal fly ash"
        )
        data = json.loads(re.search(r'id="map-data">(.*?)</script>', page).group(1))  # type: ignore[union-attr]
        assert not [x for x in data["links"] if x["label"].startswith("Coal fly ash")]
        assert "identity private are not shown: 3" in page
        api = manager.post(
            "/api/v1/auth/token", data={"username": EMAILS["manager"], "password": PASSWORD}
        )
        token = {"Authorization": f"Bearer {api.json()['access_token']}"}
        seen_link = manager.get(f"/api/v1/links/{world.fly_ash_to_cement}", headers=token).json()
        assert seen_link["supplier"]["name"] is None and seen_link["supply"] is None
        assert seen_link["receiver"]["name"] == "Cement grinding plant (blended cement)"
        # The cement plant meets every other company anonymously (no introduction yet), also in the
        # matcher's reasons, and sees no other company's stream id.
        mine = cement.get("/me/matches").text
        assert "Coal fly ash" in mine and "A company of sector 3510" in mine
        others = make_engine(world.url)
        with Session(others) as s:
            rows = s.scalars(
                select(CompanyRow).where(CompanyRow.park_id == HP, CompanyRow.id != "hp-cement")
            ).all()
            foreign = [
                x.id
                for x in s.scalars(
                    select(StreamRow).where(StreamRow.company_id.in_([c.id for c in rows]))
                )
            ]
        others.dispose()
        for c in rows:
            assert c.name not in mine, c.name
        assert not [x for x in foreign if x in mine]
        link_page = cement.get(f"/links/{world.fly_ash_to_cement}").text
        assert "Coal-fired power plant" not in link_page and "A company of sector 3510" in link_page
    finally:
        for c in (admin, manager, cement, member):
            c.__exit__(None, None, None)


# -- htmx fragments and forms ------------------------------------------------------------------------


def test_the_explorer_filters_and_turns_a_match_into_a_suggestion(world: World) -> None:
    manager, member = _client(world, "manager"), _client(world, "member")
    try:
        page = manager.get(f"/park/{HP}/matches")
        assert page.status_code == 200 and "<html" in page.text
        water = manager.get(f"/park/{HP}/matches?kind=water", headers={"HX-Request": "true"})
        assert (
            water.status_code == 200
            and "<html" not in water.text
            and water.text.startswith('<div id="results"')
        )
        kinds = re.findall(r'data-kind="(\w+)"', water.text)
        assert kinds and set(kinds) == {"water"}
        restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
        assert "<html" in manager.get(f"/park/{HP}/matches?kind=water", headers=restore).text
        steel = manager.get(
            f"/park/{HP}/matches?company=hp-steel", headers={"HX-Request": "true"}
        ).text
        assert steel.count('class="supply"') > 0 and "Brewery" in steel
        slag = manager.get(
            f"/park/{HP}/matches?resource=steel_slag", headers={"HX-Request": "true"}
        ).text
        assert "EAF steel slag" in slag and "Coal fly ash" not in slag
        bad = manager.get(f"/park/{HP}/matches?kind=plasma")
        assert bad.status_code == 422 and "accepted: material, water, energy" in bad.text
        # Matches ranked 4th and 5th are not links yet: the manager suggests one.
        row = next(r for r in page.text.split('<tr id="m-')[1:] if "Suggest to both companies" in r)
        key = row.split('"')[0]
        before = _count(world, LinkRow)
        r = manager.post(f"/park/{HP}/matches/suggest", data={"key": key, "csrf": _csrf(page.text)},
                         headers={"HX-Request": "true"})  # fmt: skip
        assert (
            r.status_code == 200
            and r.text.startswith(f'<tr id="m-{key}"')
            and "suggested" in r.text
        )
        assert _count(world, LinkRow) == before + 1
        new_id = int(re.search(r'href="/links/(\d+)"', r.text).group(1))  # type: ignore[union-attr]
        engine = make_engine(world.url)
        with Session(engine) as s:
            event = s.scalars(select(LinkEventRow).where(LinkEventRow.link_id == new_id)).one()
            assert (event.action, event.user_id) == ("suggest", world.users["manager"].id)
        engine.dispose()
        again = manager.post(f"/park/{HP}/matches/suggest", data={"key": key, "csrf": _csrf(page.text)},
                             follow_redirects=False)  # fmt: skip
        assert again.status_code == 303 and _count(world, LinkRow) == before + 1
        forged = manager.post(
            f"/park/{HP}/matches/suggest", data={"key": "0" * 20, "csrf": _csrf(page.text)}
        )
        assert forged.status_code == 409
        assert (
            manager.post(f"/park/{HP}/matches/suggest", data={"key": key, "csrf": "x"}).status_code
            == 403
        )
        mine = member.get("/me/matches")
        assert (
            member.post(
                f"/park/{HP}/matches/suggest", data={"key": key, "csrf": _csrf(mine.text)}
            ).status_code
            == 403
        )
        # The member's own view: its supplies' partners and the supplies that could meet its needs.
        assert "EAF steel slag" in mine.text and "Ferrous scrap charge" in mine.text
        assert "Suggest to both companies" not in mine.text
    finally:
        manager.__exit__(None, None, None)
        member.__exit__(None, None, None)


def _count(w: World, model: Any) -> int:
    engine = make_engine(w.url)
    with Session(engine) as s:
        n = len(s.scalars(select(model)).all())
    engine.dispose()
    return n


def test_the_link_page_moves_a_link_on_and_takes_measurements(world: World) -> None:
    """Also: the buttons offered are exactly the steps the workflow takes."""
    member, cement, manager = (
        _client(world, "member"),
        _client(world, "cement"),
        _client(world, "manager"),
    )
    lid = world.steam_to_brewery
    try:
        page = member.get(f"/links/{lid}")
        assert page.status_code == 200 and "A company of sector 1103" in page.text  # the brewery
        buttons = re.findall(r"<button type=\"submit\"[^>]*>([^<]+)</button>", page.text)
        assert buttons[1:] == [
            "Show interest",
            "Ask for an introduction",
            "End the link",
        ]  # [0]: log out
        csrf = _csrf(page.text)
        r = member.post(
            f"/links/{lid}/step",
            data={"action": "interest", "csrf": csrf},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200 and r.text.startswith('<section id="workflow"')
        assert 'aria-current="step">interested' in r.text and r.text.count("<time ") == 2
        assert re.search(r"UTC</time> ·\s+You\s+showed interest", r.text)
        refused = member.post(
            f"/links/{lid}/step",
            data={"action": "advance", "csrf": csrf},
            headers={"HX-Request": "true"},
        )
        assert (
            refused.status_code == 409
            and 'role="alert"' in refused.text
            and "not by advance" in refused.text
        )
        # Without htmx the form posts and the page comes back.
        r = member.post(
            f"/links/{lid}/step", data={"action": "consent", "csrf": csrf}, follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"] == f"/links/{lid}"
        assert "Your company has asked for an introduction" in member.get(f"/links/{lid}").text
        # The cement plant is no party: the link does not exist for it.
        assert cement.get(f"/links/{lid}").status_code == 404
        # Measurements: only on operating links, each problem beside its field.
        slag = world.steel_slag_to_asphalt
        page = manager.get(f"/links/{slag}?lang=vi")
        assert "Khối lượng đo thực tế hằng tháng" in page.text
        bad = manager.post(f"/links/{slag}/measure", data={"csrf": _csrf(page.text), "month": "2026-13", "quantity": "-4",
                           "unit": "kW"}, headers={"HX-Request": "true"})  # fmt: skip
        assert bad.status_code == 422 and bad.text.startswith('<section id="measurements"')
        for field in ("month", "quantity", "unit"):
            assert (
                f'id="m-{field}"' in bad.text and f'aria-describedby="m-{field}-error"' in bad.text
            ), field
        assert "Hãy nhập tháng theo dạng năm-tháng" in bad.text and 'value="2026-13"' in bad.text
        good = manager.post(f"/links/{slag}/measure", data={"csrf": _csrf(page.text), "month": "2026-11",
                            "quantity": "4200,5", "unit": "t"}, headers={"HX-Request": "true"})  # fmt: skip
        assert good.status_code == 200 and "2026-11" in good.text and "4.200,5" in good.text
        assert "aria-invalid" not in good.text
        suggested = manager.post(f"/links/{lid}/measure", data={"csrf": _csrf(page.text), "month": "2026-11",
                                 "quantity": "1", "unit": "MWh"}, headers={"HX-Request": "true"})  # fmt: skip
        assert (
            suggested.status_code == 409
            and "measurements are for operating links" in suggested.text
        )
    finally:
        for c in (member, cement, manager):
            c.__exit__(None, None, None)
    _allowed_actions_are_exactly_those_the_workflow_takes(world)


def _allowed_actions_are_exactly_those_the_workflow_takes(world: World) -> None:
    engine = make_engine(world.url)
    third = add_user(engine, "third@example.org", PASSWORD, "company_member", company="hp-brick")
    people = {**world.users, "third": third}
    with Session(engine) as s:
        link = s.get(LinkRow, world.steam_to_brewery)
        brewery = add_user(
            engine, "brewery@example.org", PASSWORD, "company_member", company="hp-brewery"
        )
        people["brewery"] = brewery
        assert link is not None
        for status in links.STATUSES:
            for consents in ((False, False), (True, False), (False, True)):
                for name, user in people.items():
                    link.status, (link.supplier_consent, link.receiver_consent) = status, consents
                    allowed = links.allowed_actions(s, link, user)
                    taken = []
                    for action in links.ACTIONS:
                        nested = s.begin_nested()
                        try:
                            links.act(s, link, user, action)
                            taken.append(action)
                        except (PermissionError, links.WorkflowError):
                            pass
                        nested.rollback()
                        link.status, (link.supplier_consent, link.receiver_consent) = (
                            status,
                            consents,
                        )
                    assert allowed == taken, (status, consents, name)
        s.rollback()
    engine.dispose()


# -- in a real browser, offline ----------------------------------------------------------------------


@pytest.fixture
def server(world: World) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(create_app(world.url), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://localhost:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_the_park_pages_in_the_browser(server: str, world: World, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

        def log_in(email: str, lang: str = "en") -> Any:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(f"{server}/login?lang={lang}")
            page.get_by_label("E-mail" if lang == "en" else "Thư điện tử").fill(email)
            page.get_by_label("Password" if lang == "en" else "Mật khẩu").fill(PASSWORD)
            page.get_by_role("button", name="Log in" if lang == "en" else "Đăng nhập").click()
            page.wait_for_load_state()
            return page

        manager = log_in(EMAILS["manager"])
        problems: list[str] = []
        manager.on(
            "console",
            lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
        )
        manager.on("pageerror", lambda e: problems.append(str(e)))
        manager.goto(f"{server}/park/{HP}")
        # Offline, the tiles fail; each of the park's nine companies still gets its marker.
        expect(manager.locator("path.sl-company")).to_have_count(9)
        assert manager.locator("path.sl-link").count() > 0
        manager.wait_for_selector("#sankey-material-plot .sankey-link")
        assert manager.locator("#sankey-material-plot .sankey-link").count() >= 5
        assert (
            manager.locator(".leaflet-control-attribution", has_text="OpenStreetMap").count() == 1
        )
        manager.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

        manager.goto(f"{server}/park/{HP}/matches")
        slag = manager.locator("section.supply", has_text="EAF steel slag").first
        assert slag.locator("ul.reasons li").count() >= 3
        first_source = slag.locator('a[href^="/sources#"]').first
        assert first_source.is_visible() and first_source.get_attribute("title")
        manager.get_by_label("Kind").select_option("energy")  # htmx swaps the results in
        expect(manager.locator("section.supply", has_text="EAF steel slag")).to_have_count(0)
        assert manager.locator("section.supply").count() >= 1 and "kind=energy" in manager.url
        manager.screenshot(path=str(tmp_path / "explorer.png"))
        first_source.page.goto(f"{server}/park/{HP}/matches")
        href = manager.locator('a[href^="/sources#"]').first.get_attribute("href")
        manager.goto(f"{server}{href}")
        assert manager.locator(f"[id='{href.split('#')[1]}']").inner_text()  # type: ignore[union-attr]

        manager.goto(f"{server}/park/{HP}/network")
        manager.wait_for_selector("#network-plot .scatterlayer")
        assert manager.locator("table tbody tr").count() >= 5
        manager.screenshot(path=str(tmp_path / "network.png"), full_page=True)
        assert problems == []

        # The link's page in Vietnamese, by keyboard only: Tab to "show interest", Enter.
        member = log_in(EMAILS["member"], "vi")
        member.goto(f"{server}/links/{world.steam_to_brewery}")
        before = member.locator("ol.timeline li").count()
        for _ in range(40):
            member.keyboard.press("Tab")
            if member.locator(":focus").inner_text() == "Bày tỏ quan tâm":
                break
        else:
            pytest.fail("no button 'Bày tỏ quan tâm' reached with Tab")
        member.keyboard.press("Enter")
        expect(member.locator("ol.timeline li")).to_have_count(before + 1)
        assert member.locator('.steps [aria-current="step"]').inner_text() == "quan tâm"
        assert member.locator(":focus").get_attribute("role") == "status"  # the result is announced
        member.screenshot(path=str(tmp_path / "link-vi.png"), full_page=True)
        member.goto(f"{server}/me/matches")
        member.screenshot(path=str(tmp_path / "my-matches-vi.png"))
        browser.close()


class _Page(HTMLParser):
    """What the accessibility checks need of a page: its language, title, skip link, form controls
    and their labels, and its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.title = ""
        self.in_title = False
        self.skip = False
        self.labels: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.main_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "title":
            self.in_title = True
        elif tag == "a" and a.get("href") == "#main" and a.get("class") == "skip":
            self.skip = True
        elif tag == "main":
            self.main_id = a.get("id")
        elif tag == "label" and a.get("for"):
            self.labels.add(str(a["for"]))
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a)
        elif tag == "script":
            self.scripts.append(a)

    def handle_endtag(self, tag: str) -> None:
        self.in_title = self.in_title and tag != "title"

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data


def _every_page_has_its_language_a_title_a_skip_link_and_labelled_controls(
    world: World,
) -> None:
    manager, member = _client(world, "manager"), _client(world, "member")
    pages = {manager: [f"/park/{HP}", f"/park/{HP}/matches", f"/park/{HP}/network", "/parks", "/sources",
                       f"/links/{world.steel_slag_to_asphalt}", f"/park/{CT}"],
             member: ["/me", "/me/matches", f"/links/{world.steam_to_brewery}"]}  # fmt: skip
    titles = set()
    try:
        for client, paths in pages.items():
            for path in paths:
                for lang in ("en", "vi"):
                    r = client.get(path, params={"lang": lang})
                    page = _Page()
                    page.feed(r.text)
                    where = f"{path} ({lang})"
                    assert page.lang == lang and page.skip and page.main_id == "main", where
                    assert page.title.strip() and page.title.strip() != "symbiolink", where
                    titles.add(page.title)
                    unlabelled = [
                        c
                        for c in page.controls
                        if c.get("id") not in page.labels and not c.get("aria-label")
                    ]
                    assert unlabelled == [], where
                    # No inline script: code comes from files, data from JSON blocks.
                    assert all(
                        s.get("src") or s.get("type") == "application/json" for s in page.scripts
                    ), where
        assert len(titles) >= 10  # each page says what it is
        policy = manager.get(f"/park/{HP}").headers["content-security-policy"]
        assert "img-src 'self' data: https://tile.openstreetmap.org" in policy
        assert "script-src" not in policy and "unsafe-inline" not in policy.split("style-src")[0]
        assert manager.get("/static/plotly/plotly.min.js").status_code == 200
        assert (
            manager.get("/static/plotly/templates/plotly.json").status_code == 404
        )  # that file only
    finally:
        manager.__exit__(None, None, None)
        member.__exit__(None, None, None)
