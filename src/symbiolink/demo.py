"""``symbiolink demo``: the main job on the bundled demo parks.

Each demo park file is validated, stored in the embedded database (or the one
``SYMBIOLINK_DATABASE_URL`` names) and summarised. Later steps (matching, impact, optimization,
reports) add themselves here.
"""

from __future__ import annotations

from collections import defaultdict
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from symbiolink.errors import SymbiolinkError
from symbiolink.model.park import ParkFile
from symbiolink.model.units import CANONICAL_UNIT


def demo_files() -> list[Path]:
    """The shipped demo park files."""
    folder = resources.files("symbiolink").joinpath("data", "demo")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".json"))


def park_totals(park: ParkFile) -> list[dict[str, object]]:
    """Per park: companies, supplies and demands, and supplied quantities per kind (canonical units)."""
    company_park = {c.id: c.park for c in park.companies}
    rows: dict[str, dict[str, object]] = {}
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for p in park.parks:
        rows[p.id] = {
            "park": p.id,
            "name": p.name,
            "companies": 0,
            "supplies": 0,
            "demands": 0,
            "hazardous": 0,
        }
    for c in park.companies:
        rows[c.park]["companies"] = int(rows[c.park]["companies"]) + 1  # type: ignore[call-overload]
    from symbiolink.codes.ewc import ewc_lookup

    for s in park.streams:
        pid = company_park[s.company]
        key = "supplies" if s.direction == "supply" else "demands"
        rows[pid][key] = int(rows[pid][key]) + 1  # type: ignore[call-overload]
        entry = ewc_lookup(s.ewc) if s.ewc else None
        if entry and entry.hazardous:
            rows[pid]["hazardous"] = int(rows[pid]["hazardous"]) + 1  # type: ignore[call-overload]
        q = s.canonical_quantity()
        if q is not None and s.direction == "supply":
            totals[pid][s.kind] += q
    for pid, row in rows.items():
        for kind in ("material", "water", "energy"):
            row[f"supply_{kind}"] = totals[pid].get(kind, 0.0)
    return list(rows.values())


def run_demo(console: Console, database: str | None = None, *, reports: Path | None = None) -> None:
    from symbiolink.store import using_store

    files = demo_files()
    if not files:
        raise SymbiolinkError("no demo parks are installed (symbiolink/data/demo is empty)")
    with using_store(database) as engine:
        _run(console, engine, files)
    write_reports(console, files, reports)


def write_reports(console: Console, files: list[Path], folder: Path | None = None) -> list[Path]:
    """One HTML report per demo park (in the user's data folder unless ``folder`` is given)."""
    from platformdirs import user_data_path

    from symbiolink.io import read_park
    from symbiolink.report import collect, write_html

    target = folder or user_data_path("symbiolink", appauthor=False) / "reports"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in files:
        park = read_park(path)
        for p in park.parks:
            out = write_html(collect(park, p.id), target / f"{p.id}.html")
            written.append(out)
    console.print(f"Reports: {', '.join(str(p) for p in written)}", markup=False)
    return written


