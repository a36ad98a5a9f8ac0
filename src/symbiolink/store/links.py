"""Links and their workflow: suggested -> interested -> introduced (both consented) -> negotiating ->
agreed -> operating -> ended. Each step is timestamped and attributed (``link_events``).

Who does what:

- a **party** is a member of the supplying or the receiving company;
- a **broker** is an admin, or the manager or a facilitator of either company's park.

Parties show interest and consent to an introduction; when both have consented, the link is
introduced and each learns the other's name and contacts. After that, a party or a broker moves it
on. Either of them may end it at any step. Operating links get measured monthly quantities.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal, get_args

from sqlalchemy import Engine, false, or_, select
from sqlalchemy.orm import Session, aliased

from symbiolink.errors import SymbiolinkError
from symbiolink.matching.engine import DemandMatch, Match, Matcher
from symbiolink.model.park import ParkFile
from symbiolink.model.units import UnitProblem, monthly_amount
from symbiolink.store.accounts import User, record
from symbiolink.store.models import (
    CompanyRow,
    LinkEventRow,
    LinkMeasurementRow,
    LinkRow,
    StreamRow,
    UserRow,
)

Status = Literal[
    "suggested", "interested", "introduced", "negotiating", "agreed", "operating", "ended"
]
Action = Literal["interest", "consent", "advance", "end"]
STATUSES: tuple[str, ...] = get_args(Status)
ACTIONS: tuple[str, ...] = get_args(Action)


class WorkflowError(SymbiolinkError):
    """A step the workflow does not allow from where the link is."""


@dataclass(frozen=True)
class Sides:
    supplier: CompanyRow
    receiver: CompanyRow
    stream: StreamRow


def sides(session: Session, link: LinkRow) -> Sides:
    stream = session.get(StreamRow, link.supply_id)
    receiver = session.get(CompanyRow, link.receiver_id)
    supplier = session.get(CompanyRow, stream.company_id) if stream is not None else None
    if stream is None or receiver is None or supplier is None:  # pragma: no cover - FKs cascade
        raise SymbiolinkError(f"link {link.id} points at something that is gone")
    return Sides(supplier, receiver, stream)


def party(user: User, s: Sides) -> str | None:
    """``supplier``, ``receiver`` or ``None``."""
    if user.role != "company_member":
        return None
    if user.company_id == s.supplier.id:
        return "supplier"
    if user.company_id == s.receiver.id:
        return "receiver"
    return None


def brokers_park(user: User, park_id: str) -> bool:
    """Admins, and the park's manager and facilitators: those who broker its exchanges."""
    return user.role == "admin" or (
        user.role in ("park_manager", "facilitator") and park_id in user.parks
    )


def broker(user: User, s: Sides) -> bool:
    return brokers_park(user, s.supplier.park_id) or brokers_park(user, s.receiver.park_id)


def visible(session: Session, user: User, link_id: int) -> LinkRow | None:
    """The link, if ``user`` is a party to it or a broker of it (to anyone else it does not exist).

    The rights are part of the one query, which also loads both sides: a link that is not there
    and one that is not the user's take the same statement, and neither answer says which it was
    (no timing of "missing" against "forbidden")."""
    supplier, receiver = aliased(CompanyRow), aliased(CompanyRow)
    query = (
        select(LinkRow, StreamRow, supplier, receiver)
        .join(StreamRow, LinkRow.supply_id == StreamRow.id)
        .join(supplier, StreamRow.company_id == supplier.id)
        .join(receiver, LinkRow.receiver_id == receiver.id)
        .where(LinkRow.id == link_id)
    )
    if user.role == "company_member":
        query = query.where(or_(supplier.id == user.company_id, receiver.id == user.company_id))
    elif user.role in ("park_manager", "facilitator"):
        parks = list(user.parks)
        query = query.where(or_(supplier.park_id.in_(parks), receiver.park_id.in_(parks)))
    elif user.role != "admin":
        query = query.where(false())
    row = session.execute(query).first()
    return None if row is None else row[0]


def suggest(session: Session, matches: list[Match], user: User | None = None) -> int:
    """Store matches as suggested links (those not linked yet); returns how many are new."""
    now = datetime.now(UTC)
    new = 0
    for m in matches:
        exists = session.scalar(
            select(LinkRow.id).where(
                LinkRow.supply_id == m.supply, LinkRow.receiver_id == m.receiver
            )
        )
        if exists is not None or session.get(CompanyRow, m.receiver) is None:
            continue
        link = LinkRow(supply_id=m.supply, receiver_id=m.receiver, demand_id=m.demand, status="suggested",
                       score=m.score, use=m.use, reasons=list(m.reasons), sources=list(m.sources),
                       distance_km=m.distance_km, supplier_consent=False, receiver_consent=False,
                       created_at=now, updated_at=now)  # fmt: skip
        session.add(link)
        session.flush()
        session.add(LinkEventRow(link_id=link.id, at=now, user_id=user.id if user else None, action="suggest",
                                 from_status=None, to_status="suggested"))  # fmt: skip
        new += 1
    return new


