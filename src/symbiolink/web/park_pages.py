"""The park's pages and the link workflow page (server-rendered, htmx for the parts that change).

- ``/parks``: the parks a user may open.
- ``/park/{id}``: the dashboard of a park's manager, facilitators and admins: key figures, a map of
  the companies and their links (Leaflet; OpenStreetMap tiles when online, the positions always), a
  Sankey of the flows per kind, the links, and measured beside estimated monthly quantities.
- ``/park/{id}/matches``: the matching explorer (ranked partners of every supply, with reasons and
  sources, filters), where a broker turns a match into a suggested link; ``/me/matches``: a company
  member's view of its own supplies' and demands' matches.
- ``/park/{id}/network``: the link graph with its keystones and per-company figures.
- ``/links/{id}``: a link's timeline, step, next actions and measured monthly quantities.
- ``/sources``: what each provenance tag of the knowledge stands for.

Everything a page shows of a link comes from :func:`symbiolink.store.links.view`, so a partner is
anonymous until the introduction, and the owner of a stream that keeps its identity private is never
named to others. Quantities are drawn only for those who may see them
(:func:`symbiolink.web.access.stream_view`). Pictures get their data from a
``<script type="application/json">`` block and draw it with external scripts, so the pages need no
inline script (the CSP forbids it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from symbiolink.analytics import NetLink, losses, metrics
from symbiolink.analytics.pictures import network_figure, sankey
from symbiolink.errors import SymbiolinkError
from symbiolink.knowledge.sources import MAESTRI_CITATION, anchor, citations, describe, used_tags
from symbiolink.matching import DemandMatch, Match
from symbiolink.model.park import FORMAT, ParkFile
from symbiolink.model.units import (
    CANONICAL_UNIT,
    MONTHLY_UNIT,
    UnitProblem,
    monthly_amount,
    per_month,
)
from symbiolink.store import links
from symbiolink.store.accounts import User
from symbiolink.store.models import CompanyRow, LinkRow, ParkRow, StreamRow, UserRow
from symbiolink.web import access
from symbiolink.web.i18n import translator
from symbiolink.web.pages import (
    SessionUser,
    _check_csrf,
    _csrf,
    _engine,
    _lang,
    _render,
    _session_user,
    apply_action,
)
from symbiolink.web.schemas import LinkId, ParkId

park_pages = APIRouter(include_in_schema=False)
BROKERS = ("admin", "park_manager", "facilitator")
KINDS = ("material", "water", "energy")
#: Tiles of the map when the browser is online (the CSP allows this host for images).
TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILE_HOST = "https://tile.openstreetmap.org"
#: Receivers per supply in the explorer.
EXPLORER_TOP = 5


def _fragment(request: Request) -> bool:
    """An htmx request for a part of the page (when htmx restores history it wants the whole)."""
    return bool(request.headers.get("hx-request")) and not request.headers.get(
        "hx-history-restore-request"
    )


def _json_block(text: str) -> Markup:
    """JSON for a ``<script type="application/json">`` block: nothing in it can close the block."""
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _broker_park(s: Session, user: User, park_id: str, page: str) -> ParkRow:
    if user.role not in BROKERS or not access.sees_park(user, park_id):
        raise HTTPException(
            403, f"the {page} is for the park's manager, its facilitators and admins"
        )
    park = s.get(ParkRow, park_id)
    if park is None:
        raise HTTPException(404, f"no park {park_id!r}")
    return park


# -- the park's links as the viewer may see them ------------------------------------------------------


@dataclass
class Flow:
    """A link of the park with its view, its supply and the supply's quantity (canonical unit) if
    the viewer may see it."""

    link: LinkRow
    view: dict[str, Any]
    stream: StreamRow
    quantity: float | None

    @property
    def private_quantity(self) -> bool:
        """The supply states a quantity that the viewer may not see."""
        return self.quantity is None and self.stream.quantity_canonical is not None

    @property
    def drawable(self) -> bool:
        """Both sides known to the viewer (a hidden owner's links are drawn nowhere)."""
        return bool(self.view["supplier"]["company"] and self.view["receiver"]["company"])


def park_flows(s: Session, user: User, park_id: str) -> list[Flow]:
    """Every link from or to a company of the park, oldest first."""
    in_park = select(CompanyRow.id).where(CompanyRow.park_id == park_id)
    rows = s.execute(
        select(LinkRow, StreamRow, CompanyRow)
        .join(StreamRow, LinkRow.supply_id == StreamRow.id)
        .join(CompanyRow, StreamRow.company_id == CompanyRow.id)
        .where(or_(CompanyRow.park_id == park_id, LinkRow.receiver_id.in_(in_park)))
        .order_by(LinkRow.id)
    ).all()
    out = []
    for link, stream, supplier in rows:
        seen = access.stream_view(user, stream, supplier)
        quantity = stream.quantity_canonical if "quantity" in seen else None
        out.append(Flow(link, links.view(s, link, user), stream, quantity))
    return out


def drawn_links(flows: list[Flow], *, operating_only: bool = False) -> list[NetLink]:
    """The flows a picture draws: each supply once, to its operating partners (its quantity shared
    equally among them) or else to its best-scored open suggestion. Operating links are
    ``documented``, the others ``proposed``; a quantity the viewer may not see is ``None``."""
    by_supply: dict[str, list[Flow]] = defaultdict(list)
    for f in flows:
        if f.drawable and f.link.status != "ended":
            by_supply[f.link.supply_id].append(f)
    out = []
    for fs in by_supply.values():
        running = [f for f in fs if f.link.status == "operating"]
        if not running and operating_only:
            continue
        chosen = running or [max(fs, key=lambda f: (f.link.score or 0.0, -f.link.id))]
        for f in chosen:
            share = None if f.quantity is None else f.quantity / len(chosen)
            out.append(NetLink(f.link.supply_id, f.view["supplier"]["company"], f.view["receiver"]["company"],
                               f.stream.kind, "documented" if running else "proposed", f.link.demand_id,
                               share, distance_km=f.link.distance_km))  # fmt: skip
    return out


def _private_in(flows: list[Flow], drawn: list[NetLink]) -> int:
    """How many of the drawn links have a quantity the viewer may not see."""
    private = {f.link.supply_id for f in flows if f.private_quantity}
    return sum(1 for x in drawn if x.supply in private)


def monthly(f: Flow) -> dict[str, Any]:
    """Measured months of a link beside the estimate from its supply's quantity, in one unit."""
    kind = f.stream.kind
    months = []
    for m in f.view["measurements"]:
        try:
            amount = monthly_amount(m["quantity"], m["unit"], kind)
        except UnitProblem:  # stored before units were checked
            amount = None
        months.append({**m, "amount": amount})
    amounts = [m["amount"] for m in months if m["amount"] is not None]
    return {
        "unit": MONTHLY_UNIT[kind],
        "estimate": None if f.quantity is None else per_month(f.quantity, kind),
        "months": months,
        "mean": sum(amounts) / len(amounts) if amounts else None,
    }


def _label(side: dict[str, Any], _: Any) -> str:
    if side["name"]:
        return str(side["name"])
    return f"{_('A company of sector')} {side['sector_isic'] or '?'}"


# -- the dashboard ---------------------------------------------------------------------------------


@park_pages.get("/parks")
def parks_list(request: Request, session: SessionUser) -> HTMLResponse:
    """The parks a user may open, with their pages."""
    user, token = session
    with Session(_engine(request)) as s:
        rows = s.scalars(select(ParkRow).order_by(ParkRow.name)).all()
        shown = [p for p in rows if access.sees_park(user, p.id) or user.role == "observer"]
        counts = dict(
            s.execute(select(CompanyRow.park_id, func.count()).group_by(CompanyRow.park_id)).all()
        )
        parks = [{"id": p.id, "name": p.name, "province": p.province, "country": p.country,
                  "companies": counts.get(p.id, 0)} for p in shown]  # fmt: skip
    return _render(request, "parks.html", user=user, csrf=_csrf(request, token), parks=parks,
                   brokers=BROKERS)  # fmt: skip


@park_pages.get("/park/{park_id}")
def park_dashboard(request: Request, park_id: ParkId, session: SessionUser) -> HTMLResponse:
    """Key figures of a park for its manager, facilitators and admins: companies, streams by kind,
    links by workflow step, a map, a Sankey of the flows, and measured beside estimated quantities
    of operating links."""
    user, token = session
    _ = translator(_lang(request))
    with Session(_engine(request)) as s:
        park = _broker_park(s, user, park_id, "park dashboard")
        companies = s.scalars(
            select(CompanyRow)
            .where(CompanyRow.park_id == park_id)
            .order_by(CompanyRow.position, CompanyRow.id)
        ).all()
        kinds: dict[tuple[str, str], int] = defaultdict(int)
        for direction, kind in s.execute(
            select(StreamRow.direction, StreamRow.kind)
            .join(CompanyRow, StreamRow.company_id == CompanyRow.id)
            .where(CompanyRow.park_id == park_id)
        ):
            kinds[(direction, kind)] += 1
        flows = park_flows(s, user, park_id)
        park_place = (park.lat, park.lon) if park.lat is not None and park.lon is not None else None
    by_status = {st: sum(1 for f in flows if f.link.status == st) for st in links.STATUSES}
    operating = [{"flow": f, **monthly(f)} for f in flows if f.link.status == "operating"]
    drawn = drawn_links(flows)
    status_words = {"documented": _("operating"), "proposed": _("suggested, not yet operating")}
    figures = []
    names = {c.id: c.name for c in companies}
    for kind in KINDS:
        if any(x.kind == kind and x.quantity for x in drawn):
            fig = sankey(ParkFile(format=FORMAT), drawn, kind, names=names, status_labels=status_words,
                         title=f"{_(kind).capitalize()} ({CANONICAL_UNIT[kind]})")  # fmt: skip
            nodes = {
                n for x in drawn if x.kind == kind and x.quantity for n in (x.supplier, x.receiver)
            }
            fig.update_layout(
                margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=160 + 28 * len(nodes)
            )
            figures.append({"id": f"sankey-{kind}", "kind": kind, "json": _json_block(fig.to_json()),
                            "rows": [x for x in drawn if x.kind == kind and x.quantity]})  # fmt: skip
    placed = {}
    for c in companies:
        where = (c.lat, c.lon) if c.lat is not None and c.lon is not None else park_place
        if where is not None:
            placed[c.id] = {"id": c.id, "name": c.name, "sector": c.sector_isic, "lat": where[0],
                            "lon": where[1], "at_park": c.lat is None or c.lon is None}  # fmt: skip
    lines = []
    for f in flows:
        a, b = f.view["supplier"]["company"], f.view["receiver"]["company"]
        if f.drawable and f.link.status != "ended" and a in placed and b in placed:
            lines.append({"from": [placed[a]["lat"], placed[a]["lon"]], "to": [placed[b]["lat"], placed[b]["lon"]],
                          "kind": f.stream.kind, "operating": f.link.status == "operating",
                          "label": f"{f.stream.name}: {names.get(a, a)} → {names.get(b, b)} ({_(f.link.status)})"})  # fmt: skip
    map_data = {"companies": list(placed.values()), "links": lines, "tiles": TILES,
                "attribution": "&copy; " + _("{osm} contributors").replace(
                    "{osm}", '<a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'),
                "centre": park_place}  # fmt: skip
    return _render(
        request, "park.html", user=user, csrf=_csrf(request, token), park=park,
        companies=companies, kinds=sorted(kinds.items()), by_status=by_status, flows=flows,
        operating=operating, figures=figures, names=names, label=_label,
        map_json=_json_block(json.dumps(map_data)), placed=placed,
        hidden_owner=sum(1 for f in flows if not f.drawable and f.link.status != "ended"),
        hidden_quantity=_private_in(flows, drawn), no_quantity=sum(1 for x in drawn if x.quantity is None) - _private_in(flows, drawn),
    )  # fmt: skip


# -- the matching explorer --------------------------------------------------------------------------


def _matches(request: Request, park_id: str) -> tuple[ParkFile, list[Match], list[DemandMatch]]:
    """The stored park and its matches, both ways (about 0.1 s for a park of 20 companies)."""
    return links.match_stored(_engine(request), park_id, EXPLORER_TOP, demands=True)


def _match_key(request: Request, supply: str, receiver: str) -> str:
    """An opaque id of a match for forms and page anchors (a stream id can name its owner)."""
    mac = hmac.new(request.app.state.secret, f"{supply}\0{receiver}".encode(), hashlib.sha256)
    return mac.hexdigest()[:20]


def _sources(tags: list[str]) -> list[dict[str, str]]:
    return [{"tag": t, "anchor": anchor(t), "about": describe(t) or ""} for t in tags]


def _resource(park: ParkFile, stream_id: str, lang: str) -> tuple[str, str] | None:
    """The resource class the knowledge recognises in a supply: (id, label)."""
    stream = next((x for x in park.streams if x.id == stream_id), None)
    if stream is None:
        return None
    classifier = links.shared_matcher().classifier
    hits = classifier.classify(
        name=stream.name, description=stream.description or "", ewc=stream.ewc
    )
    if not hits:
        return None
    cls = classifier.classes[hits[0].class_id]
    return cls.id, (cls.label_vi if lang == "vi" and cls.label_vi else cls.label_en)


def _transient(supply: str, receiver: str, demand: str | None, score: float, use: str,
               reasons: list[str], sources: list[str], distance: float | None) -> LinkRow:  # fmt: skip
    """A match viewed like a link that is only suggested (nobody has consented)."""
    return LinkRow(supply_id=supply, receiver_id=receiver, demand_id=demand, status="suggested", score=score,
                   use=use, reasons=list(reasons), sources=list(sources), distance_km=distance,
                   supplier_consent=False, receiver_consent=False)  # fmt: skip


def _explorer_row(request: Request, s: Session, user: User, link: LinkRow, stored: LinkRow | None,
                  rank: int, resource: tuple[str, str] | None) -> dict[str, Any]:  # fmt: skip
    """A match (a transient link) as the viewer may see it: at the step of its stored link, if the
    match was kept as one, so that partners introduced there are named here too."""
    if stored is not None:
        link.status, link.supplier_consent, link.receiver_consent = (
            stored.status, stored.supplier_consent, stored.receiver_consent)  # fmt: skip
    view = links.view(s, link, user)
    return {"key": _match_key(request, link.supply_id, link.receiver_id), "rank": rank, "view": view,
            "link_id": stored.id if stored else None, "status": stored.status if stored else None,
            "score": link.score, "use": link.use, "distance": link.distance_km, "reasons": view["reasons"],
            "sources": _sources(list(link.sources)), "resource": resource, "kind": view["kind"]}  # fmt: skip


def _stored_links(s: Session, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], LinkRow]:
    supplies = sorted({p[0] for p in pairs})
    if not supplies:
        return {}
    rows = s.scalars(select(LinkRow).where(LinkRow.supply_id.in_(supplies)))
    return {(r.supply_id, r.receiver_id): r for r in rows}


