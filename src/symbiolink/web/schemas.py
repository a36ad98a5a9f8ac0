"""What the API takes and what it gives: one pydantic model per purpose (STYLE lesson 8).

``XCreate`` and ``XUpdate`` describe request bodies, ``XPublic`` responses, and ``ErrorPublic``
every error. They are what ``/openapi.json`` says, so schema-based tests (``tests/test_fuzz_api.py``)
hold every answer to them.

Fields a user may not see are left out of a response, not set to null: the view functions
(``web.access``, ``store.links``) leave such keys out, and the routes answer with
``response_model_exclude_unset=True``, so an optional field is sent only when the view set it. The
public models forbid keys they do not declare: a field a view gains without being declared here
fails the tests (as a 500) instead of being silently dropped from the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from symbiolink.model.park import (
    ID_ACCEPTED,
    ID_PATTERN,
    Direction,
    Id,
    Storable,
    Stream,
    StreamKind,
)
from symbiolink.store.accounts import Role
from symbiolink.store.jobs import JobStatus
from symbiolink.store.jobs import Kind as JobKind
from symbiolink.store.links import Action as ActionName
from symbiolink.store.links import Status
from symbiolink.web.access import PRIVATE_FIELDS, PrivateField

#: The largest serial id the database holds (an INTEGER column on PostgreSQL).
MAX_SERIAL_ID = 2**31 - 1
#: A link's id in a path: beyond the database's integers there is no link (422, not a crash).
LinkId = Annotated[int, Path(ge=1, le=MAX_SERIAL_ID, description="The link's id.")]


def _path_id(what: str) -> Any:
    # Ids of parks, companies and streams are those of park files: anything else names nothing
    # stored (and a NUL in it would be more than PostgreSQL takes in a query).
    return Path(
        min_length=1,
        max_length=128,
        pattern=ID_PATTERN,
        description=f"The {what}'s id: {ID_ACCEPTED}.",
    )


ParkId = Annotated[str, _path_id("park")]
CompanyId = Annotated[str, _path_id("company")]
StreamId = Annotated[str, _path_id("stream")]


class _Public(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ------------------------------------------------------------------------------------------


class ProblemPublic(BaseModel):
    """One problem of a request: what is wrong, where, and what would be accepted."""

    model_config = ConfigDict(extra="allow")

    problem: str = Field(description="What is wrong.")
    field: str | None = Field(None, description="The request field, dotted (body.quantity).")
    path: str | None = Field(None, description="The path in a park file (streams[3].unit).")
    where: str | None = Field(
        None, description="Where that is in a workbook (sheet streams, row 5)."
    )
    accepted: str | None = Field(None, description="What would be accepted.")
    loc: list[str | int] | None = Field(None, description="The field as a list (FastAPI's form).")
    msg: str | None = None
    type: str | None = None


class ErrorPublic(BaseModel):
    """Every 4xx: ``detail`` says what is wrong, as one sentence or one entry per problem (import
    conflicts are sentences)."""

    detail: str | list[ProblemPublic | str]


#: What each error status means on this API.
ERRORS: dict[int, str] = {
    400: "The body is not readable JSON, or nested deeper than the limit.",
    401: "No valid credentials (send a bearer token), or a wrong e-mail or password.",
    403: "Credentials without the right to this.",
    404: "No such thing, or one whose existence is confidential to this user.",
    409: "The step conflicts with the state (a taken id, a workflow step not allowed here).",
    413: "The upload is too large.",
    422: "The request is malformed or its content invalid; every problem is named.",
    429: "Too many requests from this account or address, or too many failed logins; see Retry-After.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route for the error statuses it may answer with."""
    return {code: {"model": ErrorPublic, "description": ERRORS[code]} for code in codes}


def answers(model: Any, *codes: int) -> dict[str, Any]:
    """What a route answers: ``model`` (with the fields the view left out absent, not null) and
    the error statuses ``codes``."""
    return {
        "response_model": model,
        "response_model_exclude_unset": True,
        "responses": errors(*codes),
    }


# -- accounts ----------------------------------------------------------------------------------------


class Token(_Public):
    access_token: str
    token_type: str = "bearer"


class UserCreate(Storable):
    email: str = Field(max_length=254)
    password: str = Field(min_length=10, max_length=1000)
    role: Role
    park: Id | None = None
    company: Id | None = None
    parks: list[Id] = Field(default_factory=list, max_length=1000)


