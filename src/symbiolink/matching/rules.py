"""Hard rules: a candidate that breaks one is never proposed, whatever its score.

Each rule returns ``None`` if the pair may go ahead, or the reason it may not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symbiolink.model.park import Stream

#: ISIC Rev.4 classes whose activity is to take hazardous waste (treatment, recovery) or that are
#: permitted co-processors under the Basel Convention technical guidelines on co-processing in
#: cement kilns (UNEP 2011, UNEP/CHW.10/6/Add.3/Rev.1): cement (2394); and zinc recovery from EAF dust
#: in non-ferrous smelting (2420; EU BREF for the non-ferrous metals industries, 2017).
HAZARDOUS_RECEIVERS: tuple[str, ...] = ("3822", "3830", "2394", "2420")
HAZARDOUS_RECEIVERS_SOURCE = "UNEP/CHW.10/6/Add.3/Rev.1 (2011); EU NFM BREF (2017); ISIC Rev.4 3822"


@dataclass(frozen=True)
class Limits:
    """Configurable limits of matching."""

    min_approach_k: float = 10.0
    """A heat supply must be at least this much hotter than the need."""
    max_distance_km: dict[str, float] = field(
        default_factory=lambda: {"energy": 5.0, "water": 15.0, "material": 200.0}
    )
    hazardous_receivers: tuple[str, ...] = HAZARDOUS_RECEIVERS
    hazardous_by_process: bool = True
    """A hazardous waste may also go to a company whose name names a process that takes it in
    as a recovery operation (``processes.yaml``, Annex II of Directive 2008/98/EC), which it then
    needs a permit for."""


def kinds_fit(supply_kind: str, demand_kind: str) -> bool:
    """A material may meet an energy need as fuel; heat never meets a material need.

    Examples
    --------
    >>> kinds_fit("material", "energy"), kinds_fit("energy", "material"), kinds_fit("water", "water")
    (True, False, True)
    """
    if supply_kind == demand_kind:
        return True
    return supply_kind == "material" and demand_kind == "energy"


def temperature_problem(supply: Stream, demand: Stream, limits: Limits) -> str | None:
    """Heat (and warm water) must be hotter than the need plus the minimum approach."""
    if supply.kind == "material" or demand.kind == "material":
        return None
    ts, td = supply.properties.temperature_c, demand.properties.temperature_c
    if ts is None or td is None:
        return None
    if supply.kind == "energy" and ts < td + limits.min_approach_k:
        return f"{ts:g} C is not hot enough for a {td:g} C need (minimum approach {limits.min_approach_k:g} K)"
    if supply.kind == "water" and demand.kind == "energy" and ts < td + limits.min_approach_k:
        return f"{ts:g} C water cannot supply {td:g} C heat"
    return None


def contaminant_problem(supply: Stream, demand: Stream) -> str | None:
    """A water demand's limits: the supply must state each limited contaminant, within the limit."""
    limits = demand.properties.max_contaminants or {}
    if supply.kind != "water" or not limits:
        return None
    have = supply.properties.contaminants or {}
    for name, limit in sorted(limits.items()):
        if name not in have:
            return f"{name} is limited to {limit:g} mg/L but the supply does not state it"
        if have[name] > limit:
            return f"{name} {have[name]:g} mg/L is over the {limit:g} mg/L limit"
    return None


def hazardous_problem(hazardous: bool, receiver_isic: str | None, limits: Limits) -> str | None:
    if not hazardous:
        return None
    if receiver_isic and receiver_isic.startswith(limits.hazardous_receivers):
        return None
    return "hazardous waste may only go to a permitted treatment, recovery or co-processing sector"


def haversine_km(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float | None:
    """Great-circle distance; ``None`` if either place is unknown.

    Examples
    --------
    >>> round(haversine_km((55.68, 11.09), (55.66, 11.08)), 2)
    2.31
    """
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0088 * 2 * math.asin(min(1.0, math.sqrt(h)))


def haversine_many(here: tuple[float, float], places: np.ndarray) -> np.ndarray:
    """Great-circle distances (km) from one place to an array of (lat, lon) rows; the same formula
    as :func:`haversine_km`.

    Examples
    --------
    >>> [round(float(d), 2) for d in haversine_many((55.68, 11.09), np.array([[55.66, 11.08], [55.68, 11.09]]))]
    [2.31, 0.0]
    """
    lat1, lon1 = math.radians(here[0]), math.radians(here[1])
    lat2, lon2 = np.radians(places[:, 0]), np.radians(places[:, 1])
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    out: np.ndarray = 6371.0088 * 2 * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return out


def haversine_rows(heres: np.ndarray, places: np.ndarray) -> np.ndarray:
    """Great-circle distances (km) from each of several places to each of an array of places, as
    a (heres x places) array: row ``i`` is ``haversine_many(heres[i], places)``, to the last bit.

    Examples
    --------
    >>> here, there = np.array([[55.68, 11.09], [55.66, 11.08]]), np.array([[55.66, 11.08]])
    >>> [[round(float(d), 2) for d in row] for row in haversine_rows(here, there)]
    [[2.31], [0.0]]
    """
    lat1, lon1 = np.radians(heres[:, :1]), np.radians(heres[:, 1:])
    # math.cos, as haversine_many takes it, for the same last bit
    cos1 = np.array([math.cos(x) for x in lat1[:, 0]]).reshape(-1, 1)
    lat2, lon2 = np.radians(places[:, 0]), np.radians(places[:, 1])
    h = np.sin((lat2 - lat1) / 2) ** 2 + cos1 * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    out: np.ndarray = 6371.0088 * 2 * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return out


def supply_key(supply: Stream) -> tuple[Any, ...]:
    """What the rules between a supply and a demand read of the supply: supplies with the same key
    may meet the same demands.

    Examples
    --------
    >>> from symbiolink.model.park import Stream
    >>> s = Stream(id="s", company="c", direction="supply", kind="material", name="Slag")
    >>> supply_key(s)
    ('material', None, None)
    """
    p = supply.properties
    return (
        supply.kind,
        None if supply.kind == "material" else p.temperature_c,
        tuple(sorted((p.contaminants or {}).items())) if supply.kind == "water" else None,
    )
