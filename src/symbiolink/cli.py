"""The ``symbiolink`` command line.

Every command turns a domain error into one line on stderr and exit code 1; ``--debug`` shows the
traceback instead. Usage errors exit with 2.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from symbiolink import __version__
from symbiolink.errors import Issue, ParkFileError, SymbiolinkError

app = typer.Typer(
    name="symbiolink",
    help="Industrial symbiosis: register parks, companies and their by-products, and find exchanges.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
codes_app = typer.Typer(
    help="Look up EWC waste codes and ISIC / NACE / VSIC sector codes.", no_args_is_help=True
)
app.add_typer(codes_app, name="codes")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # one line per message, never wrapped
_state = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])

ParkPath = Annotated[
    Path,
    typer.Argument(help="A park file: .json, .xlsx, or a folder of CSV files.", show_default=False),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="SQLAlchemy URL; default SYMBIOLINK_DATABASE_URL or the user's SQLite file.",
        show_default=False,
    ),
]


KbExcludeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--kb-exclude",
        help="Leave out knowledge whose source tag starts with this (repeatable).",
        show_default=False,
    ),
]
PolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="YAML of policy levers (landfill_tax_usd_t, subsidy_usd_t, capex_tax_credit_pct, "
        "carbon_price_usd_t), settings (discount_rate_pct, lifetime_years, transaction_cost_usd_yr) "
        "and factor overrides (factors, parks).",
        show_default=False,
    ),
]
ParkIdOpt = Annotated[
    str | None,
    typer.Option("--park", help="The park (if the file has several).", show_default=False),
]
EvidenceOpt = Annotated[
    Path | None,
    typer.Option(
        "--evidence",
        help="YAML of indicators and criteria the park states, with their documents.",
        show_default=False,
    ),
]


def clean_failure(fn: F) -> F:
    """Run a command; a domain error becomes one line on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ParkFileError as exc:
            if _state["debug"]:
                raise
            _print_issues(exc.issues)
            raise typer.Exit(1) from None
        except SymbiolinkError as exc:
            if _state["debug"]:
                raise
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _print_issues(issues: list[Issue] | Any) -> None:
    for issue in issues:
        style = "yellow" if issue.severity == "warning" else "red"
        err.print(
            str(issue) if issue.severity == "warning" else f"error: {issue}",
            style=style,
            markup=False,
            soft_wrap=True,
        )


