"""The candidate network of a park: supplies, demands, shared facilities and the arcs between them,
each priced per unit by the impact accounting.

Units are the canonical ones (t/yr for materials, m3/h for water, MWh/yr for energy); money and CO2e
per unit are per year of that flow (so a water arc's value is per m3/h, i.e. per 8,766 m3 a year).

Arcs come from two places. Water and heat pairs are decided by physics: every supply and demand of
the kind in different companies, within the distance limit, that pass the temperature rule, and
whose supply states each contaminant the demand limits (the limits themselves are mass balances
in the model, so a dirty stream may be diluted). Material pairs, and materials burnt as fuel, are
decided by knowledge: the demand fits the matcher finds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from symbiolink.accounting.evaluation import link_for
from symbiolink.accounting.factors import default_factors
from symbiolink.accounting.impact import LinkImpact, evaluate
from symbiolink.accounting.policy import Policy
from symbiolink.accounting.roles import Roles
from symbiolink.errors import SymbiolinkError, load_yaml_file
from symbiolink.matching import Limits, Matcher
from symbiolink.matching.engine import Match
from symbiolink.matching.rules import haversine_km, kinds_fit, temperature_problem
from symbiolink.model.park import Company, ParkFile, Stream
from symbiolink.model.units import CANONICAL_UNIT


@dataclass
class Node:
    """A place flow leaves (a supply, a facility's outlet) or enters (a demand, a facility's inlet)."""

    id: str
    kind: str
    company: str | None
    quantity: float | None
    """Canonical quantity; ``None`` where the stream states none (an open demand)."""
    temperature_c: float | None = None
    contaminants: dict[str, float] = field(default_factory=dict)
    max_contaminants: dict[str, float] = field(default_factory=dict)
    facility: str | None = None


@dataclass
class Arc:
    src: str
    dst: str
    kind: str
    ratio: float = 1.0
    """Units of the demand met per unit of the supply sent."""
    value_usd: float = 0.0
    """Money gained per unit sent: the purchase the receiver avoids, minus transport (per year)."""
    fixed_usd: float = 0.0
    """Money per year for the link to exist at all: a pipe's annuity and upkeep."""
    co2_t: float = 0.0
    """CO2e avoided per unit sent: the displaced production, minus transport."""
    distance_km: float | None = None
    missing: list[str] = field(default_factory=list)
    costs_complete: bool = True
    """False when the accounting could not count a cost of this link (a pipe, transport)."""

    @property
    def id(self) -> str:
        return f"{self.src}->{self.dst}"


@dataclass
class Facility:
    """A shared plant that any member can send to and take from (an effluent-reuse plant, a steam
    header, a sorting yard): built or not, with a capacity and costs."""

    id: str
    kind: str
    capacity: float
    fixed_cost_usd_yr: float = 0.0
    variable_cost_usd: float = 0.0
    """Per unit of canonical flow through it, per year (water: per m3/h, i.e. per 8,766 m3)."""
    outlet_contaminants: dict[str, float] = field(default_factory=dict)
    inlet_max_contaminants: dict[str, float] = field(default_factory=dict)
    outlet_temperature_c: float | None = None
    inlet_min_temperature_c: float | None = None
    company: str | None = None
    """Where it stands (its distance to others); at the park's centre if absent."""


@dataclass
class Network:
    sources: dict[str, Node]
    sinks: dict[str, Node]
    arcs: list[Arc]
    facilities: dict[str, Facility]
    disposal_usd: dict[str, float]
    """Per unit of each supply: what sending it to disposal costs (fee, taxes)."""
    disposal_co2: dict[str, float]
    """Per unit of each supply: the CO2e of its disposal."""
    external_usd: dict[str, float]
    """Per unit of each demand met from outside (virgin product, fresh water, purchased heat)."""
    external_co2: dict[str, float]
    excluded: dict[str, list[str]] = field(default_factory=dict)
    """Per demand: the supplies the rules kept away, with the reason."""
    skipped: list[str] = field(default_factory=list)
    """Streams left out of the model, with the reason (no quantity)."""
    missing: list[str] = field(default_factory=list)

    @property
    def contaminants(self) -> list[str]:
        names: set[str] = set()
        for n in self.sinks.values():
            names.update(n.max_contaminants)
        return sorted(names)