def _refusal(link: LinkRow, who: str | None, is_broker: bool, action: str) -> Exception | None:
    """Why ``action`` may not be taken on ``link`` by this party or broker (``None``: it may): a
    :class:`WorkflowError` or a :class:`PermissionError`."""
    before = link.status
    if action not in ACTIONS:
        return WorkflowError(f"action {action!r} (accepted: {', '.join(ACTIONS)})")
    if before == "ended":
        return WorkflowError("the link has ended")
    if action in ("interest", "consent") and who is None:
        return PermissionError("only the two companies show interest or consent to an introduction")
    if action in ("advance", "end") and who is None and not is_broker:
        return PermissionError("only the two companies or a broker of their park move a link on")
    if action == "interest" and before != "suggested":
        return WorkflowError(f"interest is shown on a suggested link; this one is {before}")
    if action == "consent":
        if before not in ("suggested", "interested"):
            return WorkflowError(f"consent is given before the introduction; this link is {before}")
        if link.supplier_consent if who == "supplier" else link.receiver_consent:
            return WorkflowError("your company has consented already; the other has not yet")
    if action == "advance" and before not in ("introduced", "negotiating", "agreed"):
        return WorkflowError(f"a {before} link moves on by interest and consent, not by advance")
    return None


def allowed_actions(session: Session, link: LinkRow, user: User) -> list[str]:
    """The actions ``user`` may take on ``link`` now, in :data:`ACTIONS` order."""
    s = sides(session, link)
    who, is_broker = party(user, s), broker(user, s)
    return [a for a in ACTIONS if _refusal(link, who, is_broker, a) is None]


def act(session: Session, link: LinkRow, user: User, action: str) -> str:
    """Apply a workflow action; returns the new status. Raises :class:`WorkflowError` (a step not
    allowed from here) or :class:`PermissionError` (not this user's to take)."""
    s = sides(session, link)
    who = party(user, s)
    refusal = _refusal(link, who, broker(user, s), action)
    if refusal is not None:
        raise refusal
    before = link.status
    if action == "interest":
        link.status = "interested"
    elif action == "consent":
        if who == "supplier":
            link.supplier_consent = True
        else:
            link.receiver_consent = True
        link.status = (
            "introduced" if link.supplier_consent and link.receiver_consent else "interested"
        )
    elif action == "advance":
        link.status = STATUSES[STATUSES.index(before) + 1]
    else:
        link.status = "ended"
    now = datetime.now(UTC)
    link.updated_at = now
    session.add(LinkEventRow(link_id=link.id, at=now, user_id=user.id, action=action, from_status=before,
                             to_status=link.status))  # fmt: skip
    record(session, user, action, f"link:{link.id}", status=link.status)
    return link.status


def measure(
    session: Session, link: LinkRow, user: User, month: str, quantity: float, unit: str
) -> None:
    """A measured monthly quantity of an operating link (replaces the month's earlier figure)."""
    if link.status != "operating":
        raise WorkflowError(f"measurements are for operating links; this one is {link.status}")
    if not re.fullmatch(r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])", month):
        raise SymbiolinkError(f"month {month!r} (accepted: YYYY-MM)")
    if not (math.isfinite(quantity) and quantity >= 0):
        raise SymbiolinkError("quantity must be a number >= 0")
    try:
        monthly_amount(quantity, unit, sides(session, link).stream.kind)
    except UnitProblem as exc:
        raise SymbiolinkError(f"unit {exc}") from None
    row = session.get(LinkMeasurementRow, (link.id, month))
    now = datetime.now(UTC)
    if row is None:
        session.add(
            LinkMeasurementRow(
                link_id=link.id,
                month=month,
                quantity=quantity,
                unit=unit,
                recorded_at=now,
                user_id=user.id,
            )
        )
    else:
        row.quantity, row.unit, row.recorded_at, row.user_id = quantity, unit, now, user.id
    record(session, user, "measure", f"link:{link.id}", month=month)


def _redact(text: str, tokens: list[str]) -> str:
    """``text`` with each of ``tokens`` (names and ids of hidden companies and their streams)
    replaced, longest first so that an id containing another is replaced whole. Only whole words
    are replaced: a stream id ``in`` leaves the word "within" alone.

    Examples
    --------
    >>> _redact("demand 'Slag' (tv-slag-in) of Thep Viet, within 2 km", ["tv", "tv-slag-in", "Thep Viet", "in"])
    "demand 'Slag' (the other company) of the other company, within 2 km"
    """
    for token in sorted(set(tokens), key=len, reverse=True):
        if token:
            text = re.sub(rf"(?<![\w-]){re.escape(token)}(?![\w-])", "the other company", text)
    return text


def _hidden_tokens(session: Session, companies: list[CompanyRow]) -> list[str]:
    """What names a company in a matcher's reason: its name (and the truncation reasons use), its
    id, and the ids of its streams (``thepviet-slag-in``)."""
    if not companies:
        return []
    streams = session.scalars(
        select(StreamRow.id).where(StreamRow.company_id.in_([c.id for c in companies]))
    )
    return [t for c in companies for t in (c.name, c.name[:50], c.id)] + list(streams)