def _filters(request: Request, companies: list[CompanyRow]) -> dict[str, str]:
    q = request.query_params
    chosen = {
        "kind": q.get("kind", ""),
        "resource": q.get("resource", ""),
        "company": q.get("company", ""),
    }
    if chosen["kind"] and chosen["kind"] not in KINDS:
        raise HTTPException(422, f"kind {chosen['kind']!r} (accepted: {', '.join(KINDS)})")
    if chosen["company"] and chosen["company"] not in {c.id for c in companies}:
        raise HTTPException(422, f"no company {chosen['company']!r} in this park")
    return chosen


def _keep(row: dict[str, Any], chosen: dict[str, str]) -> bool:
    if chosen["kind"] and row["kind"] != chosen["kind"]:
        return False
    if chosen["resource"] and (row["resource"] or ("", ""))[0] != chosen["resource"]:
        return False
    sides = {row["view"]["supplier"]["company"], row["view"]["receiver"]["company"]}
    return not chosen["company"] or chosen["company"] in sides


@park_pages.get("/park/{park_id}/matches")
def matching_explorer(request: Request, park_id: ParkId, session: SessionUser) -> HTMLResponse:
    """For every supply of the park, its ranked partners with score, use, distance, reasons and
    sources; filters by kind, resource and company. With htmx, only the results."""
    user, token = session
    lang = _lang(request)
    with Session(_engine(request)) as s:
        park_row = _broker_park(s, user, park_id, "matching explorer")
        companies = list(
            s.scalars(
                select(CompanyRow).where(CompanyRow.park_id == park_id).order_by(CompanyRow.name)
            )
        )
        chosen = _filters(request, companies)
        park, found, _by_demand = _matches(request, park_id)
        stored = _stored_links(s, [(m.supply, m.receiver) for m in found])
        groups: dict[str, dict[str, Any]] = {}
        resources: dict[str, str] = {}
        for m in found:
            if m.supply not in groups:
                res = _resource(park, m.supply, lang)
                groups[m.supply] = {"resource": res, "rows": []}
                if res:
                    resources[res[0]] = res[1]
            row = _explorer_row(request, s, user, _transient(m.supply, m.receiver, m.demand, m.score, m.use,
                                m.reasons, m.sources, m.distance_km), stored.get((m.supply, m.receiver)),
                                m.rank, groups[m.supply]["resource"])  # fmt: skip
            groups[m.supply]["rows"].append(row)
    shown = []
    for g in groups.values():
        rows = [r for r in g["rows"] if _keep(r, chosen)]
        if rows:
            shown.append({"view": rows[0]["view"], "resource": g["resource"], "rows": rows})
    ctx: dict[str, Any] = {"user": user, "csrf": _csrf(request, token), "park": park_row, "groups": shown, "chosen": chosen,
           "companies": companies, "resources": sorted(resources.items(), key=lambda kv: kv[1].lower()),
           "kinds": KINDS, "broker": True, "label": _label, "total": sum(len(g["rows"]) for g in shown)}  # fmt: skip
    template = "matches_results.html" if _fragment(request) else "matches.html"
    response = _render(request, template, 200, **ctx)
    response.headers["Vary"] = "HX-Request"
    return response