def read_facilities(path: str) -> list[Facility]:
    """Shared facilities from a YAML list (``optimize --facilities FILE``)."""
    doc = load_yaml_file(path)
    items = doc.get("facilities") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise SymbiolinkError(f"{path}: expected a list of facilities (or a 'facilities:' key)")
    out: list[Facility] = []
    known = set(Facility.__dataclass_fields__)
    for n, item in enumerate(items):
        where = f"{path}: facilities[{n}]"
        if not isinstance(item, dict):
            raise SymbiolinkError(f"{where}: expected a mapping")
        unknown = set(item) - known
        if unknown:
            raise SymbiolinkError(
                f"{where}: unknown key {sorted(unknown)[0]!r} (accepted: {', '.join(sorted(known))})"
            )
        for key in ("id", "kind", "capacity"):
            if key not in item:
                raise SymbiolinkError(f"{where}: {key} is required")
        if item["kind"] not in CANONICAL_UNIT:
            raise SymbiolinkError(
                f"{where}.kind: {item['kind']!r} (accepted: {', '.join(CANONICAL_UNIT)})"
            )
        try:
            fac = Facility(**item)
            if float(fac.capacity) <= 0:
                raise ValueError("capacity must be above 0")
        except (TypeError, ValueError) as exc:
            raise SymbiolinkError(f"{where}: {exc}") from None
        out.append(fac)
    ids = [f.id for f in out]
    if len(set(ids)) != len(ids):
        raise SymbiolinkError(f"{path}: facility ids must be unique")
    return out


def _node(s: Stream) -> Node:
    return Node(
        id=s.id, kind=s.kind, company=s.company, quantity=s.canonical_quantity(),
        temperature_c=s.properties.temperature_c, contaminants=dict(s.properties.contaminants or {}),
        max_contaminants=dict(s.properties.max_contaminants or {}),
    )  # fmt: skip


def _states_every_limit(src: Node, dst: Node) -> str | None:
    """CONTRACTS section 4: a demand that limits a contaminant takes a supply only if the supply
    states its concentration of it; the limit itself is a mass balance on the mixed inlet."""
    for name in sorted(dst.max_contaminants):
        if name not in src.contaminants:
            return f"{name} is limited but {src.id} does not state it"
    return None


def _per_unit(impact: LinkImpact, bases: Iterable[str]) -> tuple[float, float]:
    keep = set(bases)
    usd = sum(float(t.usd_yr) for t in impact.terms if t.basis in keep)
    co2 = sum(float(t.co2e_t_yr) for t in impact.terms if t.basis in keep)
    return usd, co2


def _unit_stream(s: Stream) -> Stream:
    """The stream with one canonical unit of quantity, so the accounting's terms are per unit."""
    return s.model_copy(update={"quantity": 1.0, "unit": CANONICAL_UNIT[s.kind]})


