"""Money, CO2e and resources of a symbiosis link.

A link sends a supply stream to a receiving company (and one of its demand streams, if it posted
one). What it displaces (a virgin product, fresh water, boiler heat, a fuel) and where the supply
goes today (a landfill, a drain, the air) come from ``data/factors/resources.yaml`` by the
supply's resource class and the receiver's sector; the numbers come from the factor library by
role (``roles.yaml``), or from the streams themselves where the companies stated a price or a
disposal cost. Every term says who gains or pays it, and which factor it used; a term whose factor
is missing is listed in ``missing`` and left out, never guessed.

Money (USD per year; positive is a gain)
    supplier: disposal avoided (fee, statutory and policy landfill tax), subsidy per tonne diverted,
    sale of the stream (if it has a price); receiver: purchase avoided (virgin price times the
    substitution ratio), minus the purchase from the supplier, transport (road distance times a
    cost per t-km) or the annuity and upkeep of a pipe; shared: transaction costs. A carbon price
    values each CO2e term for the party that avoids or causes it.
CO2e (t per year; positive is avoided)
    production of the displaced product (minus the emissions of the secondary route where the
    library has them), emissions of the disposal avoided, minus transport and the fossil CO2 of
    burning a fossil-derived waste as fuel.

The same code evaluates one value per factor or an array of Monte Carlo draws per factor, so that
``evaluate(..., draws=...)`` returns arrays of outcomes.

References
----------
Brightway's substitution exchange (a by-product displacing a virgin input, stated explicitly) is the
model for the displacement credit; see https://docs.brightway.dev (substitution exchanges).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from symbiolink.accounting.policy import Policy
from symbiolink.accounting.roles import Roles, RoleValue
from symbiolink.errors import SymbiolinkError
from symbiolink.model.park import Company, Stream
from symbiolink.model.units import _hours_per_year

#: Words in a route's use that say the material is burnt for its energy.
FUEL_WORDS = (
    "fuel",
    "burnt",
    "burned",
    "fired",
    "co-fired",
    "combust",
    "incinerat",
    "energy recovery",
)


@cache
def resource_table() -> dict[str, Any]:
    text = resources.files("symbiolink").joinpath("data", "factors", "resources.yaml")
    table: dict[str, Any] = yaml.safe_load(text.read_text(encoding="utf-8"))
    return table


@dataclass(frozen=True)
class Link:
    """A supply sent to a receiver: what :func:`evaluate` needs to know about it."""

    supply: Stream
    supplier: Company
    receiver: Company
    demand: Stream | None = None
    distance_km: float | None = None
    """Straight-line distance between the two sites (the road is longer by the circuity factor)."""
    class_id: str | None = None
    family: str | None = None
    use: str = ""
    substitution_ratio: float | None = None
    """Units of the displaced product per unit of the supply, where a source gives it."""
    region: str | None = None
    receiver_isic: str | None = None


@dataclass
class Term:
    name: str
    party: str  # supplier | receiver | shared
    usd_yr: Any = 0.0
    co2e_t_yr: Any = 0.0
    roles: tuple[str, ...] = ()
    basis: str = "flow"
    """What the term scales with: ``displaced`` (product replaced), ``disposal`` (supply kept from
    disposal), ``flow`` (the quantity moved), ``fixed`` (per link: pipes, transaction) or ``carbon``
    (the carbon price on the others). The optimizer reads per-unit values from these."""


@dataclass
class LinkImpact:
    supply: str
    receiver: str
    demand: str | None
    quantity: float | None
    unit: str
    product: str | None
    disposal: str | None
    terms: list[Term]
    capex_usd: Any
    annuity_usd_yr: Any
    supplier_usd_yr: Any
    receiver_usd_yr: Any
    net_benefit_usd_yr: Any
    co2e_avoided_t_yr: Any
    waste_diverted_t_yr: float
    water_saved_m3_yr: float
    virgin_material_saved_t_yr: float
    primary_energy_saved_mwh_yr: Any
    payback_years: Any
    npv_usd: Any
    missing: list[str]
    factors: dict[str, RoleValue]
    ratio: float = 1.0
    """Units of the displaced product per unit of the supply (the substitution ratio)."""
    costs_complete: bool = True
    """False when a cost (transport, pipe, distance) could not be counted."""
    assumptions: list[str] = field(default_factory=list)
    low: dict[str, float] = field(default_factory=dict)
    high: dict[str, float] = field(default_factory=dict)
    samples: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def viable(self) -> bool:
        """A symbiosis link worth doing: a positive net benefit with every cost counted (a gain that
        may be missing only makes the estimate conservative; a missing cost could hide a loss), and
        no more CO2e than without it (a link that raises emissions is trade, not symbiosis)."""
        return (
            self.costs_complete
            and self.net_benefit_usd_yr is not None
            and float(self.net_benefit_usd_yr) > 0
            and self.co2e_avoided_t_yr is not None
            and float(self.co2e_avoided_t_yr) >= 0
        )

    @property
    def sources(self) -> list[str]:
        """The factors.csv ids behind the numbers (``override`` where the user gave a value)."""
        return sorted({v.factor_id for v in self.factors.values()})

    def impact_block(self) -> dict[str, Any]:
        """The ``impact`` object of a match (CONTRACTS section 3)."""
        return {
            "net_benefit_usd_yr": _round(self.net_benefit_usd_yr, 0),
            "co2e_avoided_t_yr": _round(self.co2e_avoided_t_yr, 1),
            "waste_diverted_t_yr": _round(self.waste_diverted_t_yr, 1),
            "sources": self.sources,
        }

    def to_dict(self) -> dict[str, Any]:
        doc = {
            "supply": self.supply, "receiver": self.receiver, "demand": self.demand,
            "quantity": _round(self.quantity, 3), "unit": self.unit, "displaces": self.product,
            "disposal_avoided": self.disposal, "viable": self.viable,
            **self.impact_block(),
            "supplier_usd_yr": _round(self.supplier_usd_yr, 0), "receiver_usd_yr": _round(self.receiver_usd_yr, 0),
            "capex_usd": _round(self.capex_usd, 0), "payback_years": _round(self.payback_years, 2),
            "npv_usd": _round(self.npv_usd, 0), "water_saved_m3_yr": _round(self.water_saved_m3_yr, 1),
            "virgin_material_saved_t_yr": _round(self.virgin_material_saved_t_yr, 1),
            "primary_energy_saved_mwh_yr": _round(self.primary_energy_saved_mwh_yr, 1),
            "range": {
                "net_benefit_usd_yr": [_round(self.low.get("net"), 0), _round(self.high.get("net"), 0)],
                "co2e_avoided_t_yr": [_round(self.low.get("co2"), 1), _round(self.high.get("co2"), 1)],
            },
            "terms": [
                {"name": t.name, "party": t.party, "usd_yr": _round(t.usd_yr, 0), "co2e_t_yr": _round(t.co2e_t_yr, 2),
                 "factors": [self.factors[r].factor_id for r in t.roles if r in self.factors]}
                for t in self.terms
            ],
            "missing": self.missing, "assumptions": self.assumptions,
        }  # fmt: skip
        if self.samples:
            doc["monte_carlo"] = self.samples
        return doc


def _round(x: Any, digits: int) -> float | None:
    if x is None:
        return None
    v = float(x)
    return round(v, digits) if math.isfinite(v) else None


class _Values:
    """Role values for one evaluation: central, or the draws of a Monte Carlo run."""

    def __init__(self, roles: Roles, draws: Mapping[str, Any] | None) -> None:
        self.roles = roles
        self.draws = draws or {}
        self.used: dict[str, RoleValue] = {}

    def __call__(self, role: str) -> Any:
        rv = self.roles.get(role)
        if rv is None:
            return None
        self.used[role] = rv
        if rv.factor_id in self.draws:
            return self.draws[rv.factor_id] * rv.multiplier
        return rv.central


def _rules_for(class_id: str | None, family: str | None) -> dict[str, Any]:
    table = resource_table()
    out: dict[str, Any] = dict(table["families"].get(family or "", {}))
    out.update(table["classes"].get(class_id or "", {}))
    return out


def _product_for(
    rules: dict[str, Any], receiver_isic: str | None, fuel_use: bool
) -> tuple[str | None, bool]:
    """The displaced product (or None) and whether the rule was a fuel rule."""
    sector = receiver_isic or ""
    for rule in rules.get("displaces", []):
        if rule.get("fuel") and not fuel_use:
            continue
        prefixes = rule.get("receiver")
        if prefixes and not any(sector.startswith(str(p)) for p in prefixes):
            continue
        return rule.get("product"), bool(rule.get("fuel"))
    return None, False


def _annual(stream: Stream) -> float | None:
    """The stream's quantity per year: t/yr, m3/yr or MWh/yr."""
    q = stream.canonical_quantity()
    if q is None:
        return None
    return q * _hours_per_year() if stream.kind == "water" else q