@park_pages.post("/park/{park_id}/matches/suggest")
def suggest_match(
    request: Request,
    park_id: ParkId,
    session: SessionUser,
    key: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> Response:
    """A broker turns a match into a suggested link (``links.suggest``); answers the match's row."""
    user, token = session
    _check_csrf(request, token, csrf)
    lang = _lang(request)
    with Session(_engine(request)) as s, s.begin():
        _broker_park(s, user, park_id, "matching explorer")
        park, found, _by_demand = _matches(request, park_id)
        match = next((m for m in found if _match_key(request, m.supply, m.receiver) == key), None)
        if match is None:
            raise HTTPException(
                409, "the park's streams have changed since the page was shown: reload it"
            )
        links.suggest(s, [match], user)
        s.flush()
        stored = _stored_links(s, [(match.supply, match.receiver)])
        res = _resource(park, match.supply, lang)
        row = _explorer_row(request, s, user, _transient(match.supply, match.receiver, match.demand, match.score,
                            match.use, match.reasons, match.sources, match.distance_km),
                            stored.get((match.supply, match.receiver)), match.rank, res)  # fmt: skip
    if not _fragment(request):
        return RedirectResponse(f"/park/{park_id}/matches", status_code=303)
    return _render(request, "match_row.html", user=user, csrf=_csrf(request, token), park={"id": park_id},
                   row=row, broker=True, label=_label)  # fmt: skip


@park_pages.get("/me/matches")
def my_matches(request: Request, session: SessionUser) -> HTMLResponse:
    """A company member's matches: who could take each of its supplies, and whose supplies could
    meet each of its demands (also without a posted demand), partners anonymous until introduced."""
    user, token = session
    if user.company_id is None or user.park_id is None:
        raise HTTPException(403, "this page shows a company's matches: it is for company members")
    lang = _lang(request)
    park, found, by_demand = _matches(request, user.park_id)
    own = {x.id: x for x in park.streams if x.company == user.company_id}
    supplies: dict[str, list[Any]] = defaultdict(list)
    demands: dict[str, list[Any]] = defaultdict(list)
    offered: list[Any] = []
    for m in found:
        if m.supply in own:
            supplies[m.supply].append(m)
        elif m.receiver == user.company_id and m.demand is None:
            offered.append(m)
    for dm in by_demand:
        if dm.demand in own:
            demands[dm.demand].append(dm)
    with Session(_engine(request)) as s:
        pairs = [(m.supply, m.receiver) for ms in supplies.values() for m in ms]
        pairs += [(dm.supply, user.company_id) for ds in demands.values() for dm in ds]
        pairs += [(m.supply, m.receiver) for m in offered]
        stored = _stored_links(s, pairs)

        def row(link: LinkRow, rank: int) -> dict[str, Any]:
            r = _explorer_row(request, s, user, link, stored.get((link.supply_id, link.receiver_id)), rank,
                              _resource(park, link.supply_id, lang))  # fmt: skip
            return r

        give = [{"stream": own[sid], "rows": [row(_transient(m.supply, m.receiver, m.demand, m.score, m.use, m.reasons,
                 m.sources, m.distance_km), m.rank) for m in ms]} for sid, ms in supplies.items()]  # fmt: skip
        take = [{"stream": own[did], "rows": [row(_transient(dm.supply, user.company_id, dm.demand, dm.score, "",
                 dm.reasons, dm.sources, dm.distance_km), dm.rank) for dm in ds]} for did, ds in demands.items()]  # fmt: skip
        extra = [row(_transient(m.supply, m.receiver, None, m.score, m.use, m.reasons, m.sources, m.distance_km), m.rank)
                 for m in sorted(offered, key=lambda m: -m.score)]  # fmt: skip
        company = s.get(CompanyRow, user.company_id)
    return _render(request, "my_matches.html", user=user, csrf=_csrf(request, token), company=company,
                   give=give, take=take, extra=extra, label=_label, broker=False)  # fmt: skip


# -- the network -------------------------------------------------------------------------------------


@park_pages.get("/park/{park_id}/network")
def network_view(request: Request, park_id: ParkId, session: SessionUser) -> HTMLResponse:
    """The park's link graph: keystones, per-company figures and what the park loses if a company
    leaves (``symbiolink.analytics``), as a picture and as a table of the same numbers."""
    user, token = session
    _ = translator(_lang(request))
    which = request.query_params.get("links", "planned")
    if which not in ("planned", "operating"):
        raise HTTPException(422, f"links {which!r} (accepted: planned, operating)")
    with Session(_engine(request)) as s:
        park = _broker_park(s, user, park_id, "network view")
        names: dict[str, str] = dict(s.execute(select(CompanyRow.id, CompanyRow.name).where(CompanyRow.park_id == park_id)).all())  # fmt: skip
        flows = park_flows(s, user, park_id)
        # Receivers in other parks are named as the viewer may see them.
        for f in flows:
            for side in ("supplier", "receiver"):
                v = f.view[side]
                if v["company"] and v["company"] not in names:
                    names[v["company"]] = v["name"]
    drawn = drawn_links(flows, operating_only=which == "operating")
    m = metrics(drawn)
    lost = {x.company: x for x in losses(drawn)}
    words = {k: _(k) for k in KINDS} | {"betweenness": _("betweenness"),
                                         "companies (keystones in red)": _("companies (keystones in red)")}  # fmt: skip
    fig = network_figure(
        ParkFile(format=FORMAT), drawn, m, names=names, title=_("Symbiosis network"), words=words
    )
    rows = [
        {"c": c, "name": names.get(c.company, c.company), "loss": lost.get(c.company)}
        for c in m.companies
    ]
    return _render(request, "network.html", user=user, csrf=_csrf(request, token), park=park, metrics=m,
                   rows=rows, figure=_json_block(fig.to_json()) if drawn else None, which=which,
                   hidden_owner=sum(1 for f in flows if not f.drawable and f.link.status != "ended"),
                   hidden_quantity=_private_in(flows, drawn), no_quantity=sum(1 for x in drawn if x.quantity is None) - _private_in(flows, drawn), kinds=KINDS,
                   units=CANONICAL_UNIT)  # fmt: skip


# -- a link's workflow page ----------------------------------------------------------------------------


def _link_or_404(s: Session, user: User, link_id: int) -> LinkRow:
    link = links.visible(s, user, link_id)
    if link is None:
        raise HTTPException(404, f"no link {link_id}")
    return link


def _who(
    s: Session, user: User, view: dict[str, Any], events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each event with who took it, as the viewer may know them: themselves, a broker (role and
    e-mail), or a company by name once it is known (``the other company`` before)."""
    ids = {e["user"] for e in events if e["user"] is not None}
    people = {u.id: u for u in s.scalars(select(UserRow).where(UserRow.id.in_(ids)))} if ids else {}
    known = {v["company"]: v for v in (view["supplier"], view["receiver"]) if v["company"]}
    out = []
    for e in events:
        u = people.get(e["user"]) if e["user"] is not None else None
        if e["user"] is None:
            who = {"kind": "system"}
        elif e["user"] == user.id:
            who = {"kind": "you"}
        elif u is None:
            who = {"kind": "gone"}
        elif u.company_id is not None:
            side = known.get(u.company_id)
            who = (
                {"kind": "company", "name": side["name"], "email": u.email}
                if side
                else {"kind": "other"}
            )
        else:
            who = {"kind": "broker", "role": u.role, "email": u.email}
        at = datetime.fromisoformat(e["at"])
        out.append({**e, "who": who, "when": at.strftime("%Y-%m-%d %H:%M"), "iso": e["at"]})
    return out


def _link_context(
    request: Request, s: Session, user: User, token: str, link: LinkRow, **extra: Any
) -> dict[str, Any]:
    view = links.view(s, link, user)
    sides = links.sides(s, link)
    seen = access.stream_view(user, sides.stream, sides.supplier)
    flow = Flow(
        link, view, sides.stream, sides.stream.quantity_canonical if "quantity" in seen else None
    )
    me = links.party(user, sides)
    partner_key = "receiver" if me == "supplier" else "supplier"
    return {"user": user, "csrf": _csrf(request, token), "link": view, "me": me,
            "partner": view[partner_key] if me else None, "allowed": links.allowed_actions(s, link, user),
            "timeline": _who(s, user, view, view["events"]), "statuses": links.STATUSES,
            "monthly": monthly(flow), "sources": _sources(view["sources"]), "label": _label,
            "form": extra.pop("form", {"month": "", "quantity": "", "unit": MONTHLY_UNIT[view["kind"]]}),
            "errors": extra.pop("errors", {}), **extra}  # fmt: skip


@park_pages.get("/links/{link_id}")
def link_page(request: Request, link_id: LinkId, session: SessionUser) -> HTMLResponse:
    """A link's workflow: where it is, what may happen next, who did what when, and its measured
    monthly quantities beside the estimate."""
    user, token = session
    with Session(_engine(request)) as s:
        ctx = _link_context(request, s, user, token, _link_or_404(s, user, link_id))
    return _render(request, "link.html", **ctx)


@park_pages.post("/links/{link_id}/step")
def link_step(
    request: Request,
    link_id: LinkId,
    session: SessionUser,
    action: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> Response:
    """One workflow step from the link's page; answers its workflow panel (htmx), else the page."""
    user, token = session
    _check_csrf(request, token, csrf)
    _view, error = apply_action(request, link_id, user, action)
    if not _fragment(request):
        if error:
            with Session(_engine(request)) as s:
                ctx = _link_context(
                    request, s, user, token, _link_or_404(s, user, link_id), error=error
                )
            return _render(request, "link.html", status=409, **ctx)
        return RedirectResponse(f"/links/{link_id}", status_code=303)
    with Session(_engine(request)) as s:
        ctx = _link_context(request, s, user, token, _link_or_404(s, user, link_id), error=error,
                            done=None if error else action)  # fmt: skip
    return _render(request, "link_panel.html", status=409 if error else 200, **ctx)


@park_pages.post("/links/{link_id}/measure")
def link_measure(
    request: Request,
    link_id: LinkId,
    session: SessionUser,
    csrf: Annotated[str, Form()],
    month: Annotated[str, Form()] = "",
    quantity: Annotated[str, Form()] = "",
    unit: Annotated[str, Form()] = "",
) -> Response:
    """A measured monthly quantity of an operating link; problems are shown beside their fields."""
    user, token = session
    _check_csrf(request, token, csrf)
    _ = translator(_lang(request))
    form = {"month": month.strip(), "quantity": quantity.strip(), "unit": unit.strip()}
    errors: dict[str, str] = {}
    value = None
    try:
        value = float(form["quantity"].replace(",", "."))
    except ValueError:
        errors["quantity"] = _("Write a number of 0 or more, such as 4200 or 4200.5.")
    with Session(_engine(request)) as s, s.begin():
        link = _link_or_404(s, user, link_id)
        kind = links.sides(s, link).stream.kind
        if not re.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])", form["month"]):
            errors["month"] = _("Write the month as year and month, such as 2026-10.")
        if value is not None and not (value >= 0 and value != float("inf")):
            errors["quantity"] = _("Write a number of 0 or more, such as 4200 or 4200.5.")
        try:
            monthly_amount(1.0, form["unit"], kind)
        except UnitProblem:
            errors["unit"] = _("Write a unit of an amount that fits this flow, such as:") + " " + {
                "material": "t, kg, m3", "water": "m3, L, t", "energy": "MWh, kWh, GJ"}[kind]  # fmt: skip
        problem = None
        if not errors:
            try:
                links.measure(s, link, user, form["month"], value or 0.0, form["unit"])
            except SymbiolinkError as exc:
                problem = str(exc)
        s.flush()
        saved = not errors and problem is None
        ctx = _link_context(request, s, user, token, link, errors=errors, problem=problem, saved=saved,
                            form=None if saved else form)  # fmt: skip
        if ctx["form"] is None:
            ctx["form"] = {"month": "", "quantity": "", "unit": form["unit"]}
    status = 200 if saved else 422 if errors else 409
    if not _fragment(request):
        if saved:
            return RedirectResponse(f"/links/{link_id}", status_code=303)
        return _render(request, "link.html", status=status, **ctx)
    return _render(request, "link_measurements.html", status=status, **ctx)


