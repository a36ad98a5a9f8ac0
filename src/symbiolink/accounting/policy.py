"""Policy levers and evaluation settings, from a YAML file (``evaluate --policy POLICY.yaml``).

Examples
--------
>>> p = policy_from_mapping({"landfill_tax_usd_t": 20, "carbon_price_usd_t": 50})
>>> (p.landfill_tax_usd_t, p.carbon_price_usd_t, p.subsidy_usd_t)
(20.0, 50.0, 0.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from symbiolink.errors import SymbiolinkError, load_yaml_file

#: The levers of CONTRACTS section 5 (a scenario grid varies these).
LEVERS = ("landfill_tax_usd_t", "subsidy_usd_t", "capex_tax_credit_pct", "carbon_price_usd_t")
MODES = ("truck",)


@dataclass(frozen=True)
class Policy:
    """Levers a government can pull, and the settings of an evaluation.

    All default to no policy: the money is what the companies see today.
    """

    landfill_tax_usd_t: float = 0.0
    """Added landfill tax per tonne, on top of any statutory tax in the factor library."""
    subsidy_usd_t: float = 0.0
    """Paid to the supplier per tonne kept from disposal."""
    capex_tax_credit_pct: float = 0.0
    """Share of the capital cost (pipes) returned as a tax credit."""
    carbon_price_usd_t: float = 0.0
    """Value of a tonne of CO2e avoided (or cost of one caused) to the party concerned."""
    discount_rate_pct: float | None = None
    """Real discount rate; the factor library's default if absent."""
    lifetime_years: float | None = None
    """Economic life of pipes; the factor library's default if absent."""
    transaction_cost_usd_yr: float = 0.0
    """Yearly cost of arranging and running an exchange (contracts, testing), shared equally."""
    transport_mode: str = "truck"
    factors: dict[str, float] = field(default_factory=dict)
    """Overrides: a role of roles.yaml (in its unit) or a factor id of factors.csv (in its unit)."""
    parks: dict[str, dict[str, float]] = field(default_factory=dict)
    """Overrides for one park only (by park id), on top of ``factors``."""

    def overrides_for(self, park: str | None) -> dict[str, float]:
        """The factor overrides that apply to links whose supplier is in ``park``."""
        return {**self.factors, **self.parks.get(park or "", {})}

    def roles(
        self, library: Any, region: str | None, park: str | None, cache: dict[Any, Any]
    ) -> Any:
        """The :class:`~symbiolink.accounting.roles.Roles` of a region and park (cached in ``cache``)."""
        from symbiolink.accounting.roles import Roles

        key = (region, park if park in self.parks else None)
        if key not in cache:
            cache[key] = Roles(library, region, self.overrides_for(park))
        return cache[key]

    def with_levers(self, **levers: float) -> Policy:
        """The same policy with some levers set (a scenario grid point)."""
        unknown = set(levers) - set(LEVERS)
        if unknown:
            raise SymbiolinkError(
                f"unknown policy lever {', '.join(sorted(unknown))} (accepted: {', '.join(LEVERS)})"
            )
        changes: dict[str, Any] = {k: float(v) for k, v in levers.items()}
        return replace(self, **changes)


_NUMBERS = {f.name for f in fields(Policy)} - {"transport_mode", "factors", "parks"}
_PERCENT = {"capex_tax_credit_pct", "discount_rate_pct"}


def policy_from_mapping(doc: Any, where: str = "policy") -> Policy:
    """A :class:`Policy` from a parsed YAML/JSON mapping; every problem names the key."""
    if doc is None:
        return Policy()
    if not isinstance(doc, dict):
        raise SymbiolinkError(f"{where}: expected a mapping of lever names to numbers")
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, value in doc.items():
        if key in _NUMBERS:
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                problems.append(f"{where}: {key} = {value!r} is not a number")
                continue
            if value < 0:
                problems.append(f"{where}: {key} = {value} is negative")
                continue
            if key in _PERCENT and value > 100:
                problems.append(f"{where}: {key} = {value} is over 100 (a percentage)")
                continue
            if key == "lifetime_years" and value == 0:
                problems.append(f"{where}: lifetime_years must be above 0")
                continue
            values[key] = float(value)
        elif key == "transport_mode":
            if value not in MODES:
                problems.append(f"{where}: transport_mode {value!r} (accepted: {', '.join(MODES)})")
            else:
                values[key] = value
        elif key == "factors":
            if not isinstance(value, dict):
                problems.append(f"{where}: factors must map a role or factor id to a number")
                continue
            for fid, number in value.items():
                if (
                    isinstance(number, bool)
                    or not isinstance(number, int | float)
                    or not math.isfinite(number)
                ):
                    problems.append(f"{where}: factors.{fid} = {number!r} is not a number")
            values[key] = {str(k): float(v) for k, v in value.items() if isinstance(v, int | float)}
        elif key == "parks":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                problems.append(f"{where}: parks must map a park id to its own factor overrides")
                continue
            parks: dict[str, dict[str, float]] = {}
            for park_id, overrides in value.items():
                for fid, number in overrides.items():
                    if (
                        isinstance(number, bool)
                        or not isinstance(number, int | float)
                        or not math.isfinite(number)
                    ):
                        problems.append(
                            f"{where}: parks.{park_id}.{fid} = {number!r} is not a number"
                        )
                parks[str(park_id)] = {
                    str(k): float(v) for k, v in overrides.items() if isinstance(v, int | float)
                }
            values[key] = parks
        else:
            accepted = ", ".join(sorted(_NUMBERS | {"transport_mode", "factors", "parks"}))
            problems.append(f"{where}: unknown key {key!r} (accepted: {accepted})")
    if problems:
        raise SymbiolinkError("; ".join(problems))
    return Policy(**values)


def load_policy(path: str | Path) -> Policy:
    """Read a policy YAML file."""
    return policy_from_mapping(load_yaml_file(path), where=str(path))
