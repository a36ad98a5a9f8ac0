"""Factors by role: which number of the library the accounting uses for what, in which region.

``data/factors/roles.yaml`` names, for each role (``landfill_fee``, ``gas_emission`` ...), the unit
the accounting computes in and the factor to use per region. :class:`Roles` resolves a role for a
region and converts the factor to the role's unit, currencies included (at the library's newest
exchange rates). A role without a factor resolves to ``None``: the accounting then reports the term
it could not compute rather than invent a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from symbiolink.accounting.factors import Factor, FactorLibrary, _pint_unit, factor_units
from symbiolink.errors import SymbiolinkError

#: Member states of the European Union (ISO 3166-1 alpha-2), for the EU fallback.
EU_MEMBERS = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip
CURRENCIES = ("VND", "EUR", "DKK")
_GASES = ("CO2", "CH4", "N2O")


@dataclass(frozen=True, slots=True)
class RoleValue:
    """A factor resolved for a role: its numbers converted to the role's unit."""

    role: str
    unit: str
    central: float
    low: float | None
    high: float | None
    factor_id: str
    """The factors.csv row, or ``override`` when the user gave the value."""
    factor_region: str
    source: str
    multiplier: float
    """Converts the factor's own unit to the role's (a draw of the factor times this)."""
    other_region: bool = False


@cache
def role_table() -> dict[str, dict[str, Any]]:
    text = (
        resources.files("symbiolink").joinpath("data", "factors", "roles.yaml").read_text("utf-8")
    )
    table: dict[str, dict[str, Any]] = yaml.safe_load(text)
    return table


def _newest(library: FactorLibrary, item_contains: str) -> Factor | None:
    found = library.find("currency", item_contains=item_contains)
    return found[0] if found else None


def usd_rates(library: FactorLibrary) -> dict[str, tuple[float, str]]:
    """USD per unit of each currency, from the newest rates in the library, with the factor ids."""
    rates: dict[str, tuple[float, str]] = {"USD": (1.0, "")}
    vnd = _newest(library, "USD/VND")
    eur = _newest(library, "EUR/USD")
    dkk = _newest(library, "EUR/DKK")
    if vnd:
        rates["VND"] = (1.0 / vnd.central, vnd.id)
    if eur:
        rates["EUR"] = (eur.central, eur.id)
        if dkk:
            rates["DKK"] = (eur.central / dkk.central, f"{dkk.id}+{eur.id}")
    return rates


def conversion(unit: str, target: str, rates: dict[str, tuple[float, str]]) -> float:
    """The number that turns a value in ``unit`` into ``target`` (currencies at ``rates``; CO2 and
    CO2e are both counted as CO2e).

    Examples
    --------
    >>> conversion("VND / m3", "USD / m3", {"USD": (1.0, ""), "VND": (1 / 25000, "")})
    4e-05
    >>> round(conversion("kg CO2 / TJ", "t CO2e / MWh", {"USD": (1.0, "")}), 7)
    3.6e-06
    """
    ureg = factor_units()
    q = ureg.Quantity(1.0, _pint_unit(unit))
    for token in CURRENCIES:
        exponent = q.dimensionality.get(f"[{token.lower()}]", 0)
        if exponent:
            if token not in rates:
                raise SymbiolinkError(f"no exchange rate for {token} in the factor library")
            q = q * (ureg.Quantity(rates[token][0], f"USD / {token}") ** exponent)
    for gas in _GASES:
        exponent = q.dimensionality.get(f"[{gas.lower()}]", 0)
        if exponent:
            # Counted as CO2e at face value: the library's CH4/N2O rows are used with their own GWP
            # by the accounting, never through this conversion.
            q = q * (ureg.Quantity(1.0, f"CO2e / {gas}") ** exponent)
    try:
        return float(q.to(_pint_unit(target)).magnitude)
    except Exception as exc:  # pint's DimensionalityError and friends
        raise SymbiolinkError(f"cannot convert {unit!r} to {target!r}: {exc}") from None