# -- sources and error pages ----------------------------------------------------------------------------


@park_pages.get("/sources")
def knowledge_sources(request: Request, session: SessionUser) -> HTMLResponse:
    """Every provenance tag of the knowledge with its citation; MAESTRI cases as one entry."""
    user, token = session
    used = used_tags()
    entries = [
        {"tag": t, "anchor": anchor(t), "about": c}
        for t, c in sorted(citations().items())
        if t in used
    ]
    return _render(request, "sources.html", user=user, csrf=_csrf(request, token), entries=entries,
                   maestri=MAESTRI_CITATION)  # fmt: skip


async def http_error(request: Request, exc: Exception) -> Response:
    """Errors of pages as a page in the user's language (with the reason); of the API, as JSON."""
    assert isinstance(exc, StarletteHTTPException)
    if (
        request.url.path.startswith("/api/")
        or exc.status_code < 400
        or request.url.path.startswith("/static/")
    ):
        return await http_exception_handler(request, exc)
    user = _session_user(request) if exc.status_code != 401 else None
    template = "error_fragment.html" if _fragment(request) else "error.html"
    token = request.cookies.get("symbiolink_session", "")
    response = _render(request, template, status=exc.status_code, user=user, status_code=exc.status_code,
                       detail=exc.detail, csrf=_csrf(request, token) if user else "")  # fmt: skip
    if exc.headers:
        response.headers.update(exc.headers)
    return response