class UserPublic(_Public):
    id: int
    email: str
    role: Role
    park: str | None
    company: str | None
    parks: list[str]


# -- parks and companies -----------------------------------------------------------------------------


class ParkSummaryPublic(_Public):
    id: str
    name: str
    country: str | None
    province: str | None


class ParkPublic(ParkSummaryPublic):
    lat: float | None
    lon: float | None


class CompanyPublic(_Public):
    id: str
    name: str
    park: str
    isic: str | None
    sector_isic: str | None
    description: str | None
    lat: float | None
    lon: float | None


class AggregateCellPublic(_Public):
    direction: Direction
    kind: StreamKind
    unit: str
    streams: int | None = Field(
        description="Null where fewer than three companies are in the cell."
    )
    companies: int | None
    quantity: float | None = Field(
        description="Total of the public quantities; null where fewer than three companies give one."
    )


class AggregatesPublic(_Public):
    park: str
    min_companies_per_cell: int
    cells: list[AggregateCellPublic]


class ImportPublic(_Public):
    parks: list[str]
    warnings: list[str]
    created: dict[str, int]
    updated: dict[str, int]
    removed: dict[str, int]


# -- streams -----------------------------------------------------------------------------------------


def _optional(info: FieldInfo) -> tuple[Any, FieldInfo]:
    """The field as optional (default ``None``), with its meaning and constraints."""
    copy = FieldInfo.merge_field_infos(info, default=None)
    copy.default_factory = None
    annotation: Any = info.annotation
    return annotation | None, copy


def _stream_body(name: str, doc: str, optional: list[str]) -> type[Stream]:
    """A request body made from the park file's stream row, with the fields ``optional`` made
    optional: declared once in ``model.park`` and validated there."""
    fields: dict[str, Any] = {f: _optional(Stream.model_fields[f]) for f in optional}
    return create_model(name, __base__=Stream, __doc__=doc, **fields)


if TYPE_CHECKING:  # to the type checker both are streams, as they are subclasses of Stream
    StreamCreate = Stream
    StreamUpdate = Stream
else:
    StreamCreate = _stream_body(
        "StreamCreate",
        "A new stream: the fields of a park file's stream row (``company`` comes from the path).",
        ["company"],
    )
    StreamUpdate = _stream_body(
        "StreamUpdate",
        "Some fields of a stream to change (null removes one); the result is validated whole.",
        list(Stream.model_fields),
    )


class StreamPublic(_Public):
    """A stream as the user may see it. ``quantity`` and ``unit`` are absent where the company keeps
    the quantity private, ``private`` is there only for the company itself (and admins), and
    ``company_sector`` replaces the company where the company keeps its identity private."""

    id: str
    company: str | None
    direction: Direction
    kind: StreamKind
    name: str
    description: str | None
    ewc: str | None
    quantity: float | None = None
    unit: str | None = None
    properties: dict[str, Any]
    private: list[PrivateField] | None = None
    company_sector: str | None = None


class Privacy(Storable):
    private: list[PrivateField] = Field(
        max_length=len(PRIVATE_FIELDS), description="The fields the company keeps to itself."
    )


# -- links -------------------------------------------------------------------------------------------


class Action(Storable):
    action: ActionName


class Measurement(Storable):
    model_config = ConfigDict(allow_inf_nan=False)

    month: str = Field(description="YYYY-MM", max_length=7)
    quantity: float = Field(ge=0)
    unit: str = Field(max_length=64)


class SuggestionsPublic(_Public):
    park: str
    new_links: int


class SidePublic(_Public):
    """One side of a link: named (with contacts) after the introduction, before it a sector and a
    distance only."""

    company: str | None
    name: str | None
    sector_isic: str | None
    contacts: list[str] | None = None
    description: str | None = None


class ConsentPublic(_Public):
    supplier: bool
    receiver: bool


class EventPublic(_Public):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    at: str
    user: int | None
    action: str
    from_: Status | None = Field(alias="from")
    to: Status


class MeasurementPublic(_Public):
    month: str
    quantity: float
    unit: str


class LinkPublic(_Public):
    id: int
    status: Status
    score: float
    use: str | None
    reasons: list[str]
    sources: list[str]
    distance_km: float | None
    supply: str | None = Field(
        description="Null where the supplier keeps the stream's identity private."
    )
    supply_name: str
    kind: StreamKind
    supplier: SidePublic
    receiver: SidePublic
    consent: ConsentPublic
    events: list[EventPublic]
    measurements: list[MeasurementPublic]


