"""The national view: links within and between parks, with the towns around them, totals by
province, sector and resource, and an anonymised link data set for researchers.

Urban-industrial links are those where one side is an urban service: water supply and sewerage
(ISIC 36, 37), waste collection and treatment (38, 39), district heating (3530) or public
administration (84). The registry holds such services as companies of a park or of a town site.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from symbiolink.analytics.links import NetLink
from symbiolink.model.park import ParkFile

URBAN_SECTORS = ("36", "37", "38", "39", "3530", "84")

#: The columns of the anonymised data set, with their meaning (written beside it as a dictionary).
DICTIONARY: dict[str, str] = {
    "link": "sequence number of the link in this file (not stable between exports)",
    "status": "documented (operating), proposed (evaluated, best viable per supply) or optimized",
    "supplier": "pseudonym of the giving company (C0001 ...), consistent within this file only",
    "receiver": "pseudonym of the receiving company",
    "supplier_park_province": "province of the giver's park (as the park file names it), or blank",
    "receiver_park_province": "province of the receiver's park, or blank",
    "between_parks": "true if giver and receiver are in different parks",
    "urban_industrial": "true if one side is an urban service (ISIC 36-39, 3530, 84)",
    "supplier_sector": "ISIC Rev.4 division (two digits) of the giver",
    "receiver_sector": "ISIC Rev.4 division of the receiver",
    "kind": "material, water or energy",
    "quantity": "flow, rounded to two significant figures",
    "unit": "t/yr (material), m3/h (water), MWh/yr (energy)",
    "net_benefit_usd_yr": "central estimate, rounded to two significant figures; blank if unknown",
    "co2e_avoided_t_yr": "central estimate, rounded to two significant figures; blank if unknown",
    "distance_km": "straight-line distance, rounded to whole km; blank if unknown",
}


def _round2(x: float | None) -> float | None:
    """Two significant figures: enough for national statistics, not a company's exact figure."""
    if x is None:
        return None
    if x == 0:
        return 0.0
    return float(f"{x:.2g}")


def _is_urban(sector: str | None) -> bool:
    return bool(sector) and str(sector).startswith(URBAN_SECTORS)


def national_view(park: ParkFile, links: Sequence[NetLink]) -> dict[str, Any]:
    """Totals of ``links`` by province, supplier sector division and kind; within and between parks."""
    companies = {c.id: c for c in park.companies}
    parks = {p.id: p for p in park.parks}
    by_province: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_sector: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_kind: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    within = between = urban = 0
    for link in links:
        a, b = companies.get(link.supplier), companies.get(link.receiver)
        if a is None or b is None:
            continue
        if a.park == b.park:
            within += 1
        else:
            between += 1
        if _is_urban(a.sector_isic()) or _is_urban(b.sector_isic()):
            urban += 1
        province = (parks[a.park].province if a.park in parks else None) or "unknown"
        sector = (a.sector_isic() or "??")[:2]
        for table, key in ((by_province, province), (by_sector, sector), (by_kind, link.kind)):
            row = table[key]
            row["links"] += 1
            row["net_benefit_usd_yr"] += link.net_benefit_usd_yr or 0.0
            row["co2e_avoided_t_yr"] += link.co2e_avoided_t_yr or 0.0
            row[f"quantity_{link.unit}"] += link.quantity or 0.0

    def plain(t: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        return {k: dict(v) for k, v in sorted(t.items())}

    return {
        "parks": len(park.parks), "companies": len(park.companies), "links": len(links),
        "within_parks": within, "between_parks": between, "urban_industrial": urban,
        "by_province": plain(by_province), "by_sector": plain(by_sector), "by_kind": plain(by_kind),
    }  # fmt: skip


def anonymised_rows(park: ParkFile, links: Sequence[NetLink]) -> list[dict[str, Any]]:
    """The links without names or ids: pseudonyms, sector divisions, rounded figures."""
    companies = {c.id: c for c in park.companies}
    parks = {p.id: p for p in park.parks}
    pseudonym: dict[str, str] = {}

    def alias(cid: str) -> str:
        if cid not in pseudonym:
            pseudonym[cid] = f"C{len(pseudonym) + 1:04d}"
        return pseudonym[cid]

    rows: list[dict[str, Any]] = []
    for n, link in enumerate(
        sorted(links, key=lambda x: (x.status, x.kind, x.supplier, x.receiver, x.supply)), start=1
    ):
        a, b = companies.get(link.supplier), companies.get(link.receiver)
        if a is None or b is None:
            continue
        rows.append({
            "link": n, "status": link.status, "supplier": alias(a.id), "receiver": alias(b.id),
            "supplier_park_province": (parks[a.park].province or "") if a.park in parks else "",
            "receiver_park_province": (parks[b.park].province or "") if b.park in parks else "",
            "between_parks": a.park != b.park,
            "urban_industrial": _is_urban(a.sector_isic()) or _is_urban(b.sector_isic()),
            "supplier_sector": (a.sector_isic() or "")[:2], "receiver_sector": (b.sector_isic() or "")[:2],
            "kind": link.kind, "quantity": _round2(link.quantity), "unit": link.unit,
            "net_benefit_usd_yr": _round2(link.net_benefit_usd_yr), "co2e_avoided_t_yr": _round2(link.co2e_avoided_t_yr),
            "distance_km": None if link.distance_km is None else round(link.distance_km),
        })  # fmt: skip
    return rows


def export_links(park: ParkFile, links: Sequence[NetLink], out: str | Path) -> list[Path]:
    """Write ``OUT.csv``, ``OUT.parquet`` and ``OUT.dictionary.json`` (the columns' meaning)."""
    import pandas as pd

    base = Path(out)
    if base.suffix in (".csv", ".parquet"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    rows = anonymised_rows(park, links)
    frame = pd.DataFrame(rows, columns=list(DICTIONARY))
    csv_path, parquet_path, dict_path = (
        Path(f"{base}{ext}") for ext in (".csv", ".parquet", ".dictionary.json")
    )
    frame.to_csv(csv_path, index=False, quoting=csv.QUOTE_MINIMAL)
    frame.to_parquet(parquet_path, index=False)
    dict_path.write_text(
        json.dumps({"columns": DICTIONARY}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return [csv_path, parquet_path, dict_path]