ANNUAL_UNIT = {"material": "t/yr", "water": "m3/yr", "energy": "MWh/yr"}
PER_UNIT = {"material": "t", "water": "m3", "energy": "MWh"}


def _stream_money(stream: Stream | None, key: str, roles: Roles) -> float | None:
    """A price or disposal cost the company stated, in USD per canonical unit (t, m3, MWh)."""
    if stream is None:
        return None
    value = getattr(stream.properties, key)
    if value is None:
        return None
    currency = stream.properties.currency or "USD"
    rate = roles.rates.get(currency)
    if rate is None:
        raise SymbiolinkError(
            f"stream {stream.id}: no exchange rate for {currency} in the factor library "
            f"(accepted: {', '.join(sorted(roles.rates))})"
        )
    return float(value) * rate[0]


def _stated_disposal(s: Stream) -> str | None:
    """The supplier's own statement of where the stream goes today (``properties.disposal_route``)."""
    route = (s.properties.model_extra or {}).get("disposal_route")
    if route is None:
        return None
    accepted = [*resource_table()["disposal"], "none"]
    if route not in accepted:
        raise SymbiolinkError(
            f"stream {s.id}: properties.disposal_route {route!r} is not known "
            f"(accepted: {', '.join(accepted)})"
        )
    return str(route)


