"""Incremental matching: the live index gives the matches of a full run after any edits, and the
platform stores them with each change and shows them with the confidentiality of links."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbiolink.matching import Matcher
from symbiolink.matching.engine import DemandMatch, Match
from symbiolink.matching.index import LiveIndex
from symbiolink.model.park import FORMAT, Company, Park, ParkFile, Stream
from symbiolink.synthetic import generate_registry

#: One matcher for the index and another for the full runs, so a cache of one cannot make the
#: two agree.
INDEX_MATCHER = Matcher()
FULL_MATCHER = Matcher()


def _key(m: Match | DemandMatch) -> tuple[Any, ...]:
    d = m.to_dict()
    d.pop("score")
    return tuple(sorted((k, repr(v)) for k, v in d.items()))


def assert_same_as_full_run(index: LiveIndex) -> None:
    """The index's matches, both ways, are those of a full run on its registry: the same
    entries and ranks, scores equal within 1e-12."""
    registry = index.registry()
    full = FULL_MATCHER.match(registry, top=index.top)
    full_demands = FULL_MATCHER.match_demands(registry, top=index.top)
    for mine, theirs in ((index.all_matches(), full), (index.all_demand_matches(), full_demands)):
        assert [_key(m) for m in mine] == [_key(m) for m in theirs]
        for a, b in zip(mine, theirs, strict=True):
            assert math.isclose(a.score, b.score, rel_tol=0, abs_tol=1e-12)


def _near(doc: dict[str, Any], spread: float) -> dict[str, Any]:
    """The registry's parks moved within ``spread`` degrees of one place (so that companies of
    other parks are in reach), companies kept beside their park."""
    doc = copy.deepcopy(doc)
    moved: dict[str, tuple[float, float]] = {}
    for i, p in enumerate(doc["parks"]):
        lat, lon = 20.9 + spread * (i % 2), 106.6 + spread * (i // 2)
        moved[p["id"]] = (lat - p["lat"], lon - p["lon"])
        p["lat"], p["lon"] = lat, lon
    for k, c in enumerate(doc["companies"]):
        dlat, dlon = moved[c["park"]]
        if k % 4 == 3:  # sits at its park's place
            c.pop("lat"), c.pop("lon")
        else:
            c["lat"], c["lon"] = c["lat"] + dlat, c["lon"] + dlon
    return doc


# -- a hand-made registry ----------------------------------------------------------------------

BASE = {
    "format": FORMAT,
    "parks": [
        {"id": "hp", "name": "Hai Phong park", "lat": 20.90, "lon": 106.60},
        {"id": "qn", "name": "Quang Ninh park", "lat": 20.95, "lon": 106.65},
    ],
    "companies": [
        {"id": "steel", "name": "Billet steel mill", "park": "hp", "isic": "2410",
         "lat": 20.901, "lon": 106.601},
        {"id": "power", "name": "Coal power plant", "park": "hp", "isic": "3510"},
        {"id": "cement", "name": "Cement plant", "park": "qn", "isic": "2394",
         "lat": 20.951, "lon": 106.651},
        {"id": "bricks", "name": "Brick works", "park": "qn", "isic": "2392"},
    ],
    "streams": [
        {"id": "slag", "company": "steel", "direction": "supply", "kind": "material",
         "name": "EAF slag", "ewc": "100202"},
        {"id": "ash", "company": "power", "direction": "supply", "kind": "material",
         "name": "Coal fly ash", "ewc": "100102"},
        {"id": "steam", "company": "power", "direction": "supply", "kind": "energy",
         "name": "Surplus steam", "properties": {"temperature_c": 180}},
    ],
}  # fmt: skip


def test_posting_a_demand_adds_it_to_the_supplies_it_fits() -> None:
    index = LiveIndex(ParkFile.model_validate(BASE), matcher=INDEX_MATCHER)
    assert_same_as_full_run(index)
    assert not index.demand_matches_of("cem-ash")
    before = {m.receiver: m for m in index.matches_of("ash")}
    demand = Stream(id="cem-ash", company="cement", direction="demand", kind="material",
                    name="Fly ash for blended cement")  # fmt: skip
    changes = index.apply(streams=[demand])
    assert "ash" in changes.supplies and "cem-ash" in changes.demands
    after = {m.receiver: m for m in index.matches_of("ash")}
    assert after["cement"].demand == "cem-ash"
    assert after["cement"].score > before["cement"].score
    assert [m.supply for m in index.demand_matches_of("cem-ash")][:1] == ["ash"]
    assert_same_as_full_run(index)
    # A supply's edit matches that supply again, and only it.
    changes = index.apply(streams=[Stream(id="steam", company="power", direction="supply",
                                          kind="water", name="Treated wastewater")])  # fmt: skip
    assert changes.supplies <= {"steam"} and not changes.removed
    assert_same_as_full_run(index)
    # Deleting the demand removes it everywhere.
    changes = index.apply(removed_streams=["cem-ash"])
    assert changes.removed == {"cem-ash"} and "ash" in changes.supplies
    assert all(m.demand != "cem-ash" for m in index.all_matches())
    assert not index.demand_matches_of("cem-ash")
    assert_same_as_full_run(index)


def test_companies_move_and_go() -> None:
    index = LiveIndex(ParkFile.model_validate(BASE), matcher=INDEX_MATCHER)
    # The cement plant moves out of the steel mill's reach, then a new sector comes in.
    far = Company(id="cement", name="Cement plant", park="qn", isic="2394", lat=23.5, lon=106.6)
    index.apply(companies=[far])
    assert "cement" not in {m.receiver for m in index.matches_of("slag")}
    assert_same_as_full_run(index)
    index.apply(
        companies=[Company(id="glass", name="Glass works", park="hp", isic="2310")],
        streams=[
            Stream(
                id="cullet",
                company="glass",
                direction="supply",
                kind="material",
                name="Glass cullet",
            )
        ],
    )
    assert index.matches_of("cullet")
    assert_same_as_full_run(index)
    changes = index.apply(removed_companies=["power"])
    assert {"ash", "steam"} <= changes.removed
    assert not index.matches_of("ash")
    assert all(m.receiver != "power" for m in index.all_matches())
    assert_same_as_full_run(index)


# -- random edits on generated parks -----------------------------------------------------------

POOL = generate_registry(4, 6, seed=99)["streams"]
SECTORS = sorted({c["isic"] for c in generate_registry(6, 6, seed=5)["companies"]})
NAMES = ["Cement plant", "Paper mill", "Titanium dioxide producer", "Greenhouse",
         "Brewery", "Sulphuric acid plant", "Mushroom farm", "Steel mill"]  # fmt: skip

edits = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "add stream",
                "edit stream",
                "drop stream",
                "add company",
                "edit company",
                "drop company",
                "move park",
            ]
        ),
        st.integers(0, 10_000),
        st.integers(0, 10_000),
        st.integers(0, 10_000),
    ),
    min_size=1,
    max_size=6,
)


def _edit(index: LiveIndex, op: str, a: int, b: int, c: int, n: int) -> None:
    companies = list(index.companies.values())
    streams = list(index.streams.values())
    if op in ("add stream", "edit stream") and companies:
        doc = dict(POOL[a % len(POOL)])
        doc.pop("quantity", None), doc.pop("unit", None)
        if op == "edit stream" and streams:
            old = streams[b % len(streams)]
            doc["id"], doc["company"] = old.id, old.company
        else:
            doc["id"], doc["company"] = f"new-{n}", companies[b % len(companies)].id
        if c % 3 == 0:
            doc["direction"] = "demand" if doc["direction"] == "supply" else "supply"
            doc.pop("ewc", None)
        index.apply(streams=[Stream.model_validate(doc)])
    elif op == "drop stream" and streams:
        index.apply(removed_streams=[streams[a % len(streams)].id])
    elif op in ("add company", "edit company") and companies:
        parks = list(index.parks.values())
        park = parks[a % len(parks)]
        cid = companies[b % len(companies)].id if op == "edit company" else f"co-{n}"
        place = {} if c % 4 == 0 else {"lat": park.lat + (c % 7 - 3) * 0.01,
                                        "lon": park.lon + (c % 5 - 2) * 0.01}  # fmt: skip
        index.apply(companies=[Company(id=cid, name=NAMES[c % len(NAMES)], park=park.id,
                                       isic=SECTORS[(a + c) % len(SECTORS)], **place)])  # fmt: skip
    elif op == "drop company" and len(companies) > 1:
        index.apply(removed_companies=[companies[a % len(companies)].id])
    elif op == "move park":
        parks = list(index.parks.values())
        p = parks[a % len(parks)]
        assert p.lat is not None and p.lon is not None
        index.apply(parks=[Park(id=p.id, name=p.name, lat=p.lat + (b % 5 - 2) * 0.05,
                                lon=p.lon + (c % 5 - 2) * 0.05)])  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 3),
    st.integers(2, 5),
    st.integers(0, 10_000),
    st.sampled_from([0.05, 0.3, 1.5]),
    edits,
)
def test_edits_give_the_matches_of_a_full_run(
    parks: int, per_park: int, seed: int, spread: float, steps: list[tuple[str, int, int, int]]
) -> None:
    doc = _near(generate_registry(parks, per_park, seed=seed), spread)
    index = LiveIndex(ParkFile.model_validate(doc), matcher=INDEX_MATCHER)
    assert_same_as_full_run(index)
    for n, (op, a, b, c) in enumerate(steps):
        _edit(index, op, a, b, c, n)
        assert_same_as_full_run(index)


# -- the platform: stored with each change, shown as links are ---------------------------------

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from symbiolink.store import export_park  # noqa: E402
from symbiolink.store.models import LiveMatchRow  # noqa: E402
from symbiolink.web.app import create_app  # noqa: E402
from test_web import api  # noqa: E402, F401

Api = tuple[TestClient, dict[str, dict[str, str]]]
URL = "/api/v1"


def assert_stored_is_full_run(client: TestClient) -> None:
    """The stored matches of every stream are those of a full run on the stored registry."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    registry = export_park(engine)
    want = [
        (m.supply, m.rank, "supply", m.receiver, m.demand, m.score, m.reasons)
        for m in FULL_MATCHER.match(registry, top=5)
    ] + [
        (m.demand, m.rank, "demand", m.supplier, m.supply, m.score, m.reasons)
        for m in FULL_MATCHER.match_demands(registry, top=5)
    ]
    with Session(engine) as session:
        got = [
            (r.stream_id, r.rank, r.direction, r.company_id, r.other_stream_id, r.score, r.reasons)
            for r in session.scalars(select(LiveMatchRow))
        ]
    key = lambda x: (x[0], x[1])  # noqa: E731
    assert [(*x[:5], x[6]) for x in sorted(got, key=key)] == [
        (*x[:5], x[6]) for x in sorted(want, key=key)
    ]
    for a, b in zip(sorted(got, key=key), sorted(want, key=key), strict=True):
        assert math.isclose(a[5], b[5], rel_tol=0, abs_tol=1e-12)


