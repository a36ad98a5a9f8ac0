"""Evaluate the documented exchanges of the Kalundborg demo park and print a Markdown table.

Each supply of ``data/demo/kalundborg.json`` marked ``exchange: documented`` is evaluated towards
its documented receiver, with the shipped factor library and no policy. The output goes into
docs/impact.md beside the published 2018 figures; nothing here is tuned to meet them.

Usage: python scripts/compare_kalundborg.py
"""

from __future__ import annotations

from symbiolink.accounting.evaluation import evaluate_park
from symbiolink.analytics.links import documented_links
from symbiolink.demo import demo_files
from symbiolink.io import read_park
from symbiolink.matching.engine import Match


def main() -> None:
    path = next(p for p in demo_files() if p.name == "kalundborg.json")
    park = read_park(path)
    links = [
        Match(x.supply, x.receiver, None, 0, 0.0, "", [], [], None) for x in documented_links(park)
    ]
    result = evaluate_park(park, links)
    print(
        "| supply | receiver | quantity | displaces | t CO2e/yr | USD/yr (counted terms) | not counted |"
    )
    print("|---|---|---|---|---:|---:|---|")
    co2 = money = 0.0
    seen: set[str] = set()
    for i in result.impacts:
        first = i.supply not in seen  # a supply shared by several receivers is counted once
        seen.add(i.supply)
        q = "?" if i.quantity is None else f"{i.quantity:,.0f} {i.unit}"
        c = "?" if i.co2e_avoided_t_yr is None else f"{float(i.co2e_avoided_t_yr):,.0f}"
        m = "?" if i.net_benefit_usd_yr is None else f"{float(i.net_benefit_usd_yr):,.0f}"
        gaps = "; ".join(x.split(" (")[0] for x in i.missing[:3])
        print(
            f"| {i.supply} | {i.receiver}{'' if first else ' (same stream)'} | {q} | {i.product or '-'} | {c} | {m} | {gaps} |"
        )
        if first and i.co2e_avoided_t_yr is not None:
            co2 += float(i.co2e_avoided_t_yr)
            money += float(i.net_benefit_usd_yr or 0.0)
    print(
        f"\nTotal over {len(seen)} documented supplies: {co2:,.0f} t CO2e/yr, {money:,.0f} USD/yr of counted terms."
    )


if __name__ == "__main__":
    main()