def evaluate(
    link: Link,
    roles: Roles,
    policy: Policy,
    *,
    draws: Mapping[str, Any] | None = None,
) -> LinkImpact:
    """Evaluate one link with central factor values, or with ``draws`` (factor id -> values)."""
    v = _Values(roles, draws)
    s, d = link.supply, link.demand
    missing: list[str] = []
    cost_gaps: list[str] = []  # a cost we could not count: the link cannot be called viable
    assumptions: list[str] = []
    terms: list[Term] = []
    rules = _rules_for(link.class_id, link.family)
    fuel_use = s.kind == "material" and (
        (d is not None and d.kind == "energy") or any(w in link.use.lower() for w in FUEL_WORDS)
    )
    product, is_fuel = _product_for(rules, link.receiver_isic, fuel_use)
    products = resource_table()["products"]
    pspec: dict[str, Any] = products.get(product, {}) if product else {}
    disposal = _stated_disposal(s) or rules.get("disposal")
    if disposal == "none":
        disposal = None
        assumptions.append(
            f"{s.id} is used or sold today (properties.disposal_route = none): no disposal avoided"
        )
    dspec: dict[str, Any] = resource_table()["disposal"].get(disposal, {}) if disposal else {}
    if disposal and not _stated_disposal(s):
        assumptions.append(
            f"without the link, {s.id} goes to {disposal.replace('_', ' ')} (the usual fate of "
            f"{(link.family or 'this resource').replace('_', ' ')}; a stated disposal_cost overrides the fee)"
        )
    if link.class_id is None:
        missing.append("what the supply is (no resource class recognised from its name or code)")

    q = _annual(s)
    if q is None:
        missing.append(
            f"the quantity of supply {s.id} (no quantity, or a unit that needs a density)"
        )
        q_val = 0.0
    else:
        q_val = q
    ratio = link.substitution_ratio
    if ratio is None:
        ratio = 1.0
        if product:
            assumptions.append(
                f"one {PER_UNIT.get(s.kind, 'unit')} of {s.id} replaces one of {product} (no ratio in the source)"
            )

    # Energy content of a material burnt as fuel, per tonne.
    ncv = None
    if is_fuel:
        fuel_spec = rules.get("fuel") or {}
        if s.properties.lhv_mj_kg is not None:
            ncv = s.properties.lhv_mj_kg / 3.6  # MJ/kg = GJ/t; 3.6 GJ per MWh
        elif fuel_spec.get("ncv"):
            ncv = v(fuel_spec["ncv"])
        if ncv is None:
            missing.append(f"the heating value of {s.id} (give properties.lhv_mj_kg)")

    # Flow: the supply, capped by what the demand asks for.
    flow = q_val
    if d is not None and (dq := _annual(d)) is not None:
        if d.kind == s.kind:
            flow = min(flow, dq / ratio)
        elif is_fuel and isinstance(ncv, float) and ncv > 0:
            flow = min(flow, dq / ncv / ratio)
    if q is not None and flow < q_val:
        assumptions.append(
            f"the demand takes {flow:.6g} of the {q_val:.6g} {ANNUAL_UNIT[s.kind]} offered"
        )

    heat_loss = 0.0
    piped = s.kind in ("energy", "water")
    if s.kind == "energy" and product == "boiler_heat":
        loss = v("heat_loss_share")
        if loss is None:
            missing.append("heat loss of the pipe")
        else:
            heat_loss = loss / 100.0
    delivered = flow * (1.0 - heat_loss)
    displaced = delivered * ratio if not is_fuel else None
    if is_fuel:
        displaced = flow * ncv * ratio if ncv is not None else None  # MWh of fuel replaced

    # ----------------------------------------------------------------- what the receiver avoids
    per_fuel: Any = None
    if product and displaced is not None:
        label = product.replace("_", " ")
        # Heat from a boiler: the library prices and emits per MWh of fuel, so each MWh of heat
        # counts 1 / efficiency of it. A price the receiver states is per MWh of heat already.
        per_fuel = 1.0
        if pspec.get("efficiency"):
            e = v(pspec["efficiency"])
            if e is None:
                missing.append(f"efficiency of the {label} replaced")
                per_fuel = None
            else:
                per_fuel = 100.0 / e
        stated = _stream_money(d, "price", roles)
        if stated is not None:
            terms.append(Term(f"{label} no longer bought (price stated by the receiver)", "receiver",
                              usd_yr=displaced * stated, basis="displaced"))  # fmt: skip
        elif not pspec.get("price") or (price := v(pspec["price"])) is None:
            missing.append(f"price of the {label} replaced (give the demand's properties.price)")
        elif per_fuel is not None:
            roles_used = (pspec["price"],) + (
                (pspec["efficiency"],) if pspec.get("efficiency") else ()
            )
            terms.append(Term(f"{label} no longer bought", "receiver", usd_yr=displaced * price * per_fuel,
                              roles=roles_used, basis="displaced"))  # fmt: skip
        emission_roles: tuple[str, ...] = ()
        # A production factor of the link's own region wins; failing that, the energy of supplying
        # the product at the local grid's intensity (fresh water), then a factor from elsewhere.
        own = roles.get(pspec["emission"]) if pspec.get("emission") else None
        if pspec.get("energy") and (own is None or own.other_region):
            pspec = {k: val for k, val in pspec.items() if k != "emission"}
        if pspec.get("emission"):
            ef = v(pspec["emission"])
            emission_roles = (pspec["emission"],)
            if ef is not None and pspec.get("credit_minus"):
                ef2 = v(pspec["credit_minus"])
                emission_roles += (pspec["credit_minus"],)
                ef = None if ef2 is None else ef - ef2
            if ef is not None and pspec.get("efficiency"):
                ef = None if per_fuel is None else ef * per_fuel
                emission_roles += (pspec["efficiency"],)
            if ef is None:
                missing.append(f"emissions of producing the {label} replaced")
            else:
                terms.append(Term(f"production of {label} avoided", "receiver",
                                  co2e_t_yr=displaced * ef, roles=emission_roles, basis="displaced"))  # fmt: skip
        elif pspec.get("energy"):
            energy = v(pspec["energy"])
            grid = v("grid_emission")
            if energy is None or grid is None:
                missing.append(f"energy of supplying the {product.replace('_', ' ')} replaced")
            else:
                terms.append(Term(f"energy of supplying {label} avoided", "receiver",
                                  co2e_t_yr=displaced * energy * grid, roles=(pspec["energy"], "grid_emission"), basis="displaced"))  # fmt: skip
        else:
            missing.append(
                f"emissions of producing the {product.replace('_', ' ')} replaced (no factor)"
            )
    elif product is None and link.class_id is not None:
        missing.append(
            "what the link displaces (no product recorded for this resource and receiver)"
        )

    # ----------------------------------------------------------------- what the supplier avoids
    diverted = 0.0
    if dspec.get("landfill") or dspec.get("diverted"):
        diverted = flow if s.kind == "material" else 0.0
    if disposal:
        fee = _stream_money(s, "disposal_cost", roles)
        fee_roles: tuple[str, ...] = ()
        if fee is None and dspec.get("fee"):
            fee = v(dspec["fee"])
            fee_roles = (dspec["fee"],)
            if fee is None:
                missing.append(
                    f"the {disposal.replace('_', ' ')} fee (give the supply's properties.disposal_cost)"
                )
        if fee is not None:
            terms.append(
                Term(
                    f"{disposal.replace('_', ' ')} fee avoided",
                    "supplier",
                    usd_yr=flow * fee,
                    roles=fee_roles,
                    basis="disposal",
                )
            )
        if dspec.get("landfill"):
            tax = v("landfill_tax")
            if tax is not None and _stream_money(s, "disposal_cost", roles) is None:
                terms.append(
                    Term(
                        "statutory landfill tax avoided",
                        "supplier",
                        usd_yr=flow * tax,
                        roles=("landfill_tax",),
                        basis="disposal",
                    )
                )
            if policy.landfill_tax_usd_t:
                terms.append(
                    Term(
                        "policy: landfill tax avoided",
                        "supplier",
                        usd_yr=flow * policy.landfill_tax_usd_t,
                        basis="disposal",
                    )
                )
        if dspec.get("emission"):
            ef = v(dspec["emission"])
            if ef is None:
                missing.append(f"emissions of {disposal.replace('_', ' ')}")
            else:
                terms.append(Term(f"{disposal.replace('_', ' ')} emissions avoided", "supplier",
                                  co2e_t_yr=flow * ef, roles=(dspec["emission"],), basis="disposal"))  # fmt: skip
    if diverted and policy.subsidy_usd_t:
        terms.append(
            Term(
                "policy: subsidy per tonne diverted",
                "supplier",
                usd_yr=diverted * policy.subsidy_usd_t,
                basis="disposal",
            )
        )

    # Fossil CO2 of burning a fossil-derived waste (biogenic CO2 counts zero, as in IPCC inventories).
    if is_fuel and ncv is not None and (rules.get("fuel") or {}).get("fossil_co2"):
        ef = v(rules["fuel"]["fossil_co2"])
        if ef is None:
            missing.append(f"fossil CO2 of burning {s.id}")
        else:
            terms.append(Term("fossil CO2 of burning the waste", "receiver", co2e_t_yr=-flow * ncv * ef,
                              roles=(rules["fuel"]["fossil_co2"],)))  # fmt: skip

    # ----------------------------------------------------------------- sale between the two
    sale = _stream_money(s, "price", roles)
    if sale is not None and flow:
        terms.append(Term("sale of the stream", "supplier", usd_yr=flow * sale))
        terms.append(Term("purchase of the stream", "receiver", usd_yr=-flow * sale))

    # ----------------------------------------------------------------- getting it there
    capex: Any = 0.0
    annuity: Any = 0.0
    circuity = v("road_circuity")
    if link.distance_km is None:
        cost_gaps.append("distance between the two sites (no coordinates)")
        route_km = None
    else:
        if circuity is None:
            circuity = 1.0
            missing.append("road circuity factor (straight-line distance used)")
        route_km = link.distance_km * circuity
    if route_km is not None and not piped:
        cost = v(f"{policy.transport_mode}_cost")
        if cost is None:
            cost_gaps.append(f"{policy.transport_mode} transport cost per t-km")
        else:
            terms.append(Term(f"{policy.transport_mode} transport", "receiver", usd_yr=-flow * route_km * cost,
                              roles=(f"{policy.transport_mode}_cost", "road_circuity")))  # fmt: skip
        ef = v(f"{policy.transport_mode}_emission")
        if ef is None:
            missing.append(f"{policy.transport_mode} transport emissions per t-km")
        else:
            terms.append(Term(f"{policy.transport_mode} transport emissions", "receiver",
                              co2e_t_yr=-flow * route_km * ef,
                              roles=(f"{policy.transport_mode}_emission", "road_circuity")))  # fmt: skip
    pv_factor = None
    if piped and route_km is not None and flow > 0:
        rate = (
            policy.discount_rate_pct if policy.discount_rate_pct is not None else v("discount_rate")
        )
        lifetime = (
            policy.lifetime_years if policy.lifetime_years is not None else v("pipe_lifetime")
        )
        pipe_role = "heat_pipe_cost" if s.kind == "energy" else "water_pipe_cost"
        per_m = v(pipe_role)
        if s.kind == "energy" and product not in ("boiler_heat",):
            per_m = None  # electricity and fuel gases: no pipe cost in the library
        if per_m is None:
            cost_gaps.append(
                f"capital cost of the {'heat' if s.kind == 'energy' else 'water'} pipe"
            )
        else:
            capex = route_km * 1000.0 * per_m * (1.0 - policy.capex_tax_credit_pct / 100.0)
            if rate is None or lifetime is None:
                cost_gaps.append("discount rate or pipe lifetime (to annualise the pipe)")
            else:
                r = rate / 100.0
                pv_factor = (
                    (1 - (1 + r) ** (-lifetime)) / r if np.all(np.asarray(r) > 0) else lifetime
                )
                annuity = capex / pv_factor
                terms.append(Term("pipe: capital charge", "receiver", usd_yr=-annuity,
                                  roles=(pipe_role, "discount_rate", "pipe_lifetime"), basis="fixed"))  # fmt: skip
            om = v("pipe_om_share")
            if om is None:
                cost_gaps.append("upkeep of the pipe")
            else:
                terms.append(Term("pipe: operation and maintenance", "receiver",
                                  usd_yr=-route_km * 1000.0 * per_m * om / 100.0,
                                  roles=(pipe_role, "pipe_om_share"), basis="fixed"))  # fmt: skip
    if policy.transaction_cost_usd_yr:
        terms.append(
            Term(
                "transaction costs", "shared", usd_yr=-policy.transaction_cost_usd_yr, basis="fixed"
            )
        )

    # ----------------------------------------------------------------- carbon price
    if policy.carbon_price_usd_t:
        for party in ("supplier", "receiver"):
            co2 = sum((t.co2e_t_yr for t in terms if t.party == party), 0.0)
            if np.any(np.asarray(co2) != 0):
                terms.append(
                    Term(
                        f"policy: carbon price on CO2e ({party})",
                        party,
                        usd_yr=co2 * policy.carbon_price_usd_t,
                        basis="carbon",
                    )
                )

    def total(party: str | None = None) -> Any:
        out: Any = 0.0
        for t in terms:
            share = 0.5 if t.party == "shared" and party else 1.0
            if party is None or t.party in (party, "shared"):
                out = out + t.usd_yr * share
        return out

    supplier = total("supplier")
    receiver = total("receiver")
    net = total()
    co2 = sum((t.co2e_t_yr for t in terms), 0.0)
    before_capital = net + annuity
    payback: Any = None
    npv: Any = None
    if pv_factor is not None:
        npv = before_capital * pv_factor - capex
        # Years for the yearly gain before the capital charge to repay the investment (never: inf).
        gain = np.asarray(before_capital, dtype=float)
        years = np.where(gain > 0, capex / np.where(gain > 0, gain, 1.0), np.inf)
        payback = years if np.ndim(years) else float(years)
    # Energy no longer used: the fuel a boiler would burn for the heat, the fuel or grid power replaced.
    primary: Any = 0.0
    if pspec.get("per") == "MWh" and displaced is not None:
        primary = displaced * (
            per_fuel if pspec.get("efficiency") and per_fuel is not None else 1.0
        )
    if q is None:
        net = supplier = receiver = co2 = None
    return LinkImpact(
        supply=s.id, receiver=link.receiver.id, demand=d.id if d else None,
        quantity=flow if q is not None else None, unit=ANNUAL_UNIT[s.kind], product=product, disposal=disposal,
        terms=terms, capex_usd=capex, annuity_usd_yr=annuity, supplier_usd_yr=supplier, receiver_usd_yr=receiver,
        net_benefit_usd_yr=net, co2e_avoided_t_yr=co2, waste_diverted_t_yr=diverted,
        water_saved_m3_yr=delivered if product == "fresh_water" else 0.0,
        virgin_material_saved_t_yr=displaced if (displaced is not None and pspec.get("per") == "t") else 0.0,
        primary_energy_saved_mwh_yr=primary, payback_years=payback, npv_usd=npv,
        missing=list(dict.fromkeys(cost_gaps + missing)), costs_complete=not cost_gaps, ratio=ratio,
        factors=dict(v.used), assumptions=assumptions,
    )  # fmt: skip