def build_network(
    park: ParkFile,
    *,
    policy: Policy | None = None,
    limits: Limits | None = None,
    facilities: Sequence[Facility] = (),
    matcher: Matcher | None = None,
    material_candidates: int = 10,
    internal_water_reuse: bool = True,
) -> Network:
    """The candidate network of ``park``, priced under ``policy``."""
    policy = policy or Policy()
    limits = limits or Limits()
    streams = {s.id: s for s in park.streams}
    companies = {c.id: c for c in park.companies}
    sources: dict[str, Node] = {}
    sinks: dict[str, Node] = {}
    skipped: list[str] = []
    for s in park.streams:
        node = _node(s)
        if s.direction == "supply":
            if node.quantity is None:
                skipped.append(f"{s.id}: no quantity, so it cannot be balanced")
                continue
            sources[s.id] = node
        else:
            sinks[s.id] = node

    def where(company: str | None) -> tuple[float, float] | None:
        if company and company in companies:
            return park.location_of(companies[company])
        p = park.parks[0] if park.parks else None
        return (p.lat, p.lon) if p is not None and p.lat is not None and p.lon is not None else None

    def distance(a: str | None, b: str | None) -> float | None:
        return haversine_km(where(a), where(b))

    # Candidate pairs: physics for water and heat, knowledge for materials.
    pairs: dict[tuple[str, str], str] = {}  # (supply, demand) -> use
    excluded: dict[str, list[str]] = {}
    for dn in sinks.values():
        if dn.kind == "material":
            continue
        for sn in sources.values():
            if sn.kind != dn.kind or sn.id == dn.id:
                continue
            # Water may be reused within a plant (a recycle, as in water-pinch targets); heat
            # between companies only (recovery inside a plant is its own heat integration).
            if sn.company == dn.company and (dn.kind != "water" or not internal_water_reuse):
                continue
            problem = temperature_problem(
                streams[sn.id], streams[dn.id], limits
            ) or _states_every_limit(sn, dn)
            km = distance(sn.company, dn.company)
            if (
                problem is None
                and km is not None
                and km > limits.max_distance_km.get(dn.kind, float("inf"))
            ):
                problem = f"{km:.1f} km is beyond the {limits.max_distance_km[dn.kind]:g} km limit for {dn.kind}"
            if problem:
                excluded.setdefault(dn.id, []).append(f"{sn.id}: {problem}")
            else:
                pairs[(sn.id, dn.id)] = ""
    matcher = matcher or Matcher(limits=limits)
    for m in matcher.match(park, top=material_candidates):
        if (
            m.demand
            and m.demand in sinks
            and m.supply in sources
            and sources[m.supply].kind == "material"
            and kinds_fit("material", sinks[m.demand].kind)
        ):
            pairs.setdefault((m.supply, m.demand), m.use)
    for dm in matcher.match_demands(park, top=material_candidates):
        if dm.demand in sinks and dm.supply in sources and sources[dm.supply].kind == "material":
            pairs.setdefault((dm.supply, dm.demand), "")

    library = default_factors()
    roles: dict[object, Roles] = {}

    def price(
        supply: Stream, receiver: Company, demand: Stream | None, use: str, km: float | None
    ) -> LinkImpact:
        match = Match(
            supply.id, receiver.id, demand.id if demand else None, 0, 0.0, use, [], [], km
        )
        unit_park = park.model_copy(
            update={
                "streams": [_unit_stream(supply)]
                + ([demand.model_copy(update={"quantity": None, "unit": None})] if demand else [])
            }
        )
        link = link_for(unit_park, match)
        return evaluate(link, policy.roles(library, link.region, link.supplier.park, roles), policy)

    arcs: list[Arc] = []
    disposal_usd: dict[str, float] = {}
    disposal_co2: dict[str, float] = {}
    external: dict[str, list[tuple[float, float]]] = {}
    missing: list[str] = []
    for (sid, did), use in sorted(pairs.items()):
        s, d = streams[sid], streams[did]
        km = distance(s.company, d.company)
        impact = price(s, companies[d.company], d, use, km)
        ratio = impact.ratio
        if s.kind == "material" and d.kind == "energy":
            # A fuel: one tonne meets its heating value in MWh.
            ncv = next(
                (float(rv.central) for r, rv in impact.factors.items() if r.startswith("ncv_")),
                None,
            )
            if s.properties.lhv_mj_kg is not None:
                ncv = s.properties.lhv_mj_kg / 3.6
            if not ncv:
                missing.append(f"{sid}->{did}: heating value unknown, arc left out")
                continue
            ratio = ncv * impact.ratio
        value, co2 = _per_unit(impact, ("displaced", "flow"))
        fixed, _ = _per_unit(impact, ("fixed",))
        d_usd, d_co2 = _per_unit(impact, ("disposal",))
        disposal_usd.setdefault(sid, d_usd)
        disposal_co2.setdefault(sid, d_co2)
        shown, shown_co2 = _per_unit(impact, ("displaced",))
        external.setdefault(did, []).append((shown / ratio, shown_co2 / ratio))
        arcs.append(Arc(sid, did, s.kind, ratio=ratio, value_usd=value, fixed_usd=-fixed, co2_t=co2,
                        distance_km=km, missing=list(impact.missing), costs_complete=impact.costs_complete))  # fmt: skip

    fac_nodes: dict[str, Facility] = {}
    for f in facilities:
        fac_nodes[f.id] = f
        inlet = Node(id=f"{f.id}:in", kind=f.kind, company=f.company, quantity=float(f.capacity),
                     max_contaminants=dict(f.inlet_max_contaminants), facility=f.id,
                     temperature_c=f.inlet_min_temperature_c)  # fmt: skip
        outlet = Node(id=f"{f.id}:out", kind=f.kind, company=f.company, quantity=float(f.capacity),
                      contaminants=dict(f.outlet_contaminants), temperature_c=f.outlet_temperature_c,
                      facility=f.id)  # fmt: skip
        sinks[inlet.id] = inlet
        sources[outlet.id] = outlet
        for src in [n for n in sources.values() if n.facility is None and n.kind == f.kind]:
            if inlet.temperature_c is not None and (
                src.temperature_c is None or src.temperature_c < inlet.temperature_c
            ):
                continue
            if _states_every_limit(src, inlet):
                continue
            arcs.append(Arc(src.id, inlet.id, f.kind, distance_km=distance(src.company, f.company)))
        for dst in [n for n in sinks.values() if n.facility is None and n.kind == f.kind]:
            if dst.temperature_c is not None and (
                outlet.temperature_c is None
                or outlet.temperature_c < dst.temperature_c + limits.min_approach_k
            ):
                continue
            if _states_every_limit(outlet, dst):
                continue
            arcs.append(
                Arc(outlet.id, dst.id, f.kind, distance_km=distance(f.company, dst.company))
            )

    # What meeting a demand from outside costs: the price the receiver states, or what the arcs into it
    # displace (the first one priced; they displace the same product unless the classes differ).
    external_usd: dict[str, float] = {}
    external_co2: dict[str, float] = {}
    for did, node in sinks.items():
        if node.facility:
            continue
        values = external.get(did, [])
        external_usd[did] = max((v for v, _ in values), default=0.0)
        external_co2[did] = max((c for _, c in values), default=0.0)
    # Arcs out of a facility are worth what meeting their demand from outside costs; arcs into one
    # are worth the disposal their supply avoids (added in the model, as for every supply).
    for a in arcs:
        if a.src.endswith(":out") and a.src[:-4] in fac_nodes:
            a.value_usd = external_usd.get(a.dst, 0.0) - fac_nodes[a.src[:-4]].variable_cost_usd
            a.co2_t = external_co2.get(a.dst, 0.0)
    for sid in sources:
        if sid not in disposal_usd and not sources[sid].facility:
            s = streams[sid]
            impact = price(s, companies[s.company], None, "", None)
            disposal_usd[sid], disposal_co2[sid] = _per_unit(impact, ("disposal",))
    return Network(
        sources=sources, sinks=sinks, arcs=arcs, facilities=fac_nodes,
        disposal_usd=disposal_usd, disposal_co2=disposal_co2,
        external_usd=external_usd, external_co2=external_co2,
        excluded=excluded, skipped=skipped, missing=missing,
    )  # fmt: skip


def unit_of(kind: str) -> str:
    return CANONICAL_UNIT[kind]


__all__ = ["Arc", "Facility", "Network", "Node", "build_network", "read_facilities", "unit_of"]
