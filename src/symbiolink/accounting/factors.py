"""The factor library: emission factors, prices, fees and rates, each with its unit, year, region
and source (``data/factors/factors.csv``, bibliography in ``data/factors/SOURCES.md``).

A number without a source does not load: :func:`check_rows` lists every row that lacks a source,
unit or year, has a unit that does not parse, or has ``low <= central <= high`` out of order.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import pint

from symbiolink.errors import SymbiolinkError

HEADER = (
    "id",
    "category",
    "item",
    "region",
    "year",
    "low",
    "central",
    "high",
    "unit",
    "source",
    "note",
)
CATEGORIES = frozenset(
    {
        "grid_emission", "fuel_emission", "virgin_production", "disposal_emission", "transport_emission",
        "transport_cost", "transport_parameter", "pipe", "disposal_fee", "water_tariff", "energy_price", "currency", "economic",
    }
)  # fmt: skip
#: Units that are not physical: greenhouse gases and currencies, each its own dimension.
NON_PHYSICAL_UNITS = ("CO2", "CO2e", "CH4", "N2O", "VND", "USD", "EUR", "DKK")


@dataclass(frozen=True, slots=True)
class Factor:
    id: str
    category: str
    item: str
    region: str
    year: int
    central: float
    unit: str
    source: str
    low: float | None = None
    high: float | None = None
    note: str = ""

    def quantity(self) -> Any:
        """The central value as a pint quantity in :func:`factor_units`."""
        return factor_units().Quantity(self.central, _pint_unit(self.unit))


@cache
def factor_units() -> Any:
    """A unit registry that also knows gases and currencies (as dimensions of their own)."""
    ureg: Any = pint.UnitRegistry()
    for token in NON_PHYSICAL_UNITS:
        ureg.define(f"{token} = [{token.lower()}]")
    return ureg


def _pint_unit(unit: str) -> str:
    return re.sub(r"(?<![A-Za-z])(k?m|cm|mm)([23])(?![0-9])", r"\1**\2", unit)


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def check_rows(rows: Iterable[dict[str, str]]) -> list[str]:
    """Every problem of the factor rows, each naming the row; empty if all is well."""
    problems: list[str] = []
    seen: set[str] = set()
    for line, r in enumerate(rows, start=2):
        where = f"factors.csv line {line} ({r.get('id', '?')})"
        if r["id"] in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(r["id"])
        for field in ("central", "unit", "year", "source"):
            if not (r.get(field) or "").strip():
                problems.append(f"{where}: no {field}")
        if r["category"] not in CATEGORIES:
            problems.append(f"{where}: unknown category {r['category']!r}")
        if r["year"].strip() and not re.fullmatch(r"(19|20)\d\d", r["year"].strip()):
            problems.append(f"{where}: year {r['year']!r} is not a year")
        if not re.fullmatch(r"[A-Z]{2}|EU|GLOBAL", r["region"]):
            problems.append(
                f"{where}: region {r['region']!r} is not ISO 3166-1 alpha-2, EU or GLOBAL"
            )
        try:
            low, central, high = (_number(r[k]) for k in ("low", "central", "high"))
        except ValueError:
            problems.append(f"{where}: low, central and high must be numbers")
            continue
        if central is not None and (
            (low is not None and low > central) or (high is not None and high < central)
        ):
            problems.append(f"{where}: low <= central <= high does not hold")
        if r["unit"].strip():
            try:
                factor_units().parse_units(_pint_unit(r["unit"]))
            except Exception:  # pint raises several types for garbage
                problems.append(f"{where}: unit {r['unit']!r} does not parse")
    return problems


def read_rows() -> list[dict[str, str]]:
    ref = resources.files("symbiolink").joinpath("data", "factors", "factors.csv")
    reader = csv.DictReader(io.StringIO(ref.read_text(encoding="utf-8"), newline=""))
    if tuple(reader.fieldnames or ()) != HEADER:
        raise SymbiolinkError(
            f"factors.csv: columns {reader.fieldnames} (accepted: {', '.join(HEADER)})"
        )
    return list(reader)


@dataclass
class FactorLibrary:
    factors: dict[str, Factor]

    def get(self, factor_id: str) -> Factor:
        try:
            return self.factors[factor_id]
        except KeyError:
            raise SymbiolinkError(f"no factor {factor_id!r} in the library") from None

    def find(
        self, category: str, *, region: str | None = None, item_contains: str = ""
    ) -> list[Factor]:
        """Factors of a category (and region), newest first."""
        found = [
            f for f in self.factors.values()
            if f.category == category and (region is None or f.region == region) and item_contains.lower() in f.item.lower()
        ]  # fmt: skip
        return sorted(found, key=lambda f: (-f.year, f.id))

    def series(self, category: str, region: str) -> dict[int, Factor]:
        """One factor per year (e.g. a country's grid emission factors)."""
        out: dict[int, Factor] = {}
        for f in sorted(self.find(category, region=region), key=lambda f: f.id):
            out.setdefault(f.year, f)
        return dict(sorted(out.items()))


@cache
def default_factors() -> FactorLibrary:
    """The shipped factor library; refuses to load a row without a source, unit or year."""
    rows = read_rows()
    problems = check_rows(rows)
    if problems:
        raise SymbiolinkError(
            "; ".join(problems[:5])
            + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        )
    factors = {
        r["id"]: Factor(
            id=r["id"],
            category=r["category"],
            item=r["item"],
            region=r["region"],
            year=int(r["year"]),
            central=float(r["central"]),
            unit=r["unit"],
            source=r["source"],
            low=_number(r["low"]),
            high=_number(r["high"]),
            note=r["note"],
        )
        for r in rows
    }
    return FactorLibrary(factors)
