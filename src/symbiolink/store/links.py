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

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from symbiolink.errors import SymbiolinkError
from symbiolink.matching.engine import Match
from symbiolink.store.accounts import User, record
from symbiolink.store.models import (
    CompanyRow,
    LinkEventRow,
    LinkMeasurementRow,
    LinkRow,
    StreamRow,
    UserRow,
)

STATUSES = ("suggested", "interested", "introduced", "negotiating", "agreed", "operating", "ended")
ACTIONS = ("interest", "consent", "advance", "end")


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


def broker(user: User, s: Sides) -> bool:
    if user.role == "admin":
        return True
    return user.role in ("park_manager", "facilitator") and bool(
        {s.supplier.park_id, s.receiver.park_id} & set(user.parks)
    )


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


def act(session: Session, link: LinkRow, user: User, action: str) -> str:
    """Apply a workflow action; returns the new status. Raises :class:`WorkflowError` (a step not
    allowed from here) or :class:`PermissionError` (not this user's to take)."""
    if action not in ACTIONS:
        raise WorkflowError(f"action {action!r} (accepted: {', '.join(ACTIONS)})")
    s = sides(session, link)
    who = party(user, s)
    is_broker = broker(user, s)
    before = link.status
    if before == "ended":
        raise WorkflowError("the link has ended")
    if action in ("interest", "consent") and who is None:
        raise PermissionError("only the two companies show interest or consent to an introduction")
    if action in ("advance", "end") and who is None and not is_broker:
        raise PermissionError("only the two companies or a broker of their park move a link on")
    if action == "interest":
        if before != "suggested":
            raise WorkflowError(f"interest is shown on a suggested link; this one is {before}")
        link.status = "interested"
    elif action == "consent":
        if before not in ("suggested", "interested"):
            raise WorkflowError(f"consent is given before the introduction; this link is {before}")
        if who == "supplier":
            link.supplier_consent = True
        else:
            link.receiver_consent = True
        link.status = (
            "introduced" if link.supplier_consent and link.receiver_consent else "interested"
        )
    elif action == "advance":
        order = STATUSES.index(before)
        if before not in ("introduced", "negotiating", "agreed"):
            raise WorkflowError(f"a {before} link moves on by interest and consent, not by advance")
        link.status = STATUSES[order + 1]
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
    if not re.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])", month):
        raise SymbiolinkError(f"month {month!r} (accepted: YYYY-MM)")
    if not quantity >= 0:
        raise SymbiolinkError("quantity must be a number >= 0")
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


def _redact(text: str, companies: list[CompanyRow]) -> str:
    """``text`` with the names and ids of ``companies`` (and the truncations reasons use) replaced."""
    for c in companies:
        for token in sorted({c.name, c.name[:50], c.id}, key=len, reverse=True):
            if token:
                text = text.replace(token, "the other company")
    return text


def contacts(session: Session, company_id: str) -> list[str]:
    return list(
        session.scalars(
            select(UserRow.email)
            .where(UserRow.company_id == company_id, UserRow.active)
            .order_by(UserRow.email)
        )
    )


def view(session: Session, link: LinkRow, user: User) -> dict[str, Any]:
    """The link as ``user`` may see it: before the introduction, each party sees the other only as
    a sector and a distance; after it, the other's name and contacts. Brokers see both."""
    s = sides(session, link)
    who = party(user, s)
    revealed = broker(user, s) or (
        link.status in STATUSES[STATUSES.index("introduced") :]
        and (link.supplier_consent and link.receiver_consent)
    )

    def side(company: CompanyRow, mine: bool) -> dict[str, Any]:
        if mine or revealed:
            return {"company": company.id, "name": company.name, "sector_isic": company.sector_isic,
                    "contacts": contacts(session, company.id)}  # fmt: skip
        return {"company": None, "name": None, "sector_isic": company.sector_isic,
                "description": f"a company of sector {company.sector_isic or 'unknown'}"
                + (f", {link.distance_km:.1f} km away" if link.distance_km is not None else "")}  # fmt: skip

    identity_private = (
        "identity" in (s.stream.private_fields or ()) and not revealed and who != "supplier"
    )
    # The matcher's reasons name the receiver ("Cement plant X is ISIC 2394"): before the
    # introduction, a party must not read the other's name there either.
    others = ((s.supplier, who == "supplier"), (s.receiver, who == "receiver"))
    hidden = [] if revealed else [c for c, mine in others if not mine]
    reasons = [_redact(r, hidden) for r in link.reasons]
    events = session.scalars(
        select(LinkEventRow).where(LinkEventRow.link_id == link.id).order_by(LinkEventRow.id)
    )
    measured = session.scalars(
        select(LinkMeasurementRow)
        .where(LinkMeasurementRow.link_id == link.id)
        .order_by(LinkMeasurementRow.month)
    )
    return {
        "id": link.id, "status": link.status, "score": link.score, "use": link.use, "reasons": reasons,
        "sources": link.sources, "distance_km": link.distance_km,
        "supply": None if identity_private else link.supply_id, "supply_name": s.stream.name, "kind": s.stream.kind,
        "supplier": side(s.supplier, who == "supplier"), "receiver": side(s.receiver, who == "receiver"),
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


def suggest_for_park(engine: Engine, park_id: str, user: User, top: int = 3) -> int:
    """Run the matcher on a stored park and store its matches as suggested links."""
    from symbiolink.matching import Matcher
    from symbiolink.store.registry import export_park

    park = export_park(engine, [park_id])
    matches = Matcher().match(park, top=top)
    with Session(engine) as session, session.begin():
        return suggest(session, matches, user)