@contextmanager
def _working(message: str) -> Iterator[None]:
    """A spinner on the terminal while long work runs (nothing when output is not a terminal)."""
    if err.is_terminal:
        with err.status(message):
            yield
    else:
        yield


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on the terminal, fed by ``advance(done, total)``."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _version(value: bool) -> None:
    if value:
        out.print(f"symbiolink {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    _state["debug"] = debug


def _load(path: Path) -> Any:
    from symbiolink.io import load_park

    with _working(f"Reading {path}"):
        park, issues = load_park(path)
    if park is None:
        raise ParkFileError(issues)
    _print_issues([i for i in issues if i.severity == "warning"])
    return park


@app.command()
@clean_failure
def validate(
    file: ParkPath,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check a park file; exit 0 if valid, 1 with every error if not."""
    from symbiolink.io import load_park

    with _working(f"Validating {file}"):
        park, issues = load_park(file)
    errors = [i for i in issues if i.severity == "error"]
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "file": str(file),
                    "valid": park is not None,
                    "issues": [i.to_dict() for i in issues],
                }
            )
        )
    else:
        _print_issues(issues)
    if park is None:
        if not as_json:
            err.print(f"{file}: {len(errors)} error{'s' if len(errors) != 1 else ''}", markup=False)
        raise typer.Exit(1)
    if not as_json:
        warnings = len(issues) - len(errors)
        out.print(
            f"{file}: valid ({len(park.parks)} parks, {len(park.companies)} companies, {len(park.streams)} streams"
            + (f"; {warnings} warning{'s' if warnings != 1 else ''})" if warnings else ")"),
            markup=False,
        )


@app.command("import")
@clean_failure
def import_(file: ParkPath, database: DatabaseOpt = None) -> None:
    """Validate a park file and store it; re-importing updates the parks in place by id."""
    from symbiolink.store import import_park, using_store

    park = _load(file)
    with using_store(database) as engine, _working(f"Importing {len(park.streams)} streams"):
        summary = import_park(
            engine, park, source=str(file), content=file.read_bytes() if file.is_file() else None
        )
        where = engine.url.render_as_string(hide_password=True)
    table = Table(title=f"Imported {file} into {where}")
    for col in ("list", "created", "updated", "removed"):
        table.add_column(col, justify="right" if col != "list" else "left")
    for name in ("parks", "companies", "streams"):
        table.add_row(
            name,
            str(summary.created.get(name, 0)),
            str(summary.updated.get(name, 0)),
            str(summary.removed.get(name, 0)),
        )
    out.print(table)


@app.command()
@clean_failure
def export(
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="Where to write: .json, .xlsx, or a folder for CSV files.",
            show_default=False,
        ),
    ],
    park: Annotated[
        list[str] | None,
        typer.Option("--park", help="Export only this park (repeatable).", show_default=False),
    ] = None,
    database: DatabaseOpt = None,
) -> None:
    """Write stored parks as a park file."""
    from symbiolink.io import write_park
    from symbiolink.store import export_park, using_store

    with using_store(database) as engine:
        parkfile = export_park(engine, park)
    if not parkfile.parks:
        raise SymbiolinkError("no park is stored yet; import one first (symbiolink import FILE)")
    write_park(parkfile, output)
    out.print(
        f"wrote {len(parkfile.parks)} parks, {len(parkfile.companies)} companies, {len(parkfile.streams)} streams to {output}",
        markup=False,
    )


@app.command()
@clean_failure
def template(
    output: Annotated[
        Path, typer.Argument(help="The workbook to write (.xlsx).", show_default=False)
    ],
) -> None:
    """Write an empty park workbook to fill in by hand, with column notes and drop-down lists."""
    from symbiolink.io.excel_io import write_workbook

    if output.suffix.lower() != ".xlsx":
        raise SymbiolinkError(f"{output}: the template is an Excel workbook; name it .xlsx")
    write_workbook(None, output, template=True)
    out.print(
        f"wrote {output}: fill in the sheets parks, companies and streams (see the help sheet)",
        markup=False,
    )


@codes_app.command("search")
@clean_failure
def codes_search(
    text: Annotated[
        list[str],
        typer.Argument(
            help="Words to look for (English; Vietnamese for VSIC).", show_default=False
        ),
    ],
    system: Annotated[
        list[str] | None,
        typer.Option(
            "--system",
            help="ewc, isic, nace or vsic (repeatable); default all.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many codes to show.")] = 20,
) -> None:
    """Find codes by words."""
    from symbiolink.codes import search_codes

    systems = tuple(system or ("ewc", "isic", "nace", "vsic"))
    unknown = [s for s in systems if s not in ("ewc", "isic", "nace", "vsic")]
    if unknown:
        raise SymbiolinkError(
            f"--system {unknown[0]!r} is not a code list (accepted: ewc, isic, nace, vsic)"
        )
    hits = search_codes(" ".join(text), systems=systems, limit=limit)
    if not hits:
        raise SymbiolinkError(f"no code matches {' '.join(text)!r}")
    table = Table()
    for col in ("list", "code", "title"):
        table.add_column(col)
    for h in hits:
        table.add_row(h.system.upper(), h.code + (" (hazardous)" if h.hazardous else ""), h.title)
    out.print(table)


@codes_app.command("show")
@clean_failure
def codes_show(
    code: Annotated[
        str,
        typer.Argument(
            help="A code: 10 02 02, 100202, 10 01 05*, 2410, 24.10 ...", show_default=False
        ),
    ],
    system: Annotated[
        str | None,
        typer.Option(
            "--system",
            help="ewc, isic, nace or vsic; default: guess from the form.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Show one code: its title, and for waste whether it is hazardous; for sectors, its ISIC Rev.4 equivalent."""
    from symbiolink.codes import ewc_lookup
    from symbiolink.codes.sectors import SYSTEM_NAMES, sector_lookup

    systems = (
        [system]
        if system
        else (["ewc"] if len(code.replace(" ", "").rstrip("*")) == 6 else ["isic", "nace", "vsic"])
    )
    found = False
    for s in systems:
        if s == "ewc":
            e = ewc_lookup(code)
            if e:
                found = True
                out.print(f"EWC {e.display}  {e.description}", markup=False)
                out.print(
                    f"  {'HAZARDOUS' if e.hazardous else 'non-hazardous'} ({e.entry_type}); chapter: {e.chapter}",
                    markup=False,
                )
        elif s in SYSTEM_NAMES:
            c = sector_lookup(s, code)
            if c:
                found = True
                line = f"{SYSTEM_NAMES[s]} {c.code} ({c.level})  {c.title}"
                if c.title_vi and c.title_vi != c.title:
                    line += f" / {c.title_vi}"
                if s != "isic":
                    line += f"  -> ISIC Rev.4 {c.isic or '(no equivalent)'}"
                out.print(line, markup=False)
        else:
            raise SymbiolinkError(
                f"--system {s!r} is not a code list (accepted: ewc, isic, nace, vsic)"
            )
    if not found:
        raise SymbiolinkError(
            f"{code!r} is not a known {' or '.join(systems).upper()} code; try: symbiolink codes search WORDS"
        )


def _limits(max_km: list[str] | None, approach: float) -> Any:
    from symbiolink.matching import Limits

    limits = Limits(min_approach_k=approach)
    for item in max_km or []:
        kind, _, value = item.partition("=")
        if kind not in limits.max_distance_km:
            raise SymbiolinkError(
                f"--max-km {item!r}: {kind!r} is not a kind (accepted: material=KM, energy=KM, water=KM)"
            )
        try:
            limits.max_distance_km[kind] = float(value)
        except ValueError:
            raise SymbiolinkError(f"--max-km {item!r}: {value!r} is not a number of km") from None
    return limits


@app.command()
@clean_failure
def match(
    file: ParkPath,
    top: Annotated[int, typer.Option("--top", min=1, max=100, help="Receivers per supply.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the matches as JSON.")] = False,
    kb_exclude: KbExcludeOpt = None,
    max_km: Annotated[
        list[str] | None,
        typer.Option(
            "--max-km",
            help="Distance limit per kind, e.g. energy=3 (repeatable).",
            show_default=False,
        ),
    ] = None,
    approach: Annotated[
        float, typer.Option("--min-approach", help="Minimum temperature approach for heat, K.")
    ] = 10.0,
    demands: Annotated[
        bool,
        typer.Option(
            "--demands", help="Also rank, for every demand, the supplies that could meet it."
        ),
    ] = False,
    save: Annotated[
        bool, typer.Option("--save", help="Store the park and the matches in the database.")
    ] = False,
    impact: Annotated[
        bool,
        typer.Option(
            "--impact/--no-impact", help="Add the money and CO2e of each match (central estimates)."
        ),
    ] = True,
    database: DatabaseOpt = None,
) -> None:
    """Ranked candidate receivers for every supply stream, with reasons and sources."""
    from symbiolink.knowledge import default_knowledge
    from symbiolink.matching import Matcher

    park = _load(file)
    limits = _limits(max_km, approach)
    matcher = Matcher(knowledge=default_knowledge().exclude(kb_exclude or []), limits=limits)
    with _progress("Matching") as advance:
        matches = matcher.match(park, top=top, progress=advance)
    reverse = matcher.match_demands(park, top=top) if demands else []
    if save:
        from symbiolink.store import import_park, using_store
        from symbiolink.store.matches import save_matches

        with using_store(database) as engine:
            import_park(engine, park, source=str(file))
            run = save_matches(
                engine,
                matches,
                parks=[p.id for p in park.parks],
                params={
                    "top": top,
                    "kb_exclude": kb_exclude or [],
                    "max_km": limits.max_distance_km,
                },
            )
        err.print(f"saved as match run {run}", markup=False)
    if as_json:
        doc: dict[str, Any] = {
            "matches": _with_impact(park, matches) if impact else [m.to_dict() for m in matches]
        }
        if demands:
            doc["demand_matches"] = [m.to_dict() for m in reverse]
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
        return
    _print_matches(park, matches)


def _with_impact(park: Any, matches: list[Any]) -> list[dict[str, Any]]:
    """Each match as JSON with its ``impact`` block (CONTRACTS section 3)."""
    from symbiolink.accounting.evaluation import central_impacts

    return [
        {**m.to_dict(), "impact": i.impact_block()}
        for m, i in zip(matches, central_impacts(park, matches), strict=True)
    ]


def _print_matches(park: Any, matches: list[Any]) -> None:
    names = {c.id: c.name for c in park.companies}
    streams = {s.id: s for s in park.streams}
    by_supply: dict[str, list[Any]] = {}
    for m in matches:
        by_supply.setdefault(m.supply, []).append(m)
    for s in park.streams:
        if s.direction != "supply":
            continue
        out.print(
            f"[bold]{s.name}[/bold] ({s.id}, {names.get(s.company, s.company)})", highlight=False
        )
        found = by_supply.get(s.id, [])
        if not found:
            out.print("  no candidate receiver found")
            continue
        for m in found:
            target = names.get(m.receiver, m.receiver) + (
                f" -> {streams[m.demand].name}" if m.demand else ""
            )
            out.print(
                f"  {m.rank}. {target}  score {m.score:.2f}" + (f"  use: {m.use}" if m.use else ""),
                markup=False,
            )
            for r in m.reasons[:3]:
                out.print(f"       - {r}", markup=False)
            if m.sources:
                out.print(
                    f"       sources: {', '.join(m.sources[:4])}"
                    + (" ..." if len(m.sources) > 4 else ""),
                    markup=False,
                )


@app.command()
@clean_failure
def evaluate(
    file: ParkPath,
    policy_file: PolicyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the evaluation as JSON.")] = False,
    top: Annotated[int, typer.Option("--top", min=1, max=100, help="Receivers per supply.")] = 5,
    samples: Annotated[
        int, typer.Option("--samples", min=0, help="Monte Carlo draws over the factor ranges.")
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Monte Carlo draws.")] = 0,
    kb_exclude: KbExcludeOpt = None,
) -> None:
    """Money, CO2e and resources of every candidate link, and which are viable under a policy."""
    from symbiolink.accounting.evaluation import evaluate_park
    from symbiolink.accounting.policy import Policy, load_policy
    from symbiolink.knowledge import default_knowledge
    from symbiolink.matching import Matcher

    policy = load_policy(policy_file) if policy_file else Policy()
    park = _load(file)
    matcher = Matcher(knowledge=default_knowledge().exclude(kb_exclude or []))
    with _progress("Matching") as advance:
        matches = matcher.match(park, top=top, progress=advance)
    with _progress("Evaluating") as advance:
        result = evaluate_park(park, matches, policy, samples=samples, seed=seed, progress=advance)
    baseline = evaluate_park(park, matches) if policy_file else result
    before = {(i.supply, i.receiver) for i in baseline.viable}
    if as_json:
        doc = result.to_dict()
        for link in doc["links"]:
            link["viable_without_policy"] = (link["supply"], link["receiver"]) in before
        doc["totals"]["links_viable_only_with_policy"] = sum(
            1 for i in result.viable if (i.supply, i.receiver) not in before
        )
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
        return
    _print_evaluation(park, result, before if policy_file else None)


def _money(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x / 1e6:,.2f} M" if abs(x) >= 1e6 else f"{x:,.0f}"


def _print_evaluation(park: Any, result: Any, before: set[tuple[str, str]] | None) -> None:
    names = {c.id: c.name for c in park.companies}
    table = Table(title="Candidate links (best per supply first)", show_lines=False)
    for col in (
        "supply",
        "receiver",
        "displaces",
        "net USD/yr",
        "low..high",
        "t CO2e/yr",
        "viable",
    ):
        table.add_column(col, justify="right" if col in ("net USD/yr", "t CO2e/yr") else "left")
    chosen = {(i.supply, i.receiver) for i in result.chosen}
    ordered = sorted(result.impacts, key=lambda i: ((i.supply, i.receiver) not in chosen, i.supply))
    for i in ordered:
        flag = "yes" if i.viable else "no"
        if before is not None and i.viable and (i.supply, i.receiver) not in before:
            flag = "yes (policy)"
        table.add_row(
            i.supply,
            names.get(i.receiver, i.receiver),
            i.product or "-",
            _money(i.net_benefit_usd_yr),
            f"{_money(i.low.get('net'))}..{_money(i.high.get('net'))}" if i.low else "",
            "?" if i.co2e_avoided_t_yr is None else f"{float(i.co2e_avoided_t_yr):,.0f}",
            flag,
        )
    out.print(table)
    t = result.totals
    out.print(
        f"Best viable link per supply ({len(result.chosen)} supplies): net benefit "
        f"{_money(t['net_benefit_usd_yr'])} USD/yr, {t['co2e_avoided_t_yr']:,.0f} t CO2e/yr avoided, "
        f"{t['waste_diverted_t_yr']:,.0f} t/yr diverted, {t['water_saved_m3_yr']:,.0f} m3/yr water saved",
        markup=False,
    )
    if before is not None:
        gained = [i for i in result.viable if (i.supply, i.receiver) not in before]
        out.print(f"{len(gained)} links become viable under this policy", markup=False)
    gaps = sorted({m for i in result.impacts for m in i.missing})
    if gaps:
        out.print(
            f"Not counted for lack of data ({len(gaps)} kinds): "
            + "; ".join(gaps[:6])
            + (" ..." if len(gaps) > 6 else ""),
            markup=False,
        )


@app.command()
@clean_failure
def optimize(
    file: ParkPath,
    objective: Annotated[
        str, typer.Option("--objective", help="What to optimise: cost, co2 or freshwater.")
    ] = "cost",
    as_json: Annotated[bool, typer.Option("--json", help="Print the network as JSON.")] = False,
    policy_file: PolicyOpt = None,
    facilities_file: Annotated[
        Path | None,
        typer.Option(
            "--facilities",
            help="YAML list of candidate shared facilities (id, kind, capacity, fixed_cost_usd_yr, ...).",
            show_default=False,
        ),
    ] = None,
    no_outside: Annotated[
        list[str] | None,
        typer.Option(
            "--no-outside",
            help="Rule out buying this kind from outside (material, water, energy); repeatable.",
            show_default=False,
        ),
    ] = None,
    pareto_points: Annotated[
        int, typer.Option("--pareto", min=0, help="Also trace the cost-CO2e front with N points.")
    ] = 0,
    gap: Annotated[float, typer.Option("--gap", min=0.0, help="Relative MIP gap.")] = 1e-3,
    solver: Annotated[
        str, typer.Option("--solver", help="A solver linopy knows and that is installed.")
    ] = "highs",
    save: Annotated[
        bool, typer.Option("--save", help="Store the park and the result in the database.")
    ] = False,
    database: DatabaseOpt = None,
) -> None:
    """The park-wide exchange network that is best for cost, CO2e or fresh water."""
    from symbiolink.accounting.policy import Policy, load_policy
    from symbiolink.model.units import CANONICAL_UNIT
    from symbiolink.optimization import OBJECTIVES, optimize_park, read_facilities

    if objective not in OBJECTIVES:
        raise SymbiolinkError(f"--objective {objective!r} (accepted: {', '.join(OBJECTIVES)})")
    for kind in no_outside or []:
        if kind not in CANONICAL_UNIT:
            raise SymbiolinkError(f"--no-outside {kind!r} (accepted: {', '.join(CANONICAL_UNIT)})")
    policy = load_policy(policy_file) if policy_file else Policy()
    facilities = read_facilities(str(facilities_file)) if facilities_file else []
    park = _load(file)
    with _working("Optimizing"):
        result = optimize_park(
            park, objective, policy=policy, facilities=facilities, no_outside=no_outside or [],
            gap=gap, pareto_points=pareto_points, solver=solver,
        )  # fmt: skip
    if save:
        from symbiolink.store import import_park, using_store
        from symbiolink.store.optimizations import save_optimization

        with using_store(database) as engine:
            import_park(engine, park, source=str(file))
            run = save_optimization(
                engine, result.to_dict(), parks=[p.id for p in park.parks],
                params={"objective": objective, "gap": gap, "solver": solver, "no_outside": no_outside or [],
                        "facilities": [f.id for f in facilities], "policy": str(policy_file) if policy_file else None},
            )  # fmt: skip
        err.print(f"saved as optimization run {run}", markup=False)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n")
        return
    _print_optimum(result)


def _print_optimum(result: Any) -> None:
    out.print(
        f"{result.status}: {result.objective} = {result.value:,.2f} {result.unit}; "
        f"saves {_money(result.totals['net_benefit_usd_yr'])} USD/yr and "
        f"{result.totals['co2e_avoided_t_yr']:,.0f} t CO2e/yr against no exchange",
        markup=False,
    )
    table = Table(title="Flows")
    for col in ("from", "to", "kind", "quantity", "unit"):
        table.add_column(col, justify="right" if col == "quantity" else "left")
    for f in result.flows:
        table.add_row(f["from"], f["to"], f["kind"], f"{f['quantity']:,.2f}", f["unit"])
    out.print(table)
    t = result.totals
    out.print(
        f"fresh water {t['freshwater_m3_h']:,.2f} m3/h, discharge {t['discharge_m3_h']:,.2f} m3/h",
        markup=False,
    )
    if result.built_links:
        out.print("links with a fixed cost built: " + ", ".join(result.built_links), markup=False)
    if result.opened_facilities:
        out.print("shared facilities built: " + ", ".join(result.opened_facilities), markup=False)
    for e in result.explanations:
        out.print(
            f"{e['demand']}: {e['from_outside']:,.2f} from outside, {e['unmet']:,.2f} unmet",
            markup=False,
        )
        for w in e["why"]:
            out.print(f"   - {w}", markup=False)
    for u in result.uncounted:
        out.print(f"cost not counted: {u}", markup=False)
    for p in result.pareto:
        out.print(
            f"pareto: {p['co2e_avoided_t_yr']:,.0f} t CO2e/yr, {_money(p['net_benefit_usd_yr'])} USD/yr",
            markup=False,
        )


@app.command()
@clean_failure
def scenarios(
    file: ParkPath,
    grid_file: Annotated[
        Path,
        typer.Option(
            "--grid", help="YAML of policy levers to lists of values.", show_default=False
        ),
    ],
    samples: Annotated[
        int, typer.Option("--samples", min=0, help="Monte Carlo draws of the uncertain factors.")
    ] = 0,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=0,
            help="Local Dask worker processes (0: in this process).",
            show_default="2",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="Address of an existing Dask scheduler.", show_default=False
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scenarios as JSON.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write the curves to this HTML file.", show_default=False),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, max=20, help="Candidate receivers per supply.")
    ] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Monte Carlo draws.")] = 0,
) -> None:
    """Policy and uncertainty sweeps: every park evaluated under every grid point, on Dask."""
    from symbiolink.analytics.scenarios import read_grid, run_scenarios

    if workers is not None and scheduler:
        raise typer.BadParameter("give --workers or --scheduler, not both")
    grid = read_grid(grid_file)
    park = _load(file)
    with _progress("Parks") as advance:
        result = run_scenarios(park, grid, samples=samples, seed=seed, top=top, workers=workers,
                               scheduler=scheduler, progress=advance)  # fmt: skip
    if plot:
        from symbiolink.analytics.pictures import scenario_figure, write_html

        write_html([scenario_figure(result)], plot, title="symbiolink scenarios")
        err.print(f"wrote {plot}", markup=False)
    if as_json:
        sys.stdout.write(json.dumps({"scenarios": result}, ensure_ascii=False, indent=1) + "\n")
        return
    table = Table(title=f"{len(result)} scenarios over {len(park.parks)} parks")
    levers = list(result[0]["params"]) if result else []
    for col in [*levers, "viable links", "net USD/yr", "t CO2e/yr"]:
        table.add_column(col, justify="right")
    for r in result:
        table.add_row(
            *(f"{r['params'][k]:g}" for k in levers), str(r["viable_links"]),
            _money(r["net_benefit_usd_yr"]), f"{r['co2e_avoided_t_yr']:,.0f}",
        )  # fmt: skip
    out.print(table)


@app.command()
@clean_failure
def analyze(
    file: ParkPath,
    links: Annotated[
        str,
        typer.Option("--links", help="Which links: optimized, proposed (evaluated) or documented."),
    ] = "optimized",
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON.")] = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Write the pictures (Sankey, network, map) to this HTML file.",
            show_default=False,
        ),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="Write the anonymised link data set (CSV, Parquet, dictionary).",
            show_default=False,
        ),
    ] = None,
    reoptimize: Annotated[
        bool,
        typer.Option("--reoptimize", help="Re-optimize without each keystone (optimized links)."),
    ] = False,
) -> None:
    """The network of links: key companies, fragility, national totals and pictures."""
    from symbiolink.analytics import (
        documented_links,
        losses,
        metrics,
        optimized_links,
        proposed_links,
    )
    from symbiolink.analytics.national import export_links, national_view

    if links not in ("optimized", "proposed", "documented"):
        raise SymbiolinkError(f"--links {links!r} (accepted: optimized, proposed, documented)")
    park = _load(file)
    net = None
    with _working("Analysing"):
        if links == "documented":
            chosen = documented_links(park)
        elif links == "proposed":
            from symbiolink.accounting.evaluation import evaluate_park
            from symbiolink.matching import Matcher

            chosen = proposed_links(park, evaluate_park(park, Matcher().match(park, top=3)))
        else:
            from symbiolink.optimization import build_model, build_network, solve

            net = build_network(park)
            optimum = solve(build_model(net), "cost")
            chosen = optimized_links(park, optimum, net)
        m = metrics(chosen)
        ranked = losses(chosen)
        if reoptimize and net is not None:
            from symbiolink.analytics import reoptimized_loss

            for loss in ranked:
                if loss.company in m.keystones:
                    loss.after_reoptimization = reoptimized_loss(net, loss.company, base=optimum)
        national = national_view(park, chosen)
    if html:
        from symbiolink.analytics.pictures import map_figure, network_figure, sankey, write_html

        figures = [network_figure(park, chosen, m), map_figure(park, chosen)]
        figures += [
            sankey(park, chosen, k)
            for k in ("material", "water", "energy")
            if any(x.kind == k for x in chosen)
        ]
        write_html(figures, html, title="symbiolink network")
        err.print(f"wrote {html}", markup=False)
    if export:
        for path in export_links(park, chosen, export):
            err.print(f"wrote {path}", markup=False)
    doc = {
        "links": links,
        "network": m.to_dict(),
        "resilience": [x.to_dict() for x in ranked],
        "national": national,
    }
    if as_json:
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
        return
    names = {c.id: c.name for c in park.companies}
    out.print(
        f"{m.links} {links} links among {len(m.companies)} companies; connectance {m.connectance:.3f}; "
        f"deepest cascade {m.cascade_depth}; keystones: {', '.join(names.get(k, k) for k in m.keystones) or 'none'}",
        markup=False,
    )
    table = Table(title="If a company left (most money lost first)")
    for col in ("company", "links", "USD/yr lost", "t CO2e/yr lost", "stranded supplies"):
        table.add_column(
            col, justify="left" if col in ("company", "stranded supplies") else "right"
        )
    for loss in ranked[:10]:
        table.add_row(names.get(loss.company, loss.company), str(loss.links_lost), _money(loss.money_lost_usd_yr),
                      f"{loss.co2e_lost_t_yr:,.0f}", ", ".join(loss.stranded) or "-")  # fmt: skip
    out.print(table)


