"""Indicators of a park that the platform computes from its registry and links.

Each indicator says how it was computed (its basis), so a park manager can check it. Indicators the
registry cannot hold (renewable share, intensities) come from the park's evidence file or are
unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from symbiolink.analytics.links import NetLink
from symbiolink.codes.ewc import ewc_lookup
from symbiolink.matching.rules import HAZARDOUS_RECEIVERS
from symbiolink.model.park import ParkFile

#: Computed keys, with what they mean and their unit.
COMPUTED: dict[str, tuple[str, str]] = {
    "symbiosis_links": ("operating symbiosis links among the park's enterprises", "count"),
    "enterprises_in_symbiosis_share": (
        "share of the park's enterprises with at least one link",
        "%",
    ),
    "wastewater_reuse_share": (
        "share of the park's effluent (stated water supplies) reused by a link",
        "%",
    ),
    "waste_recovery_share": (
        "share of the park's solid wastes and by-products (stated material supplies) sent to a user",
        "%",
    ),
    "hazardous_waste_managed_share": (
        "share of the park's hazardous wastes sent to a permitted treatment or recovery sector",
        "%",
    ),
}
#: Keys only the park's own evidence can give (the registry holds no energy balance or output).
FROM_EVIDENCE: dict[str, tuple[str, str]] = {
    "renewable_energy_share": ("share of energy use from renewable sources", "%"),
    "ghg_intensity": ("greenhouse-gas emissions per unit of output", "t CO2e per unit"),
    "water_intensity": ("water use per unit of output", "m3 per unit"),
    "energy_intensity": ("energy use per unit of output", "MWh per unit"),
}
KEYS = {**COMPUTED, **FROM_EVIDENCE}


@dataclass
class Indicator:
    key: str
    value: float | None
    unit: str
    basis: str
    """How the value was found: the numbers behind it, or the document it comes from."""

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def _hazardous(stream: Any) -> bool:
    if stream.ewc:
        code = ewc_lookup(stream.ewc)
        return bool(code and code.hazardous) or stream.ewc.strip().endswith("*")
    return False


def _share(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole > 0 else None


def compute(
    park: ParkFile, park_id: str, links: Sequence[NetLink], evidence: dict[str, Any] | None = None
) -> dict[str, Indicator]:
    """Every indicator of park ``park_id``: computed from its streams and ``links``, or from
    ``evidence`` (``{"indicators": {key: value or {value, document}}}``)."""
    members = {c.id for c in park.companies if c.park == park_id}
    sectors = {c.id: c.sector_isic() for c in park.companies}
    supplies = [s for s in park.streams if s.company in members and s.direction == "supply"]
    inside = [x for x in links if x.supplier in members and x.receiver in members]
    touching = [x for x in links if x.supplier in members or x.receiver in members]
    linked_supplies = {x.supply for x in touching}
    out: dict[str, Indicator] = {}

    out["symbiosis_links"] = Indicator(
        "symbiosis_links", float(len(inside)), "count",
        f"{len(inside)} links between two of the park's {len(members)} enterprises "
        f"({len(touching) - len(inside)} more with partners outside the park)",
    )  # fmt: skip
    active = {x.supplier for x in touching} | {x.receiver for x in touching}
    n_active = len(active & members)
    out["enterprises_in_symbiosis_share"] = Indicator(
        "enterprises_in_symbiosis_share", _share(n_active, len(members)), "%",
        f"{n_active} of {len(members)} enterprises give or take through a link",
    )  # fmt: skip
    for key, kind, unit in (
        ("wastewater_reuse_share", "water", "m3/h"),
        ("waste_recovery_share", "material", "t/yr"),
    ):
        stated = [(s, s.canonical_quantity()) for s in supplies if s.kind == kind]
        known = [(s, q) for s, q in stated if q is not None]
        total = sum(q for _, q in known)
        reused = sum(q for s, q in known if s.id in linked_supplies)
        unknown = len(stated) - len(known)
        out[key] = Indicator(
            key, _share(reused, total), "%",
            f"{reused:,.6g} of {total:,.6g} {unit} in {len(known)} {kind} supplies go to a user"
            + (f"; {unknown} more supplies state no quantity and are left out" if unknown else ""),
        )  # fmt: skip
    hazardous = [
        (s, s.canonical_quantity()) for s in supplies if s.kind == "material" and _hazardous(s)
    ]
    permitted = {
        x.supply for x in touching
        if (sectors.get(x.receiver) or "").startswith(HAZARDOUS_RECEIVERS)
    }  # fmt: skip
    total_h = sum(q or 0.0 for _, q in hazardous)
    managed = sum(q or 0.0 for s, q in hazardous if s.id in permitted)
    out["hazardous_waste_managed_share"] = Indicator(
        "hazardous_waste_managed_share", _share(managed, total_h), "%",
        f"{managed:,.6g} of {total_h:,.6g} t/yr of {len(hazardous)} hazardous supplies go to a permitted sector "
        f"(ISIC {', '.join(HAZARDOUS_RECEIVERS)})",
    )  # fmt: skip
    given = (evidence or {}).get("indicators", {}) or {}
    for key, (label, unit) in FROM_EVIDENCE.items():
        item = given.get(key)
        if isinstance(item, dict):
            value, doc = item.get("value"), item.get("document", "the park's evidence file")
        else:
            value, doc = item, "the park's evidence file"
        out[key] = Indicator(
            key, None if value is None else float(value), unit,
            f"stated in {doc}" if value is not None else f"not known: the registry holds no {label}; state it in the evidence file",
        )  # fmt: skip
    for key, item in given.items():
        if key in COMPUTED and item is not None:
            value = item.get("value") if isinstance(item, dict) else item
            doc = (
                item.get("document", "the park's evidence file")
                if isinstance(item, dict)
                else "the park's evidence file"
            )
            if value is None:
                continue
            out[key] = Indicator(
                key,
                float(value),
                COMPUTED[key][1],
                f"stated in {doc} (instead of the registry's {out[key].value})",
            )
    return out
