"""Quantities of streams: parse what the user wrote, check it fits the kind, normalise it.

A stream's quantity is a *rate*: mass, volume or energy per time, or a power. Each kind has one
canonical unit that the rest of symbiolink computes in (:data:`CANONICAL_UNIT`); the user's own value
and unit are kept beside it for display and export.

Notes
-----
pint's ``year`` is the Julian year (365.25 days, 8766 h); conversions between per-hour and per-year
rates use it. Water given by mass (``t/h``) is converted at 1 t per m3, the density of water that
process-integration studies use (e.g. Wang and Smith 1994). ``ton`` in pint is the US short ton, so it
is accepted with a warning; write ``t`` for tonnes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import pint

Kind = Literal["material", "energy", "water"]
Dimension = Literal["mass_rate", "volume_rate", "energy_rate"]

#: The unit each kind is normalised to.
CANONICAL_UNIT: dict[str, str] = {"material": "t/yr", "water": "m3/h", "energy": "MWh/yr"}

#: Rates each kind accepts, in the order they are explained to users.
ACCEPTED_DIMENSIONS: dict[str, tuple[Dimension, ...]] = {
    "material": ("mass_rate", "volume_rate"),
    "water": ("volume_rate", "mass_rate"),
    "energy": ("energy_rate",),
}

DIMENSION_WORDS: dict[Dimension, str] = {
    "mass_rate": "a mass per time (t/yr, kg/day, t/h)",
    "volume_rate": "a volume per time (m3/h, m3/yr, L/s)",
    "energy_rate": "an energy per time or a power (MWh/yr, GJ/month, kW, MW)",
}

#: Units offered in the spreadsheet template's drop-down lists.
COMMON_UNITS: tuple[str, ...] = (
    "t/yr", "t/month", "t/day", "t/h", "kg/day", "kg/h",
    "m3/yr", "m3/month", "m3/day", "m3/h", "L/s",
    "MWh/yr", "GWh/yr", "GJ/yr", "GJ/month", "kW", "MW",
)  # fmt: skip

_WATER_DENSITY_T_PER_M3 = 1.0


@lru_cache(maxsize=1)
def registry() -> Any:
    """The shared unit registry, with ``m3``-style exponents and normal cubic metres."""
    ureg: Any = pint.UnitRegistry(
        preprocessors=[
            lambda s: re.sub(r"\bNm3\b", "normal_cubic_meter", s),
            lambda s: re.sub(r"(?<![A-Za-z])(k?m|cm|dm|mm)([23])(?![0-9])", r"\1**\2", s),
            lambda s: s.replace("³", "**3").replace("²", "**2"),
        ]
    )
    ureg.define("normal_cubic_meter = meter ** 3 = Nm3_")
    return ureg


@dataclass(frozen=True, slots=True)
class ParsedUnit:
    """A unit string understood: its dimension and the factor to the kind's canonical unit."""

    text: str
    dimension: Dimension
    to_mass_t_yr: float | None = None
    to_volume_m3_h: float | None = None
    to_energy_mwh_yr: float | None = None
    note: str = ""


class UnitProblem(ValueError):
    """A unit that cannot be parsed or is not a rate."""


_DIMS = {
    "mass_rate": "[mass] / [time]",
    "volume_rate": "[length] ** 3 / [time]",
    "energy_rate": "[mass] * [length] ** 2 / [time] ** 3",
}


@lru_cache(maxsize=4096)
def parse_unit(text: str) -> ParsedUnit:
    """Parse a rate unit.

    Examples
    --------
    >>> parse_unit("kg/day").to_mass_t_yr
    0.36525
    >>> parse_unit("m3/h").dimension
    'volume_rate'
    >>> round(parse_unit("kW").to_energy_mwh_yr, 3)
    8.766
    """
    ureg = registry()
    stripped = text.strip()
    if not stripped:
        raise UnitProblem("the unit is empty")
    try:
        q = ureg.Quantity(1.0, stripped)
    except Exception as exc:  # pint raises several unrelated types for garbage
        raise UnitProblem(f"'{text}' is not a unit symbolink understands") from exc
    dims = str(q.dimensionality)
    note = ""
    if re.search(r"\bton\b", stripped):
        note = "'ton' is the US short ton (907.2 kg); write 't' for metric tonnes"
    if dims == _DIMS["mass_rate"]:
        return ParsedUnit(
            stripped, "mass_rate", to_mass_t_yr=float(q.to("t/yr").magnitude), note=note
        )
    if dims == _DIMS["volume_rate"]:
        return ParsedUnit(stripped, "volume_rate", to_volume_m3_h=float(q.to("m**3/h").magnitude))
    if dims == _DIMS["energy_rate"]:
        return ParsedUnit(stripped, "energy_rate", to_energy_mwh_yr=float(q.to("MWh/yr").magnitude))
    raise UnitProblem(f"'{text}' is not a rate: it has dimension {dims}")