def _post(client: TestClient, headers: dict[str, str], company: str, **stream: Any) -> None:
    r = client.post(f"{URL}/companies/{company}/streams", json=stream, headers=headers)
    assert r.status_code == 201, r.text


def test_a_posted_stream_has_its_matches_at_once(api: Api) -> None:  # noqa: F811
    client, h = api
    _post(client, h["neighbour"], "a2", id="a2-slag-in", direction="demand", kind="material",
          name="Steel slag for blended cement")  # fmt: skip
    # The demand ranks the fitting supply, and the supply names the demand, as the admin sees.
    mine = client.get(f"{URL}/streams/a2-slag-in/matches", headers=h["neighbour"]).json()
    assert [m["stream"] for m in mine] and mine[0]["direction"] == "demand"
    admin = client.get(f"{URL}/streams/a1-slag/matches", headers=h["admin"]).json()
    assert {"company": "a2", "other_stream": "a2-slag-in"}.items() <= {
        "company": admin[0]["other"]["company"],
        "other_stream": admin[0]["other_stream"],
    }.items()
    assert_stored_is_full_run(client)
    # A new supply of the member's company: matches at once, and in the demand's list.
    _post(client, h["member"], "a1", id="a1-slag-2", direction="supply", kind="material",
          name="Ladle furnace slag", ewc="100202")  # fmt: skip
    found = client.get(f"{URL}/streams/a1-slag-2/matches", headers=h["member"]).json()
    assert found and found[0]["other"]["sector_isic"] == "2394"
    demand = client.get(f"{URL}/streams/a2-slag-in/matches", headers=h["neighbour"]).json()
    assert len(demand) == len(mine) + 1
    assert_stored_is_full_run(client)


