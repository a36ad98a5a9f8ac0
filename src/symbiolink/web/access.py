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

from typing import Any, Literal, get_args

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
    if "quantity" in private:
        doc.pop("quantity")
        doc.pop("unit")
    for key in ("price", "disposal_cost"):
        if key in private:
            props.pop(key, None)
    if {"price", "disposal_cost"} <= private:
        props.pop("currency", None)  # nothing left that the currency would be of
    if "identity" in private:
        doc["company"] = None
        doc["company_sector"] = company.sector_isic
    return doc


def company_view(company: Any) -> dict[str, Any]:
    return {"id": company.id, "name": company.name, "park": company.park_id, "isic": company.isic,
            "sector_isic": company.sector_isic, "description": company.description,
            "lat": company.lat, "lon": company.lon}  # fmt: skip
