"""Network analytics, resilience, the national view and scenario sweeps (in process and on Dask)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from symbiolink.accounting.evaluation import evaluate_park
from symbiolink.accounting.policy import Policy
from symbiolink.analytics import NetLink, losses, metrics, reoptimized_loss
from symbiolink.analytics.national import DICTIONARY, anonymised_rows, export_links, national_view
from symbiolink.analytics.pictures import network_figure, sankey, scenario_figure, write_html
from symbiolink.analytics.scenarios import (
    grid_from_mapping,
    grid_points,
    park_task,
    run_scenarios,
    split_parks,
)
from symbiolink.cli import app
from symbiolink.demo import demo_files
from symbiolink.errors import SymbiolinkError
from symbiolink.io import read_park
from symbiolink.matching import Matcher
from symbiolink.optimization import Arc, Network, Node, build_model, solve

runner = CliRunner()


def link(supply: str, a: str, b: str, **kw: object) -> NetLink:
    return NetLink(supply, a, b, str(kw.pop("kind", "material")), "proposed", **kw)  # type: ignore[arg-type]


# -- hand-built networks ---------------------------------------------------------------------------


def test_a_chain_has_the_centralities_computed_by_hand() -> None:
    # A -> B -> C -> D. Directed shortest paths between others through B: A->C, A->D (2 of the
    # (4-1)(4-2) = 6 ordered pairs): 1/3; the same for C (A->D, B->D). Degree: B has 2 of 3 partners.
    m = metrics([link("s1", "A", "B"), link("s2", "B", "C"), link("s3", "C", "D")])
    by = {c.company: c for c in m.companies}
    assert by["B"].betweenness == pytest.approx(1 / 3) and by["C"].betweenness == pytest.approx(
        1 / 3
    )
    assert by["A"].betweenness == 0 and by["D"].betweenness == 0
    assert by["B"].degree_centrality == pytest.approx(2 / 3) and by[
        "A"
    ].degree_centrality == pytest.approx(1 / 3)
    assert m.connectance == pytest.approx(3 / 12)
    assert m.cascade_depth == 3
    assert m.keystones == ["B", "C"]  # either one leaving splits the network


def test_a_hub_is_the_keystone_by_hand() -> None:
    # A, B give to H; H gives to C, D. Paths through H: A->C, A->D, B->C, B->D = 4 of 4 x 3 = 12.
    m = metrics(
        [
            link("a", "A", "H"),
            link("b", "B", "H"),
            link("h1", "H", "C"),
            link("h2", "H", "D", kind="water"),
        ]
    )
    by = {c.company: c for c in m.companies}
    assert by["H"].betweenness == pytest.approx(4 / 12)
    assert by["H"].partners == 4 and by["H"].links_in == 2 and by["H"].links_out == 2
    assert m.keystones == ["H"]
    assert m.kind_share_links == {"material": 0.75, "water": 0.25}
    assert m.cascade_depth == 2


def test_losses_when_a_company_leaves_by_hand() -> None:
    ls = losses([
        link("s1", "A", "B", quantity=10.0, net_benefit_usd_yr=100.0, co2e_avoided_t_yr=5.0),
        link("s2", "B", "C", quantity=4.0, net_benefit_usd_yr=30.0, co2e_avoided_t_yr=1.0),
        link("s3", "D", "B", kind="water", quantity=2.0, net_benefit_usd_yr=7.0, co2e_avoided_t_yr=0.5),
    ])  # fmt: skip
    b = ls[0]
    assert b.company == "B" and b.links_lost == 3
    assert b.money_lost_usd_yr == pytest.approx(137.0) and b.co2e_lost_t_yr == pytest.approx(6.5)
    assert b.stranded == {"s1": 10.0, "s3": 2.0}  # what A and D were sending to B
    assert b.flow_lost == {"material": 14.0, "water": 2.0}
    assert [x.company for x in ls] == ["B", "A", "C", "D"]


def test_the_loss_after_reoptimization_by_hand() -> None:
    # Slag (100 t) saves 30/t at A, 20/t at B (+5/t disposal either way). A leaves: the slag goes to
    # B, so the park loses (30 - 20) x 100 = 1,000 a year, not the 3,500 the A link was worth.
    s = Node("slag", "material", "steel", 100.0)
    a = Node("a-in", "material", "A", 100.0)
    b = Node("b-in", "material", "B", 100.0)
    net = Network(sources={"slag": s}, sinks={"a-in": a, "b-in": b}, facilities={},
                  arcs=[Arc("slag", "a-in", "material", value_usd=30.0), Arc("slag", "b-in", "material", value_usd=20.0)],
                  disposal_usd={"slag": 5.0}, disposal_co2={}, external_usd={}, external_co2={})  # fmt: skip
    assert solve(build_model(net), "cost").totals["net_benefit_usd_yr"] == pytest.approx(3500.0)
    loss = reoptimized_loss(net, "A")
    assert loss["money_lost_usd_yr"] == pytest.approx(1000.0)
    assert loss["money_after_usd_yr"] == pytest.approx(2500.0)
    assert reoptimized_loss(net, "steel")["money_lost_usd_yr"] == pytest.approx(3500.0)


# -- scenarios ------------------------------------------------------------------------------------------


def _vn():  # type: ignore[no-untyped-def]
    return read_park(demo_files()[1])


def test_the_grid_follows_exactly_from_five_evaluations_per_link() -> None:
    """Totals per grid point equal evaluating the park under that policy directly."""
    park = read_park(demo_files()[1])
    grid = {
        "landfill_tax_usd_t": [0.0, 35.0],
        "carbon_price_usd_t": [0.0, 40.0],
        "subsidy_usd_t": [5.0],
        "capex_tax_credit_pct": [0.0, 30.0],
    }
    points = grid_points(grid)
    results = run_scenarios(park, grid, workers=0)
    matches = Matcher().match(park, top=3)
    for point, got in zip(points, results, strict=True):
        direct = evaluate_park(park, matches, Policy().with_levers(**point))
        assert got["viable_links"] == len(direct.viable), point
        assert got["net_benefit_usd_yr"] == pytest.approx(
            direct.totals["net_benefit_usd_yr"], rel=1e-9, abs=1e-6
        )
        assert got["co2e_avoided_t_yr"] == pytest.approx(
            direct.totals["co2e_avoided_t_yr"], rel=1e-9, abs=1e-6
        )


@settings(max_examples=25, deadline=None)
@given(
    tax=st.floats(0, 300),
    more_tax=st.floats(0, 300),
    carbon=st.floats(0, 300),
    more_carbon=st.floats(0, 300),
)
def test_raising_a_landfill_tax_or_carbon_price_never_lowers_the_viable_links(
    tax: float, more_tax: float, carbon: float, more_carbon: float
) -> None:
    doc = split_parks(_vn())[0]
    points = [
        {"landfill_tax_usd_t": tax, "carbon_price_usd_t": carbon},
        {"landfill_tax_usd_t": tax + more_tax, "carbon_price_usd_t": carbon},
        {"landfill_tax_usd_t": tax, "carbon_price_usd_t": carbon + more_carbon},
        {"landfill_tax_usd_t": tax + more_tax, "carbon_price_usd_t": carbon + more_carbon},
    ]
    viable = park_task(doc, points)["viable_links"]
    assert (
        viable[1] >= viable[0] and viable[2] >= viable[0] and viable[3] >= max(viable[1], viable[2])
    )


def test_a_two_worker_dask_cluster_gives_the_same_numbers_as_one_process() -> None:
    park = read_park(demo_files()[1])
    grid = {"landfill_tax_usd_t": [0.0, 20.0, 50.0], "carbon_price_usd_t": [0.0, 50.0]}
    here = run_scenarios(park, grid, workers=0, samples=20, seed=3)
    there = run_scenarios(park, grid, workers=2, samples=20, seed=3)
    assert here == there
    assert len(here) == 6 and all(
        s["net_benefit_usd_yr_p10"] <= s["net_benefit_usd_yr_p90"] for s in here
    )


def test_bad_grids_are_refused_key_by_key() -> None:
    with pytest.raises(SymbiolinkError) as exc:
        grid_from_mapping(
            {"landfill_tax": [1], "carbon_price_usd_t": [-1], "capex_tax_credit_pct": [120]}
        )
    text = str(exc.value)
    assert (
        "unknown lever 'landfill_tax'" in text
        and "-1 is not a number >= 0" in text
        and "over 100" in text
    )


def test_scenarios_cli_prints_the_contract(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("landfill_tax_usd_t: [0, 50]\ncarbon_price_usd_t: [0, 50]\n")
    plot = tmp_path / "curves.html"
    r = runner.invoke(app, ["scenarios", str(demo_files()[1]), "--grid", str(grid), "--workers", "0", "--json",
                            "--plot", str(plot)])  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert len(doc["scenarios"]) == 4
    for s in doc["scenarios"]:
        assert set(s) >= {"params", "viable_links", "net_benefit_usd_yr", "co2e_avoided_t_yr"}
    assert doc["scenarios"][-1]["viable_links"] >= doc["scenarios"][0]["viable_links"]
    assert plot.exists() and "plotly" in plot.read_text()


# -- national view, export, pictures ---------------------------------------------------------------------


def _proposed() -> tuple[object, list[NetLink]]:
    from symbiolink.analytics import proposed_links

    park = read_park(demo_files()[1])
    return park, proposed_links(park, evaluate_park(park, Matcher().match(park, top=3)))


def test_national_view_adds_up() -> None:
    park, chosen = _proposed()
    view = national_view(park, chosen)  # type: ignore[arg-type]
    assert view["links"] == len(chosen) == view["within_parks"] + view["between_parks"]
    assert sum(row["links"] for row in view["by_kind"].values()) == len(chosen)
    assert sum(row["links"] for row in view["by_province"].values()) == len(chosen)
    total = sum(x.net_benefit_usd_yr or 0 for x in chosen)
    assert sum(row["net_benefit_usd_yr"] for row in view["by_sector"].values()) == pytest.approx(
        total
    )


def test_the_exported_data_set_names_no_company(tmp_path: Path) -> None:
    park, chosen = _proposed()
    paths = export_links(park, chosen, tmp_path / "links")  # type: ignore[arg-type]
    csv_text = paths[0].read_text()
    for c in park.companies:  # type: ignore[attr-defined]
        assert c.id not in csv_text and c.name not in csv_text
    frame = pd.read_parquet(paths[1])
    assert list(frame.columns) == list(DICTIONARY) and len(frame) == len(chosen)
    assert set(json.loads(paths[2].read_text())["columns"]) == set(frame.columns)
    rows = anonymised_rows(park, chosen)  # type: ignore[arg-type]
    assert all(len(str(r["supplier_sector"])) <= 2 for r in rows)


def test_pictures_are_one_offline_page(tmp_path: Path) -> None:
    park, chosen = _proposed()
    m = metrics(chosen)
    figs = [network_figure(park, chosen, m), sankey(park, chosen, "material")]  # type: ignore[arg-type]
    figs.append(
        scenario_figure(run_scenarios(park, {"landfill_tax_usd_t": [0.0, 20.0]}, workers=0))
    )  # type: ignore[arg-type]
    page = write_html(figs, tmp_path / "p.html").read_text()
    assert page.count("Plotly.newPlot") == 3
    assert '<script src="http' not in page  # plotly.js is inline: works offline
    keystone_trace = figs[0].data[-1]
    assert sum(1 for c in keystone_trace.marker.color if c == "#d62728") == len(m.keystones)


def test_analyze_cli_json(tmp_path: Path) -> None:
    r = runner.invoke(app, ["analyze", str(demo_files()[0]), "--links", "documented", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["network"]["links"] > 10 and "asnaes" in doc["network"]["keystones"]
    assert doc["resilience"][0]["links_lost"] >= 1