def test_edits_and_deletes_change_the_stored_matches(api: Api) -> None:  # noqa: F811
    client, h = api
    _post(client, h["neighbour"], "a2", id="a2-steam-in", direction="demand", kind="material",
          name="Steel slag for blended cement")  # fmt: skip
    _post(client, h["member"], "a1", id="a1-heat", direction="supply", kind="water",
          name="Treated wastewater")  # fmt: skip
    before = client.get(f"{URL}/streams/a1-heat/matches", headers=h["admin"]).json()
    assert all(m["other_stream"] != "a2-steam-in" for m in before)
    r = client.patch(f"{URL}/streams/a1-heat", headers=h["member"],
                     json={"kind": "material", "name": "EAF slag", "ewc": "100202"})  # fmt: skip
    assert r.status_code == 200, r.text
    after = client.get(f"{URL}/streams/a1-heat/matches", headers=h["admin"]).json()
    assert after != before
    assert any(m["other_stream"] == "a2-steam-in" for m in after)
    assert_stored_is_full_run(client)
    assert client.delete(f"{URL}/streams/a2-steam-in", headers=h["neighbour"]).status_code == 204
    after = client.get(f"{URL}/streams/a1-heat/matches", headers=h["admin"]).json()
    assert all(m["other_stream"] != "a2-steam-in" for m in after)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert not session.scalars(
            select(LiveMatchRow).where(LiveMatchRow.other_stream_id == "a2-steam-in")
        ).all()
    assert_stored_is_full_run(client)
    assert client.delete(f"{URL}/streams/a1-heat", headers=h["member"]).status_code == 204
    assert client.get(f"{URL}/streams/a1-heat/matches", headers=h["admin"]).status_code == 404
    assert_stored_is_full_run(client)