# -- background jobs ---------------------------------------------------------------------------------

#: A job's id in a path: beyond the database's integers there is no job (422, not a crash).
JobId = Annotated[int, Path(ge=1, le=MAX_SERIAL_ID, description="The job's id.")]
#: Money per tonne a lever may be (the largest taxes and prices are far below it).
_MAX_USD_T = 1e6
_Override = Annotated[float, Field(ge=-1e12, le=1e12)]


class PolicyCreate(Storable):
    """Policy levers and evaluation settings, as a policy file (``--policy POLICY.yaml``) has them;
    all default to no policy."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    landfill_tax_usd_t: float = Field(
        0.0, ge=0, le=_MAX_USD_T, description="Added landfill tax, USD/t."
    )
    subsidy_usd_t: float = Field(
        0.0, ge=0, le=_MAX_USD_T, description="Paid to the supplier per tonne kept from disposal."
    )
    capex_tax_credit_pct: float = Field(
        0.0, ge=0, le=100, description="Share of the capital cost returned, %."
    )
    carbon_price_usd_t: float = Field(
        0.0, ge=0, le=_MAX_USD_T, description="Value of a tonne of CO2e, USD/t."
    )
    discount_rate_pct: float | None = Field(
        None, ge=0, le=100, description="Real discount rate, %."
    )
    lifetime_years: float | None = Field(
        None, gt=0, le=200, description="Economic life of pipes, years."
    )
    transaction_cost_usd_yr: float = Field(
        0.0, ge=0, le=1e12, description="Yearly cost of arranging an exchange."
    )
    factors: dict[Annotated[str, Field(max_length=128)], _Override] = Field(
        default_factory=dict, max_length=200,
        description="Overrides: a role of roles.yaml or a factor id of factors.csv, in its unit.",
    )  # fmt: skip


class EvaluationCreate(Storable):
    """The options of ``symbiolink evaluate``: money, CO2e and resources of every candidate link."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    policy: PolicyCreate = Field(default_factory=PolicyCreate)
    top: int = Field(5, ge=1, le=100, description="Receivers per supply.")
    samples: int = Field(0, ge=0, le=1000, description="Monte Carlo draws over the factor ranges.")
    seed: int = Field(0, ge=0, le=MAX_SERIAL_ID, description="Seed of the Monte Carlo draws.")
    kb_exclude: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50,
        description="Drop every piece of knowledge whose tag starts with one of these.",
    )  # fmt: skip


class OptimizationCreate(Storable):
    """The options of ``symbiolink optimize``: the park-wide exchange network."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    objective: Literal["cost", "co2", "freshwater"] = "cost"
    policy: PolicyCreate = Field(default_factory=PolicyCreate)
    no_outside: list[StreamKind] = Field(
        default_factory=list, max_length=3, description="Kinds not bought from outside."
    )
    pareto: int = Field(0, ge=0, le=20, description="Also trace the cost-CO2e front with N points.")
    gap: float = Field(1e-3, ge=0, le=1, description="Relative MIP gap.")


class JobPublic(_Public):
    """A background job: its progress while it runs, then its result or its error. ``view`` is
    whose view of the park it computed on (``full``, ``brokers``, ``company:<id>``)."""

    id: int
    kind: JobKind
    park: str
    requested_by: int | None
    view: str
    params: dict[str, Any]
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    message: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    heartbeat_at: str | None
    result: dict[str, Any] | None = Field(None, description="Only once the job succeeded.")
    error: str | None = Field(None, description="Only once the job failed: what went wrong.")


# -- live matches ------------------------------------------------------------------------------------


class MatchPublic(_Public):
    """A current match of a stream. The other side (the receiver of a supply, the supplier of a
    demand) is a sector and a distance only, as a link's before the introduction, except to the
    park's brokers (not where its stream keeps the owner's identity private)."""

    stream: str = Field(description="The stream matched (a supply or a demand).")
    direction: Literal["supply", "demand"]
    rank: int
    score: float
    use: str
    reasons: list[str]
    sources: list[str]
    distance_km: float | None
    other: SidePublic
    other_stream: str | None = Field(
        description="The receiver's demand that fits, or the supply that meets the demand; null "
        "where the other side is not shown."
    )
