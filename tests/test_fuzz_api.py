"""Fuzzing the API with schemathesis, in process against the ASGI app, on the test database
(SQLite, or PostgreSQL with SYMBIOLINK_TEST_DATABASE_URL).

Every operation of ``/openapi.json`` is fuzzed as each of the five roles and without credentials.
Each generated request must get an answer that is no 5xx and that conforms to the schema: a status
code the operation documents, the content type it declares and a body that fits its schema. A
small realistic park is seeded (the park of ``test_web.py`` and a few more streams and links in
every workflow status), and path parameters are drawn half of the time from its real ids, so the
fuzzer gets past 404 into the routes' work.

What is sent: schemathesis generates each case from the operation's schema, in both of its modes
(positive: data the schema allows; negative: data it does not). Hooks then put real ids into the
path half of the time, and make a third of the bodies hostile: one value of a generated body, or of
a known good request's body (which gets past validation), replaced by NUL or another control
character, a lone surrogate, a huge or tiny number, NaN or an infinity (sent as JSON text, as
Python's JSON reads it), long text; or a hostile key added. Path ids and the import's file name
header are sometimes hostile too.

How cases are counted: one case is one request. Each role gets ``CASES_PER_ROLE`` cases per
operation. The run without credentials (no ``Authorization`` header, garbage, an unknown, truncated
or expired token) gets what tops the operation up to ``MIN_CASES_PER_OPERATION``, and at least as
many as a role; it alone runs the one operation without security (``login``). Hypothesis stops
early on an operation whose inputs are exhausted (``GET /users/me`` takes nothing but the token),
so the test counts the cases that actually ran, and requires the minimum for every operation.

Reproducible: Hypothesis is derandomized (the same cases on every run), without a deadline or an
example database; the database is put back to the seed after every request that changed it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.python.asgi import get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from symbiolink.analytics.scenarios import split_parks
from symbiolink.model.park import ParkFile
from symbiolink.store import accounts, import_park, make_engine
from symbiolink.store.accounts import add_user, issue_token
from symbiolink.store.models import (
    ApiTokenRow,
    JobRow,
    LinkEventRow,
    LinkMeasurementRow,
    LinkRow,
    StreamRow,
)
from symbiolink.web.app import create_app
from symbiolink.web.limits import RateLimits
from web_park import PASSWORD, platform_park_document

ROLES = ("admin", "park_manager", "company_member", "facilitator", "observer")
ANONYMOUS = "anonymous"
#: Cases per operation for each role (x 5 roles = 85; 17 more without credentials make 102).
CASES_PER_ROLE = 17
MIN_CASES_PER_OPERATION = 100
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# -- the seeded park -----------------------------------------------------------------------------------


def _fuzz_park() -> ParkFile:
    """The park of test_web.py, with streams of every kind and direction, a company with
    coordinates and one without, and contaminants, temperatures and prices."""
    doc = platform_park_document()
    doc["parks"][0].update(lat=20.93, lon=106.62, province="Hai Phong")
    doc["companies"].append({"id": "a4", "name": "Water utility", "park": "A", "isic": "3600",
                             "description": "Treats and supplies water", "lat": 20.94, "lon": 106.63})  # fmt: skip
    doc["streams"] += [
        {"id": "a4-water", "company": "a4", "direction": "demand", "kind": "water", "name": "Process water",
         "quantity": 12.5, "unit": "m3/h", "properties": {"max_contaminants": {"TDS": 500}, "temperature_c": 25}},
        {"id": "a4-effluent", "company": "a4", "direction": "supply", "kind": "water", "name": "Treated effluent",
         "quantity": 30, "unit": "m3/h", "properties": {"contaminants": {"TDS": 300, "COD": 40}}},
        {"id": "a3-heat", "company": "a3", "direction": "supply", "kind": "energy", "name": "Low-grade heat",
         "quantity": 5000, "unit": "MWh/yr", "properties": {"temperature_c": 90, "price": 1.5, "currency": "EUR"}},
        {"id": "a2-fuel", "company": "a2", "direction": "demand", "kind": "material", "name": "Alternative fuel",
         "ewc": "19 12 10", "quantity": 2000, "unit": "t/yr"},
    ]  # fmt: skip
    return ParkFile.model_validate(doc)


PARK = _fuzz_park()
PRIVATE = {"a1-slag": ["price", "quantity"], "a1-secret": ["identity"]}
# (id, supply, receiver, status, supplier consent, receiver consent); ids far above what the
# databases' sequences hand out, so links the fuzzer has suggested never take one.
LINKS = [
    (9001, "a1-slag", "a2", "suggested", False, False),
    (9002, "a1-slag", "a3", "interested", True, False),
    (9003, "a2-ash", "a1", "introduced", True, True),
    (9004, "a3-gypsum", "a2", "operating", True, True),
    (9005, "a1-secret", "a2", "suggested", False, False),
    (9006, "b1-slag", "b2", "negotiating", True, True),
    (9007, "a4-effluent", "a3", "ended", False, True),
]
# (id, park, view, status): jobs each role may read one of (the fuzz app runs no job: 0 workers).
JOBS = [
    (9101, "A", "brokers", "queued"),
    (9102, "A", "brokers", "succeeded"),
    (9103, "A", "company:a1", "failed"),
    (9104, "B", "full", "running"),
]
REAL_IDS: dict[str, list[Any]] = {
    "park_id": [p.id for p in PARK.parks],
    "company_id": [c.id for c in PARK.companies],
    "stream_id": [s.id for s in PARK.streams],
    "link_id": [link[0] for link in LINKS],
    "job_id": [job[0] for job in JOBS],
}


def _reset(engine: Engine) -> None:
    """Put the seed back: the park (import updates it in place and drops streams the fuzzer added),
    the privacy settings, and the links with their events and a measurement."""
    import_park(engine, PARK, source="fuzz seed")
    now = datetime(2026, 1, 5, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        for sid, private in PRIVATE.items():
            row = session.get(StreamRow, sid)
            assert row is not None
            row.private_fields = private
        session.execute(delete(LinkRow))
        for lid, supply, receiver, status, s_ok, r_ok in LINKS:
            session.add(LinkRow(id=lid, supply_id=supply, receiver_id=receiver, demand_id=None, status=status,
                                score=0.5, use="a documented reuse", reasons=[f"{receiver} can take it"],
                                sources=["test:seed"], distance_km=1.5, supplier_consent=s_ok,
                                receiver_consent=r_ok, created_at=now, updated_at=now))  # fmt: skip
            session.flush()
            session.add(LinkEventRow(link_id=lid, at=now, user_id=None, action="suggest",
                                     from_status=None, to_status="suggested"))  # fmt: skip
            if status != "suggested":
                session.add(LinkEventRow(link_id=lid, at=now, user_id=None, action="advance",
                                         from_status="suggested", to_status=status))  # fmt: skip
        session.add(LinkMeasurementRow(link_id=9004, month="2025-12", quantity=40.0, unit="t",
                                       recorded_at=now, user_id=None))  # fmt: skip
        session.execute(delete(JobRow))
        for jid, park, view, status in JOBS:
            done = status in ("succeeded", "failed")
            session.add(JobRow(id=jid, kind="evaluation", park_id=park, requested_by=None, view=view,
                               params={"top": 5}, status=status, progress=1.0 if done else 0.0, message=status,
                               created_at=now, started_at=None if status == "queued" else now,
                               finished_at=now if done else None, heartbeat_at={"queued": None, "running": datetime.now(UTC)}.get(status, now),
                               result={"links": [], "totals": {"links": 0}} if status == "succeeded" else None,
                               error="no park to evaluate" if status == "failed" else None))  # fmt: skip


@dataclasses.dataclass
class Seeded:
    app: Any
    engine: Engine
    headers: dict[str, dict[str, str]]
    expired_token: str


@pytest.fixture
def seeded(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Seeded]:
    # The login's handling of what it is sent is under test, not the cost of Argon2id: a cheap
    # hasher keeps the login's hundred cases fast (the dummy hash of unknown e-mails too).
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY", cheap.hash("symbiolink-no-such-user"))
    # Thousands of requests from one address: the request rates are tested in test_rate_limits.py;
    # no job runs (so none writes while the database is put back).
    app = create_app(database_url, rate_limits=RateLimits(0, 0), job_workers=0)  # migrates
    engine = make_engine(database_url)
    _reset(engine)
    users = {
        "admin": add_user(engine, "admin@example.org", PASSWORD, "admin"),
        "park_manager": add_user(engine, "manager@example.org", PASSWORD, "park_manager", park="A"),
        "company_member": add_user(engine, "member@example.org", PASSWORD, "company_member", company="a1"),
        "facilitator": add_user(engine, "facilitator@example.org", PASSWORD, "facilitator", parks=["A"]),
        "observer": add_user(engine, "observer@example.org", PASSWORD, "observer"),
    }  # fmt: skip
    add_user(engine, "neighbour@example.org", PASSWORD, "company_member", company="a2")  # a contact
    headers = {r: {"Authorization": f"Bearer {issue_token(engine, users[r])}"} for r in ROLES}
    expired = issue_token(engine, users["admin"])
    with Session(engine) as session, session.begin():
        row = session.get(ApiTokenRow, hashlib.sha256(expired.encode()).hexdigest())
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    yield Seeded(app, engine, headers, expired)
    engine.dispose()
    app.state.engine.dispose()


# -- what the fuzzer sends -------------------------------------------------------------------------------

# Hostile values the generators seldom reach on their own.
HOSTILE_TEXT = ["", " ", "\x00", "nul\x00inside", "\ud800", "\x1b[2J", "\x7f\x85", "\u202eevil", "\ufeff",
                "\uffff", "x" * 5000, "' OR '1'='1", "../../etc/passwd", "%00", "\r\n", "Nhà máy thép"]  # fmt: skip
HOSTILE_NUMBERS: list[Any] = [1e308, -1e308, 2**63, 2**64 + 1, -(2**63) - 1, 10**400, 5e-324, -0.0,
                              float("nan"), float("inf"), float("-inf")]  # fmt: skip
# In a URL path or a header, what a client can send there (no surrogates; no CR or LF in a header).
_HOSTILE_ID = ["\x00", "a\x00b", "x" * 2000, "..", "%2e", "\x1b", " ", "é", "a/b"]
HOSTILE_IN_PATH: dict[str, list[Any]] = {
    "link_id": [0, -1, 2**31, 2**63, 10**30],
    "job_id": [0, -1, 2**31, 2**63, 10**30],
    "park_id": _HOSTILE_ID,
    "company_id": _HOSTILE_ID,
    "stream_id": _HOSTILE_ID,
}
HOSTILE_HEADERS = ["\x00", "a\x00b.json", "x" * 300, "a\x7fb.xlsx", "é.json", "\x1b[0m.json"]
#: Header values a client may send (latin-1, no control characters or spaces); answered with 401.
_header_text = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_categories=["Cc", "Zs"]),
    max_size=80,
)
#: What the admin's run also sends, as explicit cases: each good request with each of its text
#: values replaced by each hostile text in turn (numbers by each hostile number), with a hostile key
#: added, and with each path id replaced by a hostile one.
EXPLICIT_TEXT = ["nul\x00inside", "\ud800", "\x1b[2J"]
EXPLICIT_NUMBERS: list[Any] = [float("nan"), float("-inf"), 10**400]


def _unauthenticated(expired: str) -> st.SearchStrategy[dict[str, str]]:
    """No Authorization header, garbage, an unknown or truncated token, an expired one."""
    return st.one_of(
        st.just({}),
        st.builds(lambda t: {"Authorization": f"Bearer {t}"}, _header_text),
        st.builds(lambda t: {"Authorization": t}, _header_text),
        st.sampled_from([{"Authorization": f"Bearer {expired}"}, {"Authorization": f"Bearer {expired[:-1]}"},
                         {"Authorization": f"Basic {expired}"}, {"Authorization": "Bearer"}]),
    )  # fmt: skip


def _good_requests() -> dict[str, list[dict[str, Any]]]:
    """Requests that reach the routes' success paths, which random data seldom does: explicit
    examples of every identity's run, and what hostile bodies are made from."""
    park_a = next(d for d in split_parks(PARK) if d["parks"][0]["id"] == "A")
    ash = {
        "id": "new-ash",
        "direction": "supply",
        "kind": "material",
        "name": "Bottom ash",
        "ewc": "10 01 01",
        "quantity": 5,
        "unit": "t/day",
        "description": "From the boiler",
        "properties": {"price": 2, "colour": "grey"},
    }
    water = {
        "id": "new-water",
        "direction": "demand",
        "kind": "water",
        "name": "Cooling water",
        "quantity": 3,
        "unit": "m3/h",
        "properties": {"max_contaminants": {"TDS": 400, "COD": 20}, "temperature_c": 30},
    }
    form = "application/x-www-form-urlencoded"
    small = {"format": "symbiolink-park/1", "parks": [{"id": "C", "name": "Park C", "country": "VN", "lat": 10.0, "lon": 105.7}],
             "companies": [{"id": "c1", "name": "Rice mill", "park": "C", "isic": "1061", "description": "Mills rice"}],
             "streams": [{"id": "c1-husk", "company": "c1", "direction": "supply", "kind": "material", "name": "Rice husk",
                          "quantity": 12000, "unit": "t/yr", "properties": {"moisture_pct": 10, "note": "dry"}}]}  # fmt: skip
    return {
        "POST /api/v1/auth/token": [{"path": {}, "body": {"username": "admin@example.org", "password": PASSWORD}, "media_type": form}],
        "POST /api/v1/parks/import": [
            {"path": {}, "body": small, "media_type": "application/json"},
            {"path": {}, "body": park_a, "media_type": "application/json"},
        ],
        "POST /api/v1/users": [
            {"path": {}, "body": {"email": "new.member@example.org", "password": PASSWORD, "role": "company_member", "company": "a3"}},
            {"path": {}, "body": {"email": "new.facilitator@example.org", "password": PASSWORD, "role": "facilitator", "parks": ["A", "B"]}},
        ],
        "POST /api/v1/companies/{company_id}/streams": [
            {"path": {"company_id": "a1"}, "body": ash}, {"path": {"company_id": "a4"}, "body": water},
        ],
        "PATCH /api/v1/streams/{stream_id}": [
            {"path": {"stream_id": "a1-slag"}, "body": {"quantity": 1e6, "unit": "t/day", "description": None}},
            {"path": {"stream_id": "a4-water"}, "body": {"properties": {"max_contaminants": {"TDS": 0}}, "name": "Water"}},
        ],
        "PUT /api/v1/streams/{stream_id}/privacy": [
            {"path": {"stream_id": "a1-secret"}, "body": {"private": ["quantity", "price", "disposal_cost", "identity"]}},
        ],
        "POST /api/v1/links/{link_id}/actions": [
            {"path": {"link_id": 9001}, "body": {"action": "consent"}},
            {"path": {"link_id": 9003}, "body": {"action": "advance"}},
        ],
        "POST /api/v1/parks/{park_id}/evaluations": [
            {"path": {"park_id": "A"}, "body": {"policy": {"landfill_tax_usd_t": 20, "factors": {}}, "top": 3, "samples": 10, "seed": 1, "kb_exclude": ["maestri:case-4"]}},
        ],
        "POST /api/v1/parks/{park_id}/optimizations": [
            {"path": {"park_id": "A"}, "body": {"objective": "co2", "policy": {"carbon_price_usd_t": 50}, "no_outside": ["water"], "pareto": 2, "gap": 0.01}},
        ],
        "POST /api/v1/links/{link_id}/measurements": [
            {"path": {"link_id": 9004}, "body": {"month": "2026-01", "quantity": 0, "unit": "t"}},
        ],
    }  # fmt: skip