def contacts(session: Session, company_id: str) -> list[str]:
    return list(
        session.scalars(
            select(UserRow.email)
            .where(UserRow.company_id == company_id, UserRow.active)
            .order_by(UserRow.email)
        )
    )


def introduced(link: LinkRow) -> bool:
    """Both companies consented, so each knows the other (also once the link has moved on)."""
    return link.status in STATUSES[STATUSES.index("introduced") :] and bool(
        link.supplier_consent and link.receiver_consent
    )


def view(session: Session, link: LinkRow, user: User) -> dict[str, Any]:
    """The link as ``user`` may see it: before the introduction, each party sees the other only as
    a sector and a distance; after it, the other's name and contacts. Brokers see both, except the
    owner of a stream that keeps its identity private (only admins and, after the introduction, the
    partner see who that is).

    ``link`` may be a transient row (a match not stored as a link), viewed the same way."""
    s = sides(session, link)
    who = party(user, s)
    met = introduced(link)
    is_broker = broker(user, s)
    hides = "identity" in (s.stream.private_fields or ()) and user.role != "admin"
    shown = {
        "supplier": who == "supplier" or met or (is_broker and not hides),
        "receiver": who == "receiver" or met or is_broker,
    }

    def side(company: CompanyRow, visible: bool) -> dict[str, Any]:
        if visible:
            return {"company": company.id, "name": company.name, "sector_isic": company.sector_isic,
                    "contacts": contacts(session, company.id)}  # fmt: skip
        return {"company": None, "name": None, "sector_isic": company.sector_isic,
                "description": f"a company of sector {company.sector_isic or 'unknown'}"
                + (f", {link.distance_km:.1f} km away" if link.distance_km is not None else "")}  # fmt: skip

    # The matcher's reasons name the receiver ("Cement plant X is ISIC 2394") and its demands' ids:
    # whoever may not know a side must not read its name there either.
    hidden = [
        c for c, key in ((s.supplier, "supplier"), (s.receiver, "receiver")) if not shown[key]
    ]
    tokens = _hidden_tokens(session, hidden)
    reasons = [_redact(r, tokens) for r in link.reasons]
    events = (
        []
        if link.id is None
        else session.scalars(
            select(LinkEventRow).where(LinkEventRow.link_id == link.id).order_by(LinkEventRow.id)
        )
    )
    measured = (
        []
        if link.id is None
        else session.scalars(
            select(LinkMeasurementRow)
            .where(LinkMeasurementRow.link_id == link.id)
            .order_by(LinkMeasurementRow.month)
        )
    )
    return {
        "id": link.id, "status": link.status, "score": link.score, "use": link.use, "reasons": reasons,
        "sources": link.sources, "distance_km": link.distance_km,
        "supply": link.supply_id if shown["supplier"] or not hides else None,
        "supply_name": s.stream.name, "kind": s.stream.kind,
        "supplier": side(s.supplier, shown["supplier"]), "receiver": side(s.receiver, shown["receiver"]),
        "consent": {"supplier": link.supplier_consent, "receiver": link.receiver_consent},
        "events": [{"at": e.at.isoformat(), "user": e.user_id, "action": e.action, "from": e.from_status, "to": e.to_status} for e in events],
        "measurements": [{"month": x.month, "quantity": x.quantity, "unit": x.unit} for x in measured],
    }  # fmt: skip


def links_of_company(session: Session, company_id: str) -> list[LinkRow]:
    supplied = (
        select(LinkRow)
        .join(StreamRow, LinkRow.supply_id == StreamRow.id)
        .where(StreamRow.company_id == company_id)
    )
    received = select(LinkRow).where(LinkRow.receiver_id == company_id)
    rows = {r.id: r for r in session.scalars(supplied)} | {
        r.id: r for r in session.scalars(received)
    }
    return [rows[k] for k in sorted(rows)]


_MATCHER_LOCK = threading.Lock()


@cache
def shared_matcher() -> Matcher:
    """One matcher per process: building it (the knowledge base, the classifier) takes seconds."""
    return Matcher()


def match_stored(
    engine: Engine, park_id: str, top: int = 5, *, demands: bool = False
) -> tuple[ParkFile, list[Match], list[DemandMatch]]:
    """The stored park, its matches (``top`` receivers per supply) and, with ``demands``, the
    supplies that could meet each demand. Matching runs one at a time (the matcher's caches are
    shared)."""
    from symbiolink.store.registry import export_park

    park = export_park(engine, [park_id])
    with _MATCHER_LOCK:
        matcher = shared_matcher()
        matches = matcher.match(park, top=top)
        by_demand = matcher.match_demands(park, top=top) if demands else []
    return park, matches, by_demand


def suggest_for_park(engine: Engine, park_id: str, user: User, top: int = 3) -> int:
    """Run the matcher on a stored park and store its matches as suggested links."""
    _park, matches, _ = match_stored(engine, park_id, top)
    with Session(engine) as session, session.begin():
        return suggest(session, matches, user)
