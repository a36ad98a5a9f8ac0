"""Links between companies, whatever their origin: documented (operating), proposed by matching and
evaluation, or chosen by the optimizer. The analytics work on these records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from symbiolink.accounting.evaluation import Evaluation
from symbiolink.model.park import ParkFile
from symbiolink.model.units import CANONICAL_UNIT, _hours_per_year

STATUSES = ("documented", "proposed", "optimized")


@dataclass(frozen=True)
class NetLink:
    supply: str
    supplier: str
    receiver: str
    kind: str
    status: str
    demand: str | None = None
    quantity: float | None = None
    """In the kind's canonical unit (t/yr, m3/h, MWh/yr)."""
    net_benefit_usd_yr: float | None = None
    co2e_avoided_t_yr: float | None = None
    distance_km: float | None = None

    @property
    def unit(self) -> str:
        return CANONICAL_UNIT[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def documented_links(park: ParkFile) -> list[NetLink]:
    """Exchanges the park file records as documented (``properties.exchange: documented`` with a
    ``documented_receiver`` company id), as in the demo parks."""
    companies = {c.id for c in park.companies}
    out: list[NetLink] = []
    for s in park.streams:
        extra = s.properties.model_extra or {}
        if s.direction != "supply" or extra.get("exchange") != "documented":
            continue
        for receiver in str(extra.get("documented_receiver", "")).replace(",", " ").split():
            if receiver in companies and receiver != s.company:
                out.append(
                    NetLink(
                        s.id,
                        s.company,
                        receiver,
                        s.kind,
                        "documented",
                        quantity=s.canonical_quantity(),
                    )
                )
    return out


def proposed_links(park: ParkFile, evaluation: Evaluation) -> list[NetLink]:
    """The best viable link of each supply (see ``evaluate``)."""
    streams = {s.id: s for s in park.streams}
    return [
        NetLink(
            i.supply, streams[i.supply].company, i.receiver, streams[i.supply].kind, "proposed", i.demand,
            i.quantity if streams[i.supply].kind != "water" or i.quantity is None else i.quantity / _hours_per_year(),
            float(i.net_benefit_usd_yr) if i.net_benefit_usd_yr is not None else None,
            float(i.co2e_avoided_t_yr) if i.co2e_avoided_t_yr is not None else None,
        )
        for i in evaluation.chosen
    ]  # fmt: skip


def optimized_links(park: ParkFile, result: Any, network: Any) -> list[NetLink]:
    """Links that carry flow in an optimized network, valued per unit as the optimizer did."""
    streams = {s.id: s for s in park.streams}
    arcs = {a.id: a for a in network.arcs}
    built = set(result.built_links)
    out: list[NetLink] = []
    for f in result.flows:
        src, dst = f["from"], f["to"]
        if src not in streams or dst not in streams:
            continue  # outside, disposal and shared facilities are not companies
        a = arcs[f"{src}->{dst}"]
        q = float(f["quantity"])
        money = q * (a.value_usd + network.disposal_usd.get(src, 0.0)) - (
            a.fixed_usd if a.id in built else 0.0
        )
        co2 = q * (a.co2_t + network.disposal_co2.get(src, 0.0))
        out.append(NetLink(src, streams[src].company, streams[dst].company, f["kind"], "optimized", dst, q,
                           money, co2, a.distance_km))  # fmt: skip
    return out


def companies_of(links: Iterable[NetLink]) -> set[str]:
    out: set[str] = set()
    for link in links:
        out.update((link.supplier, link.receiver))
    return out