GOOD = _good_requests()


def _label(op: Any) -> str:
    return f"{op.method.upper()} {op.path}"


def _real_ids(context: schemathesis.HookContext, path: dict[str, Any] | None) -> st.SearchStrategy:
    """Each path parameter as generated, a real id of the seed (as often: so that requests get past
    404 into the routes) or a hostile one."""
    if not path:
        return st.just(path)
    return st.fixed_dictionaries(
        {k: st.one_of(st.just(v), st.sampled_from(REAL_IDS[k]), st.sampled_from(REAL_IDS[k]),
                      st.sampled_from(HOSTILE_IN_PATH[k])) if k in REAL_IDS else st.just(v)
         for k, v in path.items()}
    )  # fmt: skip


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Where a value can be replaced: the whole, and every member of its objects and lists."""
    yield at
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*at, i))


def _form(fields: dict[str, Any]) -> bytes:
    """A form body as a hostile client sends it: a lone surrogate as the bytes a lax encoder makes
    of it (which are not UTF-8), since a client library refuses to encode it."""
    return urlencode({k: str(v) for k, v in fields.items()}, errors="surrogatepass").encode()


def _get(value: Any, at: tuple[Any, ...]) -> Any:
    for key in at:
        value = value[key]
    return value


def _replaced(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[at[0]] = _replaced(value[at[0]], at[1:], new)
    return copy


def _hostile_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy:
    """The body as generated; or, a third of the time, it or a good request's body with one value
    replaced by a hostile one, or a hostile key added. JSON bodies are then sent as text, since NaN
    and lone surrogates are not JSON that a client library writes."""
    if not isinstance(body, dict | list):
        return st.just(body)
    form = all("form" in m for m in context.operation.get_request_payload_content_types())
    values = HOSTILE_TEXT if form else [*HOSTILE_TEXT, *HOSTILE_NUMBERS]

    def hostile(base: Any) -> st.SearchStrategy:
        def mutate(at: tuple[Any, ...], new: Any) -> Any:
            changed = _replaced(base, at, new)
            if form:
                return _form(changed) if isinstance(changed, dict) else base
            return json.dumps(changed).encode()

        def with_key(key: str) -> Any:
            return (
                json.dumps({**base, key: 1}).encode()
                if isinstance(base, dict) and not form
                else base
            )

        members = list(_paths(base))[1:] or [()]
        return st.one_of(
            st.builds(mutate, st.sampled_from(members), st.sampled_from(values)),
            st.builds(with_key, st.sampled_from(HOSTILE_TEXT)),
        )

    good = [g["body"] for g in GOOD.get(_label(context.operation), [])]
    mutated = st.one_of([hostile(body), *(hostile(g) for g in good)])
    return st.integers(0, 2).flatmap(lambda i: mutated if i == 0 else st.just(body))


def _hostile_headers(
    context: schemathesis.HookContext, headers: dict[str, Any] | None
) -> st.SearchStrategy:
    """The declared headers (the import's file name) as generated, or hostile."""
    if not headers:
        return st.just(headers)
    return st.fixed_dictionaries(
        {k: st.one_of(st.just(v), st.sampled_from(HOSTILE_HEADERS)) for k, v in headers.items()}
    )


# -- the run ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Tally:
    """What a run did: cases per operation and identity, statuses per operation, and failures."""

    cases: Counter[tuple[str, str]] = dataclasses.field(default_factory=Counter)
    explicit: Counter[tuple[str, str]] = dataclasses.field(default_factory=Counter)
    statuses: defaultdict[str, Counter[int]] = dataclasses.field(
        default_factory=lambda: defaultdict(Counter)
    )
    failures: dict[tuple[str, str, str], str] = dataclasses.field(default_factory=dict)

    def fail(self, label: str, identity: str, title: str, detail: str) -> None:
        # One entry per operation, identity and kind of failure: the first case that showed it.
        self.failures.setdefault((label, identity, title), detail)


def _fuzz(seeded: Seeded, op: Any, identity: str, auth: st.SearchStrategy[dict[str, str]], cases: int,
          tally: Tally, client: Any) -> None:  # fmt: skip
    """Run ``cases`` generated requests of ``op`` as ``identity``, recording what came back."""
    label = _label(op)
    mutates = op.method.upper() != "GET" and label != "POST /api/v1/auth/token"
    strategy = st.one_of(
        op.as_strategy(generation_mode=GenerationMode.POSITIVE),
        op.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(max_examples=cases, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=strategy, headers=auth)
    def run(case: Any, headers: dict[str, str]) -> None:
        tally.cases[(label, identity)] += 1
        tally.explicit[(label, identity)] += id(case) in explicit
        try:
            # A slow answer is not what this test judges (a loaded machine slows the matcher).
            response = case.call(session=client, headers=headers, timeout=600)
        except Exception as exc:  # in process, what a server answers 500 to reaches the caller
            tally.fail(
                label,
                identity,
                f"exception {type(exc).__name__}",
                f"{exc!r}\n{case.as_curl_command(headers)}",
            )
            return
        tally.statuses[label][response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                tally.fail(label, identity, failure.title,
                           f"{response.status_code} {failure.message}\n{response.text[:500]}\n{case.as_curl_command(headers)}")  # fmt: skip
        if mutates and 200 <= response.status_code < 300:
            _reset(seeded.engine)

    # The hostile explicit cases go to the role that may do everything (to the one identity of an
    # operation without security).
    hostile = identity == "admin" or not op.definition.raw.get("security")
    examples = _explicit(op, hostile=hostile)
    explicit = {id(case) for case in examples}
    for case in examples:
        run = example(case=case, headers=seeded.headers.get(identity, {}))(run)
    run()


def _explicit(op: Any, *, hostile: bool) -> list[Any]:
    """The good requests of ``op``. With ``hostile``, also the first good request with each of its text
    values replaced by each of ``EXPLICIT_TEXT`` in turn, each number by each of
    ``EXPLICIT_NUMBERS``, a hostile key added, and each path id replaced by a hostile one."""
    good = GOOD.get(_label(op), [])
    cases = [(g["path"], g["body"], g.get("media_type")) for g in good]
    if hostile:
        form = all("form" in m for m in op.get_request_payload_content_types())
        for g in good[:1]:
            changes = [{**g["body"], key: "x"} for key in EXPLICIT_TEXT]
            for at in list(_paths(g["body"]))[1:]:
                value = _get(g["body"], at)
                if isinstance(value, str):
                    changes += [_replaced(g["body"], at, text) for text in EXPLICIT_TEXT]
                elif isinstance(value, int | float) and not isinstance(value, bool) and not form:
                    changes += [_replaced(g["body"], at, number) for number in EXPLICIT_NUMBERS]
            for changed in changes:
                body = _form(changed) if form else json.dumps(changed).encode()
                cases.append((g["path"], body, g.get("media_type")))
        for name in [p.name for p in op.path_parameters]:
            for value in HOSTILE_IN_PATH[name][:2]:
                path = {p.name: REAL_IDS[p.name][0] for p in op.path_parameters} | {name: value}
                cases.append(
                    (
                        path,
                        good[0]["body"] if good else NOT_SET,
                        good[0].get("media_type") if good else None,
                    )
                )
    return [op.Case(path_parameters=p, body=b, media_type=m) for p, b, m in cases]


def _operations(app: Any) -> set[str]:
    """The operations of /openapi.json, read without schemathesis."""
    doc = app.openapi()
    return {f"{m.upper()} {path}" for path, ops in doc["paths"].items() for m in ops}


def test_every_operation_as_every_role_and_without_credentials(seeded: Seeded) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", seeded.app)
    schema.hook("flatmap_path_parameters")(_real_ids)
    schema.hook("flatmap_body")(_hostile_body)
    schema.hook("flatmap_headers")(_hostile_headers)
    tally = Tally()
    with get_client(seeded.app) as client:
        for result in schema.get_all_operations():
            op = result.ok()
            label = _label(op)
            secured = bool(op.definition.raw.get("security"))
            if secured:
                for role in ROLES:
                    _fuzz(
                        seeded,
                        op,
                        role,
                        st.just(seeded.headers[role]),
                        CASES_PER_ROLE,
                        tally,
                        client,
                    )
            # Without credentials: what tops the operation up to the minimum (one without input
            # but the token exhausts its cases as a role quickly), and at least as many as a role.
            ran = sum(tally.cases[k] - tally.explicit[k] for k in tally.cases if k[0] == label)
            auth = _unauthenticated(seeded.expired_token) if secured else st.just({})
            cases = max(CASES_PER_ROLE, MIN_CASES_PER_OPERATION - ran)
            _fuzz(seeded, op, ANONYMOUS, auth, cases, tally, client)
    generated, explicit = Counter[str](), Counter[str]()
    for (label, identity), n in tally.cases.items():
        generated[label] += n - tally.explicit[(label, identity)]
        explicit[label] += tally.explicit[(label, identity)]
    print(json.dumps({
        "cases": {f"{label} as {identity}": n for (label, identity), n in sorted(tally.cases.items())},
        "generated": dict(sorted(generated.items())), "explicit": dict(sorted(explicit.items())),
        "total": {"generated": generated.total(), "explicit": explicit.total()},
        "statuses": {label: dict(sorted(c.items())) for label, c in sorted(tally.statuses.items())},
    }, indent=1))  # fmt: skip
    operations = _operations(seeded.app)
    assert set(generated) == operations, f"not fuzzed: {sorted(operations - set(generated))}"
    assert all(n >= MIN_CASES_PER_OPERATION for n in generated.values()), generated
    # Every operation answered with success at least once: the fuzzing got past 401, 403 and 404.
    assert not [label for label, c in tally.statuses.items() if not any(200 <= s < 300 for s in c)]
    assert not tally.failures, "\n\n".join(
        f"{label} as {identity}: {title}\n{detail}" for (label, identity, title), detail in sorted(tally.failures.items())
    )  # fmt: skip