def test_an_import_updates_the_matches(api: Api) -> None:  # noqa: F811
    import json

    from symbiolink.analytics.scenarios import split_parks
    from web_park import platform_park

    client, h = api
    doc = next(d for d in split_parks(platform_park()) if d["parks"][0]["id"] == "A")
    doc["streams"].append({"id": "a3-ash-in", "company": "a3", "direction": "demand",
                           "kind": "material", "name": "Steel slag"})  # fmt: skip
    r = client.post(f"{URL}/parks/import", content=json.dumps(doc).encode(),
                    headers={**h["manager"], "x-filename": "park.json"})  # fmt: skip
    assert r.status_code == 200, r.text
    found = client.get(f"{URL}/streams/a3-ash-in/matches", headers=h["manager"]).json()
    assert "a1-slag" in {m["other_stream"] for m in found}
    assert_stored_is_full_run(client)


def test_another_process_and_a_restart_see_the_same_matches(
    api: Api,  # noqa: F811
    database_url: str,
) -> None:
    client, h = api
    before = client.get(f"{URL}/companies/a1/matches", headers=h["admin"]).json()
    other = create_app(database_url)  # a second server process on the same database
    with TestClient(other) as second:
        _post(second, h["admin"], "a2", id="a2-in", direction="demand", kind="material",
              name="Steel slag for cement")  # fmt: skip
        assert second.get(f"{URL}/companies/a1/matches", headers=h["admin"]).json() != before
    # The first process's index follows the change it did not make, before its next write.
    seen = client.get(f"{URL}/companies/a1/matches", headers=h["admin"]).json()
    assert any(m["other_stream"] == "a2-in" for m in seen)
    _post(client, h["admin"], "a3", id="a3-in", direction="demand", kind="material",
          name="Steel slag")  # fmt: skip
    assert_stored_is_full_run(client)
    other.state.engine.dispose()