def to_canonical(
    value: float, unit: str, kind: str, *, density_t_m3: float | None = None
) -> float | None:
    """Convert a stream quantity to its kind's canonical unit.

    Returns ``None`` where the conversion needs a fact the stream does not state (a material given by
    volume without a density). Raises :class:`UnitProblem` if the unit does not fit the kind.

    Examples
    --------
    >>> to_canonical(20.0, "t/h", "water")
    20.0
    >>> to_canonical(1.0, "t/day", "material")
    365.25
    >>> to_canonical(100.0, "m3/yr", "material", density_t_m3=1.5)
    150.0
    """
    parsed = parse_unit(unit)
    if parsed.dimension not in ACCEPTED_DIMENSIONS[kind]:
        words = " or ".join(DIMENSION_WORDS[d] for d in ACCEPTED_DIMENSIONS[kind])
        raise UnitProblem(
            f"'{unit}' is {DIMENSION_WORDS[parsed.dimension].split(' (')[0]}, "
            f"which does not fit a {kind} stream; it takes {words}"
        )
    if kind == "material":
        if parsed.to_mass_t_yr is not None:
            return value * parsed.to_mass_t_yr
        if density_t_m3 is None or parsed.to_volume_m3_h is None:
            return None
        m3_yr = value * parsed.to_volume_m3_h * _hours_per_year()
        return m3_yr * density_t_m3
    if kind == "water":
        if parsed.to_volume_m3_h is not None:
            return value * parsed.to_volume_m3_h
        assert parsed.to_mass_t_yr is not None
        return value * parsed.to_mass_t_yr / _hours_per_year() / _WATER_DENSITY_T_PER_M3
    assert parsed.to_energy_mwh_yr is not None
    return value * parsed.to_energy_mwh_yr


#: The amount one month of each kind's flow is counted in (measured monthly quantities).
MONTHLY_UNIT: dict[str, str] = {"material": "t", "water": "m3", "energy": "MWh"}


def per_month(rate: float, kind: str) -> float:
    """A rate in the kind's canonical unit as the amount of one month, in :data:`MONTHLY_UNIT`.

    A month is a twelfth of the Julian year (pint's ``month``).

    Examples
    --------
    >>> per_month(60_000.0, "material")  # t/yr -> t a month
    5000.0
    >>> per_month(10.0, "water")  # m3/h -> m3 a month (730.5 h)
    7305.0
    """
    return rate / to_canonical(1.0, f"{MONTHLY_UNIT[kind]}/month", kind)  # type: ignore[operator]


def monthly_amount(value: float, unit: str, kind: str) -> float | None:
    """A month's measured amount (``value`` in ``unit``, e.g. ``4000 t``) in :data:`MONTHLY_UNIT`.

    Returns ``None`` where the conversion needs a density (a material measured by volume). Raises
    :class:`UnitProblem` if ``unit`` is not an amount of the kind (a mass or volume for material and
    water, an energy for energy).

    Examples
    --------
    >>> monthly_amount(4_000_000.0, "kg", "material")
    4000.0
    >>> monthly_amount(2.0, "GWh", "energy")
    2000.0
    >>> monthly_amount(5.0, "t/yr", "material")
    Traceback (most recent call last):
    ...
    symbiolink.model.units.UnitProblem: 't/yr' is not an amount of material: write a mass or a volume (t, kg, m3)
    """
    accepted = {"material": "a mass or a volume (t, kg, m3)", "water": "a volume or a mass (m3, L, t)",
                "energy": "an energy (MWh, kWh, GJ)"}[kind]  # fmt: skip
    problem = UnitProblem(f"'{unit}' is not an amount of {kind}: write {accepted}")
    if "/" in unit or not unit.strip():
        raise problem
    try:
        rate = to_canonical(value, f"{unit.strip()}/month", kind)
    except UnitProblem:
        raise problem from None
    return None if rate is None else per_month(rate, kind)


@lru_cache(maxsize=1)
def _hours_per_year() -> float:
    return float(registry().Quantity(1.0, "yr").to("h").magnitude)


def is_finite_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
