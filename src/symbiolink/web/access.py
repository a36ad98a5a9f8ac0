"""Who may see and change what: the rules of the platform, as plain functions on a user and the
rows concerned (so they are tested without a server).

- admin: everything.
- park manager: their park; its streams without the fields a company keeps private.
- company member: their park's directory; their own company's streams in full; others' streams
  without private fields, and without the company's name where it keeps its identity private.
- facilitator: the parks they are assigned, like a park manager.
- observer: published aggregates only.

Private fields (``quantity``, ``price``, ``disposal_cost``, ``identity``) are shown only to the
owning company and admins until both sides of a link accept an introduction (the workflow, next).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

from symbiolink.model.park import ParkFile, Stream
from symbiolink.store.accounts import User

PrivateField = Literal["quantity", "price", "disposal_cost", "identity"]
PRIVATE_FIELDS: tuple[str, ...] = get_args(PrivateField)


def sees_park(user: User, park_id: str) -> bool:
    if user.role == "admin":
        return True
    if user.role == "observer":
        return False
    return park_id in user.parks


def sees_aggregates(user: User, park_id: str) -> bool:
    return user.role in ("admin", "observer") or park_id in user.parks


def owns_company(user: User, company_id: str) -> bool:
    return user.role == "admin" or (user.role == "company_member" and user.company_id == company_id)


def edits_company(user: User, company_id: str, park_id: str) -> bool:
    """Streams of a company are written by its members, its park's manager and admins."""
    return owns_company(user, company_id) or (
        user.role == "park_manager" and user.park_id == park_id
    )


def stream_view(user: User, stream: Any, company: Any) -> dict[str, Any]:
    """A stream as ``user`` may see it: private fields left out (not blanked) for others."""
    private = set(stream.private_fields or ())
    full = owns_company(user, company.id)
    props = dict(stream.properties or {})
    doc: dict[str, Any] = {
        "id": stream.id, "company": company.id, "direction": stream.direction, "kind": stream.kind,
        "name": stream.name, "description": stream.description, "ewc": stream.ewc,
        "quantity": stream.quantity, "unit": stream.unit, "properties": props,
    }  # fmt: skip
    if full:
        doc["private"] = sorted(private)
        return doc
    withhold(doc, private)
    if "identity" in private:
        doc["company"] = None
        doc["company_sector"] = company.sector_isic
    return doc


def withhold(doc: dict[str, Any], private: set[str]) -> None:
    """Take a stream's private figures out of ``doc`` (a stream as a park file has it), in place:
    the quantity with its unit, the price, the disposal cost, and the currency once both are out."""
    props = doc.get("properties") or {}
    if "quantity" in private:
        doc.pop("quantity", None)
        doc.pop("unit", None)
    for key in ("price", "disposal_cost"):
        if key in private:
            props.pop(key, None)
    if {"price", "disposal_cost"} <= private:
        props.pop("currency", None)  # nothing left that the currency would be of


def company_view(company: Any) -> dict[str, Any]:
    return {"id": company.id, "name": company.name, "park": company.park_id, "isic": company.isic,
            "sector_isic": company.sector_isic, "description": company.description,
            "lat": company.lat, "lon": company.lon}  # fmt: skip


# -- the park a job computes on ---------------------------------------------------------------------

#: Who may start an evaluation or optimization of a park they see (observers see aggregates only).
JOB_ROLES = ("admin", "park_manager", "facilitator", "company_member")


def job_view(user: User) -> str:
    """Whose view of a park a job of ``user`` computes on: ``full`` (admins), ``brokers`` (a park's
    manager and facilitators: no company's private figures) or ``company:<id>`` (a member: their
    company's figures in full, the others' without private ones).

    Examples
    --------
    >>> job_view(User(1, "m@park.vn", "company_member", "A", "a1", ("A",)))
    'company:a1'
    """
    if user.role == "admin":
        return "full"
    if user.role == "company_member":
        return f"company:{user.company_id}"
    return "brokers"


def reads_job(user: User, park_id: str, view: str) -> bool:
    """A job's result is read by those who see its park the way the job computed on it (and by
    admins, who see everything): never by someone who may not see a figure in it."""
    return user.role == "admin" or (sees_park(user, park_id) and job_view(user) == view)


def park_view(park: ParkFile, private: Mapping[str, Sequence[str]], view: str) -> ParkFile:
    """``park`` as ``view`` (see :func:`job_view`) sees it, with ``private`` the fields each stream
    keeps private (by stream id): the private figures of other companies' streams taken out as the
    API leaves them out (:func:`withhold`), and other companies' streams that keep their identity
    private left out altogether (the API does not show them under their company, nor by id).

    Examples
    --------
    >>> from symbiolink.model.park import FORMAT, Company, Park
    >>> p = ParkFile(format=FORMAT, parks=[Park(id="A", name="A")],
    ...     companies=[Company(id="a1", name="One", park="A"), Company(id="a2", name="Two", park="A")],
    ...     streams=[Stream(id="s1", company="a1", direction="supply", kind="material", name="Slag",
    ...                     quantity=600, unit="t/yr"),
    ...              Stream(id="s2", company="a2", direction="supply", kind="material", name="Ash")])
    >>> seen = park_view(p, {"s1": ["quantity"], "s2": ["identity"]}, "brokers")
    >>> [(s.id, s.quantity) for s in seen.streams]
    [('s1', None)]
    >>> [(s.id, s.quantity) for s in park_view(p, {"s1": ["quantity"]}, "company:a1").streams]
    [('s1', 600.0), ('s2', None)]
    """
    if view == "full":
        return park
    owner = view.removeprefix("company:") if view.startswith("company:") else None
    streams = []
    for s in park.streams:
        hidden = set(private.get(s.id) or ())
        if s.company == owner or not hidden:
            streams.append(s)
            continue
        if "identity" in hidden:
            continue
        doc = s.model_dump(mode="json", exclude_none=True)
        withhold(doc, hidden)
        streams.append(Stream.model_validate(doc))
    return ParkFile.model_construct(
        format=park.format, parks=park.parks, companies=park.companies, streams=streams
    )