def test_matches_keep_the_other_side_confidential(api: Api) -> None:  # noqa: F811
    client, h = api
    _post(client, h["neighbour"], "a2", id="a2-slag-in", direction="demand", kind="material",
          name="Steel slag for blended cement")  # fmt: skip
    member = client.get(f"{URL}/streams/a1-slag/matches", headers=h["member"]).json()
    assert member
    for m in member:
        assert m["other"]["company"] is None and m["other"]["name"] is None
        assert m["other_stream"] is None and m["other"]["description"].startswith("a company of")
        text = json.dumps(m)
        for word in ("Company A2", "a2-slag-in", '"a2"', "Company A3"):
            assert word not in text
        assert "quantity" not in text and "600" not in text
    # The demand's owner sees the supplier as a sector only.
    theirs = client.get(f"{URL}/streams/a2-slag-in/matches", headers=h["neighbour"]).json()
    assert theirs and all(m["other"]["company"] is None for m in theirs)
    assert all("a1-slag" not in json.dumps(m) and "Company A1" not in json.dumps(m)
               for m in theirs)  # fmt: skip
    # Neither company reads the other's matches; brokers of the park read both, named.
    assert client.get(f"{URL}/streams/a1-slag/matches", headers=h["neighbour"]).status_code == 403
    assert client.get(f"{URL}/companies/a1/matches", headers=h["neighbour"]).status_code == 403
    assert client.get(f"{URL}/parks/A/matches", headers=h["member"]).status_code == 403
    for role in ("manager", "facilitator"):
        park = client.get(f"{URL}/parks/A/matches", headers=h[role]).json()
        named = [m for m in park if m["stream"] == "a1-slag"]
        assert named and named[0]["other"]["company"] == "a2"
        # A stream that keeps its owner's identity private is left out (but for admins).
        assert "a1-secret" not in {m["stream"] for m in park}
        assert all(m["other_stream"] != "a1-secret" for m in park)
    assert "a1-secret" in {
        m["stream"] for m in client.get(f"{URL}/parks/A/matches", headers=h["admin"]).json()
    }


def test_every_registry_write_takes_the_registry_lock_before_its_rows(
    api: Api,  # noqa: F811
) -> None:
    """Writers queue in one order: each write of streams (the API's, an import's) reads the
    ``live_state`` row (``FOR UPDATE`` on PostgreSQL) before it inserts, changes or deletes a
    row. Taking it only when the change was logged, after its rows, let two server processes
    deadlock on PostgreSQL (found by benchmarks/soak.py)."""
    import json

    from sqlalchemy import event

    from symbiolink.analytics.scenarios import split_parks
    from web_park import platform_park

    client, h = api
    engine = client.app.state.engine  # type: ignore[attr-defined]
    client.app.state.live.ensure()  # type: ignore[attr-defined]
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    def lock_comes_first(what: str) -> None:
        writes = [i for i, s in enumerate(seen) if s.startswith(("insert", "update", "delete"))]
        locks = [i for i, s in enumerate(seen) if s.startswith("select") and "from live_state" in s]
        assert writes and locks, (what, seen)
        assert locks[0] < writes[0], (what, seen[: writes[0] + 1])
        if engine.dialect.name == "postgresql":
            assert "for update" in seen[locks[0]], (what, seen[locks[0]])
        seen.clear()

    event.listen(engine, "before_cursor_execute", record)
    try:
        _post(client, h["member"], "a1", id="a1-lock", direction="supply", kind="material",
              name="Ladle furnace slag", ewc="100202")  # fmt: skip
        lock_comes_first("create")
        r = client.patch(f"{URL}/streams/a1-lock", headers=h["member"], json={"name": "EAF slag"})
        assert r.status_code == 200, r.text
        lock_comes_first("update")
        assert client.delete(f"{URL}/streams/a1-lock", headers=h["member"]).status_code == 204
        lock_comes_first("delete")
        doc = next(d for d in split_parks(platform_park()) if d["parks"][0]["id"] == "A")
        r = client.post(f"{URL}/parks/import", content=json.dumps(doc).encode(),
                        headers={**h["manager"], "x-filename": "park.json"})  # fmt: skip
        assert r.status_code == 200, r.text
        lock_comes_first("import")
    finally:
        event.remove(engine, "before_cursor_execute", record)
