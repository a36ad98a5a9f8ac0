"""Sanity check for factors.csv (run: python check_factors.py [path]).

Checks: exact header, unique snake_case ids, allowed categories, region and
year format, required fields (central, unit, year, source), numeric
low <= central <= high where given, and (if pint is installed) that each unit
parses once the substance/currency tokens are defined. Prints counts per
category and exits non-zero on any error.
"""

import csv
import re
import sys
from collections import Counter
from pathlib import Path

HEADER = [
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
]
CATEGORIES = {
    "grid_emission",
    "fuel_emission",
    "virgin_production",
    "disposal_emission",
    "transport_emission",
    "transport_cost",
    "pipe",
    "disposal_fee",
    "water_tariff",
    "energy_price",
    "currency",
    "economic",
}
# Tokens that are not physical units: greenhouse gases and currencies.
EXTRA_UNITS = ["CO2", "CO2e", "CH4", "N2O", "VND", "USD", "EUR", "DKK"]


def _unit_parser():
    try:
        import pint
    except ImportError:
        return None
    ureg = pint.UnitRegistry()
    for tok in EXTRA_UNITS:
        ureg.define(f"{tok} = [{tok.lower()}]")
    # The CSV writes cubic metres as "m3" (the form used in the project brief);
    # pint itself only knows "m**3", so the alias is defined here.
    ureg.define("m3 = meter ** 3")
    return ureg


def main(path: Path) -> int:
    errors = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != HEADER:
            errors.append(f"header is {reader.fieldnames}, expected {HEADER}")
        rows = list(reader)
    ureg = _unit_parser()
    ids = Counter(r["id"] for r in rows)
    for dup, n in ids.items():
        if n > 1:
            errors.append(f"duplicate id {dup!r} ({n}x)")
    for i, r in enumerate(rows, start=2):
        where = f"line {i} ({r['id']})"
        if not re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", r["id"]):
            errors.append(f"{where}: id not snake_case")
        if r["category"] not in CATEGORIES:
            errors.append(f"{where}: bad category {r['category']!r}")
        if not re.fullmatch(r"[A-Z]{2}|EU|GLOBAL", r["region"]):
            errors.append(f"{where}: bad region {r['region']!r}")
        if not re.fullmatch(r"\d{4}", r["year"]):
            errors.append(f"{where}: bad year {r['year']!r}")
        for field in ("central", "unit", "source"):
            if not r[field].strip():
                errors.append(f"{where}: missing {field}")
        try:
            vals = {k: float(r[k]) for k in ("low", "central", "high") if r[k].strip()}
        except ValueError as exc:
            errors.append(f"{where}: non-numeric value ({exc})")
            continue
        c = vals.get("central")
        if c is not None and "low" in vals and vals["low"] > c:
            errors.append(f"{where}: low {vals['low']} > central {c}")
        if c is not None and "high" in vals and vals["high"] < c:
            errors.append(f"{where}: high {vals['high']} < central {c}")
        if ureg is not None and r["unit"].strip():
            try:
                ureg.parse_expression(r["unit"])
            except Exception as exc:  # pint raises several error types
                errors.append(f"{where}: unit {r['unit']!r} does not parse ({exc})")
    counts = Counter(r["category"] for r in rows)
    print(f"{len(rows)} rows, {len(ids)} unique ids")
    for cat in sorted(CATEGORIES):
        print(f"  {cat:20s} {counts.get(cat, 0)}")
    if ureg is None:
        print("pint not installed: unit parsing not checked")
    for e in errors:
        print("ERROR:", e)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("factors.csv")
    sys.exit(main(target))