def _run(console: Console, engine: Engine, files: list[Path]) -> None:
    from symbiolink.io import read_park
    from symbiolink.store import import_park

    console.print(
        f"[bold]symbiolink demo[/bold] - database: {engine.url.render_as_string(hide_password=True)}"
    )
    table = Table(title="Demo parks", title_justify="left")
    for col, justify in (("park", "left"), ("name", "left"), ("companies", "right"), ("supplies", "right"), ("demands", "right"),
                         ("hazardous", "right"), (f"material {CANONICAL_UNIT['material']}", "right"),
                         (f"water {CANONICAL_UNIT['water']}", "right"), (f"energy {CANONICAL_UNIT['energy']}", "right")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for path in files:
        park = read_park(path)
        summary = import_park(engine, park, source=f"demo:{path.name}", content=path.read_bytes())
        console.print(
            f"{path.name}: valid; stored {sum(summary.created.values())} new and {sum(summary.updated.values())} updated rows",
            markup=False,
        )
        for row in park_totals(park):
            table.add_row(
                str(row["park"]), str(row["name"]), str(row["companies"]), str(row["supplies"]), str(row["demands"]),
                str(row["hazardous"]), f"{row['supply_material']:,.0f}", f"{row['supply_water']:,.1f}", f"{row['supply_energy']:,.0f}",
            )  # fmt: skip
    console.print(table)
    console.print(
        "Quantities are what the companies have to give (supply streams), in canonical units."
    )
    for path in files:
        park = read_park(path)
        show_matches(console, park, title=path.name)
        show_impact(console, park, title=path.name)
        show_optimum(console, park, title=path.name)


def show_optimum(console: Console, park: ParkFile, *, title: str) -> None:
    """The cost-optimal network of the park, against the best one-link-at-a-time pairing."""
    from symbiolink.optimization import build_model, build_network, greedy, solve

    net = build_network(park)
    result = solve(build_model(net), "cost")
    paired = greedy(net)
    best = result.totals["net_benefit_usd_yr"]
    links = [f for f in result.flows if f["from"] != "external" and f["to"] != "disposal"]
    names = {s.id: s.name for s in park.streams}
    table = Table(title=f"Optimized network: {title} (cost)", title_justify="left")
    for col in ("from", "to", "quantity"):
        table.add_column(col, justify="right" if col == "quantity" else "left", overflow="fold")
    for f in sorted(links, key=lambda f: -f["quantity"]):
        table.add_row(
            names.get(f["from"], f["from"]),
            names.get(f["to"], f["to"]),
            f"{f['quantity']:,.0f} {f['unit']}",
        )
    console.print(table)
    console.print(
        f"Optimized network ({title}): {len(links)} flows on {len(net.arcs)} candidate links; saves "
        f"{best:,.0f} USD/yr and {result.totals['co2e_avoided_t_yr']:,.0f} t CO2e/yr; the best greedy "
        f"pairing saves {paired:,.0f} USD/yr"
        + (
            f" (the optimum gains {best - paired:,.0f} USD/yr more)."
            if best - paired > 0.5
            else "."
        ),
        markup=False,
    )
    if result.uncounted:
        console.print(
            f"{len(result.uncounted)} of these flows have a cost the factor library cannot count yet "
            f"(e.g. {result.uncounted[0]}); `symbiolink optimize FILE --json` lists them.",
            markup=False,
        )


def show_impact(console: Console, park: ParkFile, *, title: str) -> None:
    """Park totals of the best viable link per supply: money, CO2e and resources."""
    from symbiolink.accounting.evaluation import evaluate_park
    from symbiolink.matching import Matcher

    result = evaluate_park(park, Matcher().match(park, top=3))
    t = result.totals
    table = Table(
        title=f"Impact: {title} (best viable link per supply, central estimates)",
        title_justify="left",
    )
    for col in ("viable links", "supplies served", "net benefit USD/yr", "t CO2e/yr avoided",
                "t/yr diverted", "m3/yr water saved", "MWh/yr fuel saved"):  # fmt: skip
        table.add_column(col, justify="right")
    table.add_row(
        f"{len(result.viable)} of {len(result.impacts)}", str(len(result.chosen)), f"{t['net_benefit_usd_yr']:,.0f}",
        f"{t['co2e_avoided_t_yr']:,.0f}", f"{t['waste_diverted_t_yr']:,.0f}", f"{t['water_saved_m3_yr']:,.0f}",
        f"{t['primary_energy_saved_mwh_yr']:,.0f}",
    )  # fmt: skip
    console.print(table)
    gaps = sorted({m.split(" (")[0] for i in result.chosen for m in i.missing})
    if gaps:
        console.print(
            "Left out for lack of a sourced factor: "
            + "; ".join(gaps[:5])
            + (" ..." if len(gaps) > 5 else ""),
            markup=False,
        )
    console.print(
        "`symbiolink evaluate FILE [--policy POLICY.yaml]` gives every link, its terms and its range."
    )


def show_matches(console: Console, park: ParkFile, *, title: str, per_park: int = 8) -> None:
    """The best match of each supply, strongest first, with its reasons and sources."""
    from symbiolink.matching import Matcher

    matches = sorted(Matcher().match(park, top=1), key=lambda m: -m.score)
    names = {c.id: c.name for c in park.companies}
    streams = {s.id: s for s in park.streams}
    table = Table(title=f"Top matches: {title}", title_justify="left", show_lines=True)
    for col in ("supply", "receiver", "score", "why", "sources"):
        table.add_column(col, overflow="fold")
    for m in matches[:per_park]:
        supply = streams[m.supply]
        receiver = names[m.receiver] + (f"\n(demand: {streams[m.demand].name})" if m.demand else "")
        why = "\n".join(f"- {r}" for r in m.reasons[:3])
        table.add_row(
            f"{supply.name}\n({names[supply.company]})",
            receiver,
            f"{m.score:.2f}",
            why,
            "\n".join(m.sources[:3]),
        )
    console.print(table)
    console.print(
        f"{len(matches)} supplies have a candidate receiver; `symbiolink match FILE` lists them all with reasons."
    )