class Roles:
    """Resolves roles to converted factor values for one region, with user overrides.

    ``overrides`` maps a role name (value in the role's unit) or a factor id (value in the factor's
    own unit) to a number.
    """

    def __init__(
        self,
        library: FactorLibrary,
        region: str | None,
        overrides: dict[str, float] | None = None,
    ) -> None:
        self.library = library
        self.region = (region or "").upper()
        self.overrides = dict(overrides or {})
        self.rates = usd_rates(library)
        self._cache: dict[str, RoleValue | None] = {}
        unknown = [k for k in self.overrides if k not in role_table() and k not in library.factors]
        if unknown:
            raise SymbiolinkError(
                f"factor override {', '.join(sorted(unknown))}: not a role of roles.yaml nor a factor "
                "id of factors.csv"
            )

    def get(self, role: str) -> RoleValue | None:
        if role not in self._cache:
            self._cache[role] = self._resolve(role)
        return self._cache[role]

    def _resolve(self, role: str) -> RoleValue | None:
        spec = role_table().get(role)
        if spec is None:
            raise SymbiolinkError(f"unknown factor role {role!r}")
        unit = str(spec["unit"])
        if role in self.overrides:
            v = float(self.overrides[role])
            return RoleValue(
                role, unit, v, None, None, "override", self.region, "user override", 1.0
            )
        factor, other = self._pick(spec)
        if factor is None:
            return None
        mult = conversion(factor.unit, unit, self.rates)
        central = float(self.overrides.get(factor.id, factor.central))
        overridden = factor.id in self.overrides
        return RoleValue(
            role=role,
            unit=unit,
            central=central * mult,
            low=None if overridden or factor.low is None else factor.low * mult,
            high=None if overridden or factor.high is None else factor.high * mult,
            factor_id=factor.id,
            factor_region=factor.region,
            source="user override" if overridden else factor.source,
            multiplier=mult,
            other_region=other,
        )

    def _pick(self, spec: dict[str, Any]) -> tuple[Factor | None, bool]:
        by_region: dict[str, str] = {str(k): str(v) for k, v in (spec.get("factors") or {}).items()}
        for region in self._regions():
            if region in by_region:
                return self.library.get(by_region[region]), False
            if "series" in spec:
                series = self.library.series(str(spec["series"]), region)
                if series:
                    return series[max(series)], False
        if by_region and spec.get("fallback", not _is_money(str(spec["unit"]))):
            first = next(iter(by_region.values()))
            return self.library.get(first), True
        return None, False

    def _regions(self) -> list[str]:
        """The link's country, the EU for a member state, then GLOBAL: none of them is "another
        region"."""
        out = [self.region] if self.region else []
        if self.region in EU_MEMBERS:
            out.append("EU")
        out.append("GLOBAL")
        return out


def _is_money(unit: str) -> bool:
    """Prices and fees are local: a role in money takes no factor from another region unless
    roles.yaml says ``fallback: true`` (commodities traded across borders)."""
    return any(tok in unit.split() for tok in ("USD", *CURRENCIES))


def check_role_table(library: FactorLibrary) -> list[str]:
    """Problems of roles.yaml: unknown factor ids, units that do not convert."""
    problems: list[str] = []
    rates = usd_rates(library)
    for role, spec in role_table().items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", role):
            problems.append(f"roles.yaml: {role!r} is not a snake_case name")
        if "unit" not in spec:
            problems.append(f"roles.yaml: {role} has no unit")
            continue
        ids = [str(v) for v in (spec.get("factors") or {}).values()]
        if "series" in spec:
            ids += [f.id for f in library.find(str(spec["series"]))]
        for fid in ids:
            if fid not in library.factors:
                problems.append(f"roles.yaml: {role} names {fid!r}, which is not in factors.csv")
                continue
            try:
                conversion(library.factors[fid].unit, str(spec["unit"]), rates)
            except SymbiolinkError as exc:
                problems.append(f"roles.yaml: {role} ({fid}): {exc}")
    return problems
