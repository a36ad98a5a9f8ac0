"""The symbiolink web API (FastAPI), under ``/api/v1`` (CONTRACTS section 6).

``create_app(url)`` opens the database (SQLite by default, PostgreSQL by ``SYMBIOLINK_DATABASE_URL``)
and applies the migrations on start. Scripts authenticate with ``POST /api/v1/auth/token`` and send
``Authorization: Bearer TOKEN``. Without valid credentials: 401; with credentials but no right: 403,
or 404 where even a thing's existence is confidential (another park's streams). Operation ids are
the route functions' names, so they stay stable.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from symbiolink import __version__
from symbiolink.errors import ParkFileError, SymbiolinkError
from symbiolink.io import parse_park_bytes
from symbiolink.model.park import ParkFile, Stream
from symbiolink.model.units import CANONICAL_UNIT
from symbiolink.model.validate import Located, check_streams
from symbiolink.store import import_park as store_import
from symbiolink.store import links, open_store
from symbiolink.store import live as live_store
from symbiolink.store.accounts import (
    TokenCache,
    User,
    add_user,
    audit,
    authenticate,
    issue_token,
    record,
    user_for_token,
)
from symbiolink.store.live import LiveMatches
from symbiolink.store.models import CompanyRow, LinkRow, ParkRow, StreamRow
from symbiolink.store.registry import _stream_row, stream_from_row
from symbiolink.web import access
from symbiolink.web.limits import (
    MAX_JSON_DEPTH,
    MAX_ROWS,
    RateLimiter,
    RateLimitMiddleware,
    RateLimits,
    json_depth,
)
from symbiolink.web.middleware import JsonDepthLimit, SecurityHeaders, security_headers
from symbiolink.web.pages import _render, pages
from symbiolink.web.park_pages import TILE_HOST, http_error, park_pages
from symbiolink.web.schemas import (
    Action,
    AggregatesPublic,
    CompanyId,
    CompanyPublic,
    ImportPublic,
    LinkId,
    LinkPublic,
    MatchPublic,
    Measurement,
    ParkId,
    ParkPublic,
    ParkSummaryPublic,
    Privacy,
    StreamCreate,
    StreamId,
    StreamPublic,
    StreamUpdate,
    SuggestionsPublic,
    Token,
    UserCreate,
    UserPublic,
    answers,
    errors,
)

#: Seconds a checked bearer token is trusted without looking it up again (per server process).
ENV_TOKEN_CACHE = "SYMBIOLINK_TOKEN_CACHE_S"
DEFAULT_TOKEN_CACHE_S = 5.0
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
#: Cells of an aggregate with fewer companies than this are suppressed.
MIN_COMPANIES_PER_CELL = 3


async def _engine(request: Request) -> Engine:
    # The dependencies of every route are async where they do no blocking work: FastAPI runs a sync
    # one in its thread pool, a hop that cost as much as a cached token look-up (docs/web.md "Load").
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(_engine)]


def _live(request: Request) -> LiveMatches:
    found: LiveMatches = request.app.state.live
    return found


LiveDep = Annotated[LiveMatches, Depends(_live)]


async def _current_user(
    request: Request, engine: EngineDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    user = None
    if token:
        cache: TokenCache = request.app.state.token_cache
        user = cache.user_of(token)
        if user is None:  # look it up in the database, off the event loop
            user = await run_in_threadpool(user_for_token, engine, token, cache)
    if user is None:
        raise HTTPException(status_code=401, detail="not authenticated: send a valid bearer token",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    return user


CurrentUser = Annotated[User, Depends(_current_user)]


def _unique_id(route: APIRoute) -> str:
    return route.name


def _park_or_403(session: Session, user: User, park_id: str) -> ParkRow:
    park = session.get(ParkRow, park_id)
    if park is None:
        raise HTTPException(404, f"no park {park_id!r}")
    if not access.sees_park(user, park_id):
        raise HTTPException(403, f"no access to park {park_id!r}")
    return park


def _company_or_404(session: Session, user: User, company_id: str) -> CompanyRow:
    company = session.get(CompanyRow, company_id)
    if company is None or not access.sees_park(user, company.park_id):
        raise HTTPException(404, f"no company {company_id!r}")
    return company


def _stream_or_404(session: Session, user: User, stream_id: str) -> tuple[StreamRow, CompanyRow]:
    """The stream and its company, in one query that holds the park's rights, so that a stream
    that is not there and one in a park the user may not see run the same statement and get the
    same 404."""
    query = (
        select(StreamRow, CompanyRow)
        .join(CompanyRow, StreamRow.company_id == CompanyRow.id)
        .where(StreamRow.id == stream_id)
    )
    if user.role != "admin":
        query = query.where(
            CompanyRow.park_id.in_(list(user.parks) if user.role != "observer" else [])
        )
    row = session.execute(query).first()
    if row is None:
        raise HTTPException(404, f"no stream {stream_id!r}")
    stream, company = row[0], row[1]
    if "identity" in (stream.private_fields or ()) and not access.owns_company(user, company.id):
        # A stream whose owner hides its identity is not shown under an id that names it.
        raise HTTPException(404, f"no stream {stream_id!r}")
    return stream, company


#: Every route with a bearer token may answer 401; each route adds the errors of its own.
#: Every route may answer 429 (the request rates, :class:`RateLimits`).
api = APIRouter(prefix="/api/v1", responses=errors(401, 429))


class LoginLimiter:
    """At most ``attempts`` failed logins per address and e-mail in ``window`` seconds; then 429
    until the oldest failure leaves the window (kept in memory: per server process)."""

    def __init__(self, attempts: int = 10, window: float = 900.0) -> None:
        self.attempts, self.window = attempts, window
        self.failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def wait(self, key: tuple[str, str], now: float) -> float:
        q = self.failures[key]
        while q and now - q[0] > self.window:
            q.popleft()
        return self.window - (now - q[0]) if len(q) >= self.attempts else 0.0

    def fail(self, key: tuple[str, str], now: float) -> None:
        self.failures[key].append(now)

    def clear(self, key: tuple[str, str]) -> None:
        self.failures.pop(key, None)


@api.post("/auth/token", tags=["auth"], responses=errors(400, 422, 429))
def login(
    request: Request, engine: EngineDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """A bearer token for a script (form fields ``username`` and ``password``)."""
    limiter: LoginLimiter = request.app.state.login_limiter
    key = (request.client.host if request.client else "?", form.username.strip().lower())
    now = time.monotonic()
    wait = limiter.wait(key, now)
    if wait > 0:
        raise HTTPException(429, f"too many failed logins: try again in {math.ceil(wait)} s",
                            headers={"Retry-After": str(math.ceil(wait))})  # fmt: skip
    user = authenticate(engine, form.username, form.password)
    if user is None:
        limiter.fail(key, now)
        raise HTTPException(401, "wrong e-mail or password", headers={"WWW-Authenticate": "Bearer"})
    limiter.clear(key)
    return Token(access_token=issue_token(engine, user))


#: Largest park file the API takes (bytes); bigger uploads get 413.
MAX_UPLOAD_BYTES = 20 * 2**20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _park_file_body() -> dict[str, Any]:
    """The import's request body in the OpenAPI: the route reads it raw (JSON or a workbook), so it
    is described here; ``ParkFile`` joins the components in :func:`_openapi`."""
    return {
        "required": True,
        "description": "A park file (symbiolink-park/1) as JSON, or as an Excel workbook.",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ParkFile"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
    }


@api.post(
    "/parks/import",
    tags=["parks"],
    **answers(ImportPublic, 400, 403, 409, 413, 422),
    openapi_extra={"requestBody": _park_file_body()},
)
async def import_park_file(
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    x_filename: Annotated[
        str,
        Header(
            max_length=255,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="The file's name (its extension tells the format).",
        ),
    ] = "upload",
) -> dict[str, Any]:
    """A park file (JSON or Excel, as the request body): validated whole and stored atomically, or
    rejected with every problem and where it is (sheet and row for a workbook). Admins import any
    park; a park manager only their own."""
    if user.role not in ("admin", "park_manager"):
        raise HTTPException(403, "park files are imported by an admin or the park's manager")
    data = await request.body()
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"the file is over {MAX_UPLOAD_BYTES // 2**20} MB")
    name = x_filename
    if not data.startswith(b"PK") and json_depth(data) > MAX_JSON_DEPTH:
        raise HTTPException(400, f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    park, issues = parse_park_bytes(data, file=name)
    if park is not None and len(park.parks) + len(park.companies) + len(park.streams) > MAX_ROWS:
        raise HTTPException(
            413,
            f"the file has {len(park.parks) + len(park.companies) + len(park.streams)} rows; at most {MAX_ROWS} per upload",
        )
    errors = [i for i in issues if i.severity == "error"]
    if park is None or errors:
        raise HTTPException(
            422,
            [
                {"path": i.path, "where": i.where, "problem": i.message, "accepted": i.accepted}
                for i in errors or issues
            ],
        )
    if user.role == "park_manager" and {p.id for p in park.parks} != {user.park_id}:
        raise HTTPException(403, f"a park manager imports only park {user.park_id!r}")
    try:
        summary = store_import(engine, park, source=name, content=data)
    except ParkFileError as exc:
        raise HTTPException(409, [str(i) for i in exc.errors]) from None
    request.app.state.live.sync()  # the stored matches follow before the import is acknowledged
    audit(engine, user, "import", f"parks:{','.join(p.id for p in park.parks)}")
    return {
        "parks": [p.id for p in park.parks],
        "warnings": [str(i) for i in issues if i.severity == "warning"],
        **summary.to_dict(),
    }


@api.get("/users/me", tags=["users"], **answers(UserPublic))
def read_me(user: CurrentUser) -> dict[str, Any]:
    return user.to_dict()


@api.post(
    "/users",
    status_code=201,
    tags=["users"],
    **answers(UserPublic, 400, 403, 422),
)
def create_user(body: UserCreate, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """An account (admins only)."""
    if user.role != "admin":
        raise HTTPException(403, "only an admin creates accounts")
    try:
        created = add_user(
            engine,
            body.email,
            body.password,
            body.role,
            park=body.park,
            company=body.company,
            parks=body.parks,
        )
    except SymbiolinkError as exc:
        raise HTTPException(422, str(exc)) from None
    audit(engine, user, "create", f"user:{created.id}", role=created.role)
    return created.to_dict()


@api.get("/parks", tags=["parks"], **answers(list[ParkSummaryPublic]))
def list_parks(user: CurrentUser, engine: EngineDep) -> list[dict[str, Any]]:
    """The parks the user may open (observers: every park's name, for its aggregates)."""
    with Session(engine) as session:
        rows = session.scalars(select(ParkRow).order_by(ParkRow.id))
        return [
            {"id": p.id, "name": p.name, "country": p.country, "province": p.province}
            for p in rows if access.sees_park(user, p.id) or user.role == "observer"
        ]  # fmt: skip


@api.get(
    "/parks/{park_id}",
    tags=["parks"],
    **answers(ParkPublic, 403, 404, 422),
)
def read_park(park_id: ParkId, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    with Session(engine) as session:
        p = _park_or_403(session, user, park_id)
        return {
            "id": p.id,
            "name": p.name,
            "country": p.country,
            "province": p.province,
            "lat": p.lat,
            "lon": p.lon,
        }


@api.get(
    "/parks/{park_id}/companies",
    tags=["parks"],
    **answers(list[CompanyPublic], 403, 404, 422),
)
def list_companies(park_id: ParkId, user: CurrentUser, engine: EngineDep) -> list[dict[str, Any]]:
    with Session(engine) as session:
        _park_or_403(session, user, park_id)
        # Plain rows, not ORM objects, which cost more to build (docs/web.md "Load").
        rows = session.execute(
            select(*CompanyRow.__table__.c)
            .where(CompanyRow.park_id == park_id)
            .order_by(CompanyRow.id)
        )
        return [access.company_view(c) for c in rows]


@api.get(
    "/parks/{park_id}/aggregates",
    tags=["parks"],
    **answers(AggregatesPublic, 403, 404, 422),
)
def read_aggregates(park_id: ParkId, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """Supplies and demands per kind: how many streams and companies, and the total of the quantities
    that no company keeps private. A cell with fewer than three companies is suppressed, so no total
    is one or two companies' figure."""
    with Session(engine) as session:
        if session.get(ParkRow, park_id) is None:
            raise HTTPException(404, f"no park {park_id!r}")
        if not access.sees_aggregates(user, park_id):
            raise HTTPException(403, f"no access to park {park_id!r}")
        rows = session.execute(
            select(StreamRow, CompanyRow.id).join(CompanyRow, StreamRow.company_id == CompanyRow.id)
            .where(CompanyRow.park_id == park_id)
        ).all()  # fmt: skip
    cells: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"streams": 0, "companies": set(), "public_total": 0.0, "public_companies": set()}
    )
    for stream, company_id in rows:
        cell = cells[(stream.direction, stream.kind)]
        cell["streams"] += 1
        cell["companies"].add(company_id)
        if (
            "quantity" not in (stream.private_fields or ())
            and stream.quantity_canonical is not None
        ):
            cell["public_total"] += stream.quantity_canonical
            cell["public_companies"].add(company_id)
    out = []
    # Quantities are at most 1e15 (the validator's limit), so totals are finite; one stored before
    # that limit may not be, and has no total to show.
    for (direction, kind), cell in sorted(cells.items()):
        shown = len(cell["companies"]) >= MIN_COMPANIES_PER_CELL
        total_ok = shown and len(cell["public_companies"]) >= MIN_COMPANIES_PER_CELL
        out.append({
            "direction": direction, "kind": kind, "unit": CANONICAL_UNIT[kind],
            "streams": cell["streams"] if shown else None, "companies": len(cell["companies"]) if shown else None,
            "quantity": round(cell["public_total"], 6) if total_ok and math.isfinite(cell["public_total"]) else None,
        })  # fmt: skip
    return {"park": park_id, "min_companies_per_cell": MIN_COMPANIES_PER_CELL, "cells": out}


@api.get(
    "/companies/{company_id}/streams",
    tags=["streams"],
    **answers(list[StreamPublic], 404, 422),
)
def list_streams(
    company_id: CompanyId, user: CurrentUser, engine: EngineDep
) -> list[dict[str, Any]]:
    with Session(engine) as session:
        company = _company_or_404(session, user, company_id)
        rows = list(
            session.execute(
                select(*StreamRow.__table__.c)
                .where(StreamRow.company_id == company_id)
                .order_by(StreamRow.position, StreamRow.id)
            )
        )
        own = access.owns_company(user, company_id)
        shown = [s for s in rows if own or "identity" not in (s.private_fields or ())]
        if any(s.private_fields for s in shown) and own:
            audit(engine, user, "read", f"company:{company_id}:streams", private=True)
        return [access.stream_view(user, s, company) for s in shown]


@api.post(
    "/companies/{company_id}/streams",
    status_code=201,
    tags=["streams"],
    **answers(StreamPublic, 400, 403, 404, 409, 422),
)
def create_stream(
    company_id: CompanyId, body: StreamCreate, user: CurrentUser, engine: EngineDep, live: LiveDep
) -> dict[str, Any]:
    """A new stream of the company (its members, its park's manager, admins); validated like a row
    of a park file. Its matches, and those of the streams it changes, are stored with it."""
    with live.writing() as change, Session(engine) as session, session.begin():
        live_store.lock_registry(session)
        company = _company_or_404(session, user, company_id)
        if not access.edits_company(user, company_id, company.park_id):
            raise HTTPException(403, f"no right to change the streams of {company_id!r}")
        stream = _validated({**_sent(body), "company": company_id})
        if session.get(StreamRow, stream.id) is not None:
            raise HTTPException(409, f"a stream {stream.id!r} exists already")
        session.add(StreamRow(**_stream_row(stream, 10_000)))
        session.flush()
        change.touch(session, streams=[stream.id])
        row = session.get(StreamRow, stream.id)
        assert row is not None
        record(session, user, "create", f"stream:{stream.id}")
        return access.stream_view(user, row, company)


@api.get(
    "/streams/{stream_id}",
    tags=["streams"],
    **answers(StreamPublic, 404, 422),
)
def read_stream(stream_id: StreamId, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    with Session(engine) as session:
        stream, company = _stream_or_404(session, user, stream_id)
        return access.stream_view(user, stream, company)


@api.patch(
    "/streams/{stream_id}",
    tags=["streams"],
    **answers(StreamPublic, 400, 403, 404, 422),
)
def update_stream(
    stream_id: StreamId, body: StreamUpdate, user: CurrentUser, engine: EngineDep, live: LiveDep
) -> dict[str, Any]:
    """Change some fields of a stream (a field sent as null is removed); the result is validated
    whole. The matches it changes are stored with it."""
    changes = _sent(body)
    with live.writing() as change, Session(engine) as session, session.begin():
        live_store.lock_registry(session)
        stream, company = _stream_or_404(session, user, stream_id)
        if not access.edits_company(user, company.id, company.park_id):
            raise HTTPException(403, f"no right to change {stream_id!r}")
        if ("id" in changes and changes["id"] != stream_id) or (
            "company" in changes and changes["company"] != company.id
        ):
            raise HTTPException(422, "a stream's id and company cannot change")
        current = stream_from_row(stream).model_dump(mode="json", exclude_none=True)
        merged = _validated({k: v for k, v in {**current, **changes}.items() if v is not None})
        for key, value in _stream_row(merged, stream.position).items():
            setattr(stream, key, value)
        change.touch(session, streams=[stream_id])
        record(session, user, "update", f"stream:{stream_id}", fields=sorted(changes))
        return access.stream_view(user, stream, company)


@api.delete(
    "/streams/{stream_id}", status_code=204, tags=["streams"], responses=errors(403, 404, 422)
)
def delete_stream(stream_id: StreamId, user: CurrentUser, engine: EngineDep, live: LiveDep) -> None:
    with live.writing() as change, Session(engine) as session, session.begin():
        live_store.lock_registry(session)
        stream, company = _stream_or_404(session, user, stream_id)
        if not access.edits_company(user, company.id, company.park_id):
            raise HTTPException(403, f"no right to change {stream_id!r}")
        session.delete(stream)
        change.touch(session, streams=[stream_id])
        record(session, user, "delete", f"stream:{stream_id}")


@api.put(
    "/streams/{stream_id}/privacy",
    tags=["streams"],
    **answers(StreamPublic, 400, 403, 404, 422),
)
def set_privacy(
    stream_id: StreamId, body: Privacy, user: CurrentUser, engine: EngineDep
) -> dict[str, Any]:
    """Which fields the company keeps to itself: quantity, price, disposal_cost, identity."""
    with Session(engine) as session, session.begin():
        stream, company = _stream_or_404(session, user, stream_id)
        if not access.owns_company(user, company.id):
            raise HTTPException(403, "only the company decides what it keeps private")
        stream.private_fields = sorted(set(body.private))
        record(session, user, "privacy", f"stream:{stream_id}", private=stream.private_fields)
        return access.stream_view(user, stream, company)


@api.get(
    "/streams/{stream_id}/matches",
    tags=["matches"],
    **answers(list[MatchPublic], 403, 404, 422),
)
def list_stream_matches(
    stream_id: StreamId, user: CurrentUser, engine: EngineDep, live: LiveDep
) -> list[dict[str, Any]]:
    """The stream's current matches: for a supply, the companies that could take it; for a
    demand, the supplies that could meet it (its company's members, the park's brokers)."""
    with Session(engine) as session:
        _stream, company = _stream_or_404(session, user, stream_id)
        if not (access.owns_company(user, company.id) or links.brokers_park(user, company.park_id)):
            raise HTTPException(403, f"no access to the matches of {stream_id!r}")
    live.sync()
    with Session(engine) as session:
        return live_store.view(session, user, live_store.rows_of(session, [stream_id]))


@api.get(
    "/companies/{company_id}/matches",
    tags=["matches"],
    **answers(list[MatchPublic], 403, 404, 422),
)
def list_company_matches(
    company_id: CompanyId, user: CurrentUser, engine: EngineDep, live: LiveDep
) -> list[dict[str, Any]]:
    """The current matches of every stream of the company (its members, the park's brokers)."""
    with Session(engine) as session:
        company = _company_or_404(session, user, company_id)
        if not (access.owns_company(user, company_id) or links.brokers_park(user, company.park_id)):
            raise HTTPException(403, f"no access to the matches of {company_id!r}")
        own = access.owns_company(user, company_id)
        streams = [
            s.id
            for s in session.scalars(
                select(StreamRow)
                .where(StreamRow.company_id == company_id)
                .order_by(StreamRow.position, StreamRow.id)
            )
            if own or "identity" not in (s.private_fields or ())
        ]
    live.sync()
    with Session(engine) as session:
        return live_store.view(session, user, live_store.rows_of(session, streams))


@api.get(
    "/parks/{park_id}/matches",
    tags=["matches"],
    **answers(list[MatchPublic], 403, 404, 422),
)
def list_park_matches(
    park_id: ParkId, user: CurrentUser, engine: EngineDep, live: LiveDep
) -> list[dict[str, Any]]:
    """The current matches of the park's streams (its manager, its facilitators, admins),
    without the streams whose owners keep their identity private (but to admins)."""
    with Session(engine) as session:
        _park_or_403(session, user, park_id)
        if not links.brokers_park(user, park_id):
            raise HTTPException(403, "a park's matches are read by its brokers and admins")
        streams = [
            s.id
            for s in session.scalars(
                select(StreamRow)
                .join(CompanyRow, StreamRow.company_id == CompanyRow.id)
                .where(CompanyRow.park_id == park_id)
                .order_by(CompanyRow.position, CompanyRow.id, StreamRow.position, StreamRow.id)
            )
            if user.role == "admin" or "identity" not in (s.private_fields or ())
        ]
    live.sync()
    with Session(engine) as session:
        return live_store.view(session, user, live_store.rows_of(session, streams))


def _link_or_404(session: Session, user: User, link_id: int) -> LinkRow:
    link = links.visible(session, user, link_id)
    if link is None:
        raise HTTPException(404, f"no link {link_id}")
    return link


@api.post(
    "/parks/{park_id}/suggestions",
    tags=["links"],
    **answers(SuggestionsPublic, 403, 404, 422),
)
def suggest_links(park_id: ParkId, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """Match the stored park and keep the matches as suggested links (brokers of the park)."""
    with Session(engine) as session:
        _park_or_403(session, user, park_id)
    if user.role not in ("admin", "park_manager", "facilitator"):
        raise HTTPException(
            403, "suggestions are made by the park's manager, its facilitators or an admin"
        )
    return {"park": park_id, "new_links": links.suggest_for_park(engine, park_id, user)}


@api.get(
    "/companies/{company_id}/links",
    tags=["links"],
    **answers(list[LinkPublic], 403, 404, 422),
)
def list_links(company_id: CompanyId, user: CurrentUser, engine: EngineDep) -> list[dict[str, Any]]:
    """The company's links, as the user may see them."""
    with Session(engine) as session:
        company = _company_or_404(session, user, company_id)
        if not (
            access.owns_company(user, company_id) or user.role in ("park_manager", "facilitator")
        ):
            raise HTTPException(403, f"no access to the links of {company_id!r}")
        del company
        return [
            links.view(session, link, user) for link in links.links_of_company(session, company_id)
        ]


@api.get(
    "/links/{link_id}",
    tags=["links"],
    **answers(LinkPublic, 404, 422),
)
def read_link(link_id: LinkId, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    with Session(engine) as session:
        return links.view(session, _link_or_404(session, user, link_id), user)


@api.post(
    "/links/{link_id}/actions",
    tags=["links"],
    **answers(LinkPublic, 400, 403, 404, 409, 422),
)
def act_on_link(
    link_id: LinkId, body: Action, user: CurrentUser, engine: EngineDep
) -> dict[str, Any]:
    """Move a link along its workflow: interest, consent (to an introduction), advance, end."""
    with Session(engine) as session, session.begin():
        link = _link_or_404(session, user, link_id)
        try:
            links.act(session, link, user, body.action)
        except PermissionError as exc:
            raise HTTPException(403, str(exc)) from None
        except links.WorkflowError as exc:
            raise HTTPException(409, str(exc)) from None
        session.flush()
        return links.view(session, link, user)


@api.post(
    "/links/{link_id}/measurements",
    status_code=201,
    tags=["links"],
    **answers(LinkPublic, 400, 404, 409, 422),
)
def add_measurement(
    link_id: LinkId, body: Measurement, user: CurrentUser, engine: EngineDep
) -> dict[str, Any]:
    """A measured monthly quantity of an operating link (the two companies or a broker)."""
    with Session(engine) as session, session.begin():
        link = _link_or_404(session, user, link_id)
        try:
            links.measure(session, link, user, body.month, body.quantity, body.unit)
        except links.WorkflowError as exc:
            raise HTTPException(409, str(exc)) from None
        except SymbiolinkError as exc:
            raise HTTPException(422, str(exc)) from None
        session.flush()
        return links.view(session, link, user)


def _sent(body: StreamCreate | StreamUpdate) -> dict[str, Any]:
    """The fields a request body carried (a null among them included), as JSON values."""
    return body.model_dump(mode="json", exclude_unset=True)


def _validated(doc: dict[str, Any]) -> Stream:
    """A stream from a request body, held to the same checks as a row of a park file."""
    try:
        stream = Stream.model_validate(doc)
    except ValidationError as exc:
        raise HTTPException(
            422,
            [{"field": ".".join(map(str, e["loc"])), "problem": e["msg"]} for e in exc.errors()],
        ) from None
    errors = [i for i in check_streams([stream], {}, Located("request")) if i.severity == "error"]
    if errors:
        raise HTTPException(
            422,
            [
                {
                    "field": i.path.removeprefix("streams[0]."),
                    "problem": i.message,
                    "accepted": i.accepted,
                }
                for i in errors
            ],
        )
    return stream


class _PlotlyJS(StaticFiles):
    """Only ``plotly.min.js`` of the installed plotly package's data folder."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        return super().lookup_path(path) if path == "plotly.min.js" else ("", None)


class ApiJSONResponse(JSONResponse):
    """JSON as Starlette writes it, except that text which is not valid Unicode (a lone surrogate,
    which Python's JSON reads from an escape such as ``\\ud800``) goes out as that escape again
    rather than failing to encode: an error that quotes the request stays a 4xx."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


def _finite(value: Any) -> Any:
    """``value`` with every number that is not finite replaced by its text (``'inf'``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI of the app, with the park file's schema among the components (the import
    reads its body raw, so FastAPI does not see the model)."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
        park_file = ParkFile.model_json_schema(ref_template="#/components/schemas/{model}")
        components = doc.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in {**park_file.pop("$defs", {}), "ParkFile": park_file}.items():
            components.setdefault(name, schema)
        app.openapi_schema = doc
    return app.openapi_schema


def _account_of(engine: Engine) -> Any:
    def account_of(token: str) -> int | None:
        user = user_for_token(engine, token)
        return user.id if user is not None else None

    return account_of


def _rate_limited_page(request: Request, detail: str, headers: dict[str, str]) -> Response:
    response = _render(request, "error.html", status=429, user=None, status_code=429,
                       detail=detail, csrf="")  # fmt: skip
    response.headers.update(headers)
    return response


def _token_cache_s() -> float:
    text = os.environ.get(ENV_TOKEN_CACHE, "").strip()
    try:
        ttl = float(text) if text else DEFAULT_TOKEN_CACHE_S
    except ValueError:
        ttl = math.nan
    if not (0 <= ttl <= 3600):
        raise SymbiolinkError(
            f"{ENV_TOKEN_CACHE}: {text!r} is not a number of seconds from 0 to 3600"
        )
    return ttl


def create_app(
    url: str | None = None,
    *,
    secure_cookies: bool = True,
    rate_limits: RateLimits | None = None,
    token_cache_s: float | None = None,
    job_workers: int | None = None,
) -> FastAPI:
    """The application on the database at ``url`` (migrated on start). ``secure_cookies=False`` only
    for tests over plain http. ``rate_limits``: requests per minute per account and per address
    (default: ``SYMBIOLINK_RATE_LIMIT``, else 600 and 1200; ``RateLimits(0, 0)`` for none).
    ``token_cache_s``: how long a checked token is trusted without a database look-up (default
    ``SYMBIOLINK_TOKEN_CACHE_S``, else 5 s; 0 turns the cache off). ``job_workers`` threads run
    background jobs while the app is served (default ``SYMBIOLINK_JOB_WORKERS``, else 1; 0: none in
    this process)."""
    from symbiolink.web.job_pages import job_pages
    from symbiolink.web.job_routes import jobs_api
    from symbiolink.web.jobs import JobRunner, workers_from_env

    limits = RateLimits.from_env() if rate_limits is None else rate_limits

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.jobs.start()
        yield
        app.state.jobs.stop()
        app.state.engine.dispose()

    app = FastAPI(title="symbiolink", version=__version__, lifespan=lifespan, default_response_class=ApiJSONResponse,
                  generate_unique_id_function=_unique_id, openapi_url="/openapi.json")  # fmt: skip
    # Settings are read before the database opens, so a bad one leaves no connection behind.
    token_cache = TokenCache(_token_cache_s() if token_cache_s is None else token_cache_s)
    app.state.engine = open_store(url)
    app.state.live = LiveMatches(app.state.engine)
    app.state.login_limiter = LoginLimiter()
    app.state.rate_limiter = (
        None if limits.off else RateLimiter(limits, _account_of(app.state.engine))
    )
    app.state.token_cache = token_cache
    app.state.secret = secrets.token_bytes(32)
    app.state.secure_cookies = secure_cookies
    app.state.jobs = JobRunner(
        app.state.engine, workers_from_env() if job_workers is None else job_workers
    )
    app.include_router(api)
    app.include_router(jobs_api)
    app.include_router(job_pages)
    app.include_router(pages)
    app.include_router(park_pages)
    # plotly.js comes with the plotly package the figures are made with (same version, and 4 MB
    # that need not be in the repository); Leaflet and htmx are vendored.
    app.mount("/static/plotly", _PlotlyJS(packages=[("plotly", "package_data")]), name="plotly")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.mount("/static", StaticFiles(packages=[("symbiolink", "web/static")]), name="static")

    # Plain ASGI (web/middleware.py); the last added runs first, so the headers go on every answer,
    # and the rate limit comes before the depth check (a refused request's body is not read).
    app.add_middleware(JsonDepthLimit)
    app.add_middleware(RateLimitMiddleware, page=_rate_limited_page)
    app.add_middleware(SecurityHeaders, headers=security_headers(TILE_HOST))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own entries (loc, msg, type, input), each also with the field and the problem
        # as every other 422 of the API names them. The input is echoed as JSON can carry it: a
        # number that is not finite (Python's JSON reads NaN and 1e999) as its text.
        problems = [
            {**e, "field": ".".join(map(str, e["loc"])), "problem": e["msg"]} for e in exc.errors()
        ]
        return ApiJSONResponse({"detail": _finite(jsonable_encoder(problems))}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # The API's errors as JSON (see ApiJSONResponse); the pages' as a page (park_pages).
        if not request.url.path.startswith("/api/"):
            return await http_error(request, exc)
        if exc.status_code in (204, 304) or exc.status_code < 200:
            return Response(status_code=exc.status_code, headers=exc.headers)
        return ApiJSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(SymbiolinkError)
    async def _domain_error(request: Request, exc: SymbiolinkError) -> JSONResponse:
        return ApiJSONResponse(status_code=422, content={"detail": str(exc)})

    return app