@app.command()
@clean_failure
def generate(
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="Where to write the park file (.json, .xlsx or a folder).",
            show_default=False,
        ),
    ],
    parks: Annotated[int, typer.Option("--parks", min=1, help="Number of parks.")] = 10,
    companies_per_park: Annotated[
        int, typer.Option("--companies-per-park", min=1, help="Companies in each park.")
    ] = 50,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed; the same seed gives the same registry.")
    ] = 0,
) -> None:
    """Write a synthetic national registry in the park format."""
    from symbiolink.io import write_park
    from symbiolink.model.validate import validate_document
    from symbiolink.synthetic import generate_registry

    with _working("Generating"):
        doc = generate_registry(parks, companies_per_park, seed=seed)
        park, issues = validate_document(doc, file=str(output))
    if park is None:  # pragma: no cover - a defect in the generator
        raise ParkFileError(issues)
    write_park(park, output)
    out.print(
        f"wrote {output}: {len(park.parks)} parks, {len(park.companies)} companies, {len(park.streams)} streams",
        markup=False,
    )


@app.command()
@clean_failure
def demo(
    database: DatabaseOpt = None,
    reports: Annotated[
        Path | None,
        typer.Option(
            "--reports",
            help="Folder for the parks' HTML reports (default: the user's data folder).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """The main job on the bundled demo parks: validate, store, match, evaluate, optimize, report."""
    from symbiolink.demo import run_demo

    run_demo(out, database, reports=reports)


users_app = typer.Typer(help="Accounts of the web platform.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
@clean_failure
def users_add(
    email: Annotated[str, typer.Argument(help="E-mail address (the login).", show_default=False)],
    role: Annotated[
        str,
        typer.Option(
            "--role", help="admin, park_manager, company_member, facilitator or observer."
        ),
    ],
    park: Annotated[
        str | None,
        typer.Option("--park", help="The park (park manager, facilitator).", show_default=False),
    ] = None,
    company: Annotated[
        str | None,
        typer.Option("--company", help="The company (company member).", show_default=False),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    database: DatabaseOpt = None,
) -> None:
    """Create an account (the first admin, for instance)."""
    from symbiolink.store import using_store
    from symbiolink.store.accounts import add_user

    if not password_stdin:
        raise typer.BadParameter("give the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\n")
    with using_store(database) as engine:
        user = add_user(engine, email, password, role, park=park, company=company)
    out.print(f"created {user.role} {user.email} (id {user.id})", markup=False)


@app.command("backup")
@clean_failure
def backup_cmd(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The backup file (.zip).", show_default=False)
    ],
    database: DatabaseOpt = None,
) -> None:
    """Write every table of the database to one file (SQLite or PostgreSQL)."""
    from symbiolink.store import using_store
    from symbiolink.store.backup import backup

    with using_store(database) as engine, _working("Backing up"):
        counts = backup(engine, output)
    out.print(f"wrote {output}: {sum(counts.values())} rows in {len(counts)} tables", markup=False)


@app.command("restore")
@clean_failure
def restore_cmd(
    file: Annotated[
        Path, typer.Argument(help="A file written by symbiolink backup.", show_default=False)
    ],
    database: DatabaseOpt = None,
) -> None:
    """Load a backup into an empty database: all of it, or nothing."""
    from symbiolink.store import make_engine
    from symbiolink.store.backup import restore

    engine = make_engine(database)
    try:
        with _working("Restoring"):
            counts = restore(engine, file)
    finally:
        engine.dispose()
    out.print(f"restored {sum(counts.values())} rows in {len(counts)} tables", markup=False)


@app.command()
@clean_failure
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    database: DatabaseOpt = None,
) -> None:
    """The web platform (API under /api/v1; migrations applied on start). Evaluations and
    optimization runs started on it run in SYMBIOLINK_JOB_WORKERS threads (default 1)."""
    import uvicorn

    from symbiolink.web.app import create_app

    uvicorn.run(create_app(database), host=host, port=port, log_level="info")


@app.command()
@clean_failure
def assess(
    file: ParkPath,
    park_id: ParkIdOpt = None,
    evidence: EvidenceOpt = None,
    framework: Annotated[
        list[str] | None,
        typer.Option("--framework", help="Only this framework (repeatable).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the assessment as JSON.")] = False,
) -> None:
    """Eco-industrial-park criteria, met or not, with the evidence, the gaps and the next steps."""
    from symbiolink.assessment import assess_park, read_evidence

    park = _load(file)
    with _working("Assessing"):
        result = assess_park(
            park, park_id, evidence=read_evidence(evidence), frameworks=framework or None
        )
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n")
        return
    mark = {True: "met", False: "NOT MET", None: "unknown"}
    for fw in result.frameworks():
        table = Table(title=f"{fw}: park {result.park}")
        for col in ("criterion", "status", "value", "threshold", "source"):
            table.add_column(col, overflow="fold")
        for o in result.outcomes:
            if o.criterion.framework != fw:
                continue
            c = o.criterion
            table.add_row(c.id, mark[o.met], "-" if o.value is None else f"{o.value:,.1f}",
                          "-" if c.threshold is None else f"{c.comparison} {c.threshold:g}", c.citation)  # fmt: skip
        out.print(table)
    for o in result.gaps[:10]:
        out.print(f"gap: {o.criterion.id}: {o.evidence}", markup=False)
        for step in o.next_steps:
            out.print(f"   -> {step}", markup=False)


@app.command()
@clean_failure
def report(
    file: ParkPath,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="REPORT.html or REPORT.xlsx.", show_default=False)
    ],
    park_id: ParkIdOpt = None,
    lang: Annotated[str, typer.Option("--lang", help="en or vi.")] = "en",
    evidence: EvidenceOpt = None,
) -> None:
    """A self-contained report a park manager can hand on (HTML that works offline, or Excel)."""
    from symbiolink.assessment import choose_park, read_evidence
    from symbiolink.report import collect, write_report
    from symbiolink.report.i18n import LANGUAGES

    if lang not in LANGUAGES:
        raise SymbiolinkError(f"--lang {lang!r} (accepted: {', '.join(LANGUAGES)})")
    if output.suffix.lower() not in (".html", ".htm", ".xlsx"):
        raise SymbiolinkError(f"{output}: a report is .html or .xlsx")
    park = _load(file)
    pid = choose_park(park, park_id)
    with _working("Writing the report"):
        data = collect(park, pid, evidence=read_evidence(evidence))
        path = write_report(data, output, lang)
    out.print(f"wrote {path}", markup=False)


def main() -> None:
    """Entry point of the ``symbiolink`` command."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
