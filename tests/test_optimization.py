"""Network optimization: a published optimum, small systems solved by hand in the tests, and a
cross-check against an independent formulation solved with scipy's linprog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog
from typer.testing import CliRunner

from symbiolink.cli import app
from symbiolink.io import read_park
from symbiolink.model.park import FORMAT, ParkFile
from symbiolink.optimization import (
    Arc,
    Facility,
    Network,
    Node,
    build_model,
    build_network,
    optimize_park,
    solve,
)
from symbiolink.optimization.model import greedy, pareto

DATA = Path(__file__).parent / "data"
runner = CliRunner()
HOURS = 8766.0


def network(
    sources: list[Node],
    sinks: list[Node],
    arcs: list[Arc],
    *,
    disposal_usd: dict[str, float] | None = None,
    external_usd: dict[str, float] | None = None,
    facilities: list[Facility] = (),  # type: ignore[assignment]
) -> Network:
    return Network(
        sources={n.id: n for n in sources}, sinks={n.id: n for n in sinks}, arcs=arcs,
        facilities={f.id: f for f in facilities}, disposal_usd=disposal_usd or {}, disposal_co2={},
        external_usd=external_usd or {}, external_co2={},
    )  # fmt: skip


def flows(result: Any) -> dict[tuple[str, str], float]:
    return {(f["from"], f["to"]): f["quantity"] for f in result.flows}


# -- the published example ------------------------------------------------------------------------


def test_wang_smith_1994_fresh_water_target_is_90_t_per_h() -> None:
    """Wang and Smith (1994), Chem. Eng. Sci. 49(7) 981-1006: four processes, one contaminant; the
    minimum fresh-water intake is 90 t/h."""
    result = optimize_park(read_park(DATA / "wang-smith-1994.json"), "freshwater")
    assert result.status == "optimal"
    assert result.value == pytest.approx(90.0, rel=1e-9)
    assert result.totals["freshwater_m3_h"] == pytest.approx(90.0, rel=1e-9)
    # Water in equals water out: 90 t/h also leave as discharge.
    assert result.totals["discharge_m3_h"] == pytest.approx(90.0, rel=1e-9)


def test_optimize_cli_prints_the_contract_json() -> None:
    r = runner.invoke(
        app, ["optimize", str(DATA / "wang-smith-1994.json"), "--objective", "freshwater", "--json"]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)  # nothing but JSON on stdout (the solver's banner goes elsewhere)
    assert doc["status"] == "optimal"
    assert doc["objective"] == {"name": "freshwater", "value": pytest.approx(90.0), "unit": "m3/h"}
    assert doc["totals"]["freshwater_m3_h"] == pytest.approx(90.0)
    for f in doc["flows"]:
        assert set(f) >= {"from", "to", "kind", "quantity", "unit"}
    fresh = sum(f["quantity"] for f in doc["flows"] if f["from"] == "external")
    assert fresh == pytest.approx(90.0)


# -- small systems solved by hand -------------------------------------------------------------------


def _materials(fixed_b: float = 0.0) -> Network:
    s = Node("slag", "material", "steel", 100.0)
    a = Node("cement-in", "material", "cement", 60.0)
    b = Node("road-in", "material", "road", 80.0)
    return network(
        [s], [a, b],
        [Arc("slag", "cement-in", "material", value_usd=25.0), Arc("slag", "road-in", "material", value_usd=18.0, fixed_usd=fixed_b)],
        disposal_usd={"slag": 10.0}, external_usd={"cement-in": 30.0, "road-in": 20.0},
    )  # fmt: skip


def test_materials_go_where_they_save_most_by_hand() -> None:
    # Each tonne saves its disposal fee (10) plus the arc's value: 35 to cement, 28 to road.
    # Cement takes all it can (60 t), road the remaining 40 t.
    r = solve(build_model(_materials()), "cost")
    assert flows(r)[("slag", "cement-in")] == pytest.approx(60)
    assert flows(r)[("slag", "road-in")] == pytest.approx(40)
    assert r.totals["net_benefit_usd_yr"] == pytest.approx(60 * 35 + 40 * 28)
    baseline = 60 * 30 + 80 * 20 + 100 * 10
    assert r.value == pytest.approx(baseline - (60 * 35 + 40 * 28))
    assert flows(r)[("external", "road-in")] == pytest.approx(40)


def test_a_link_is_built_only_if_it_pays_its_fixed_cost_by_hand() -> None:
    # 40 t to the road save 40 x 28 = 1,120 a year: not worth a 1,500 pipe-like fixed cost ...
    r = solve(build_model(_materials(fixed_b=1500.0)), "cost")
    assert ("slag", "road-in") not in flows(r) and r.built_links == []
    assert flows(r)[("slag", "disposal")] == pytest.approx(40)
    assert r.totals["net_benefit_usd_yr"] == pytest.approx(60 * 35)
    # ... but worth a 1,000 one.
    r = solve(build_model(_materials(fixed_b=1000.0)), "cost")
    assert r.built_links == ["slag->road-in"]
    assert r.totals["net_benefit_usd_yr"] == pytest.approx(60 * 35 + 40 * 28 - 1000)


def test_water_with_two_contaminants_by_hand() -> None:
    # Demand 60 m3/h with A <= 50 and B <= 50 mg/L. W1: 50 m3/h, A 20, B 100; W2: 30 m3/h, A 80, B 10.
    # With all of W2 (30): A leaves 3000 - 2400 = 600 for W1 (x1 <= 30); B leaves 3000 - 300 = 2700
    # (x1 <= 27). So x1 = 27, x2 = 30 and fresh water = 60 - 57 = 3. B binds; A does not
    # (27 x 20 + 30 x 80 = 2,940 < 3,000).
    w1 = Node("w1", "water", "a", 50.0, contaminants={"A": 20.0, "B": 100.0})
    w2 = Node("w2", "water", "b", 30.0, contaminants={"A": 80.0, "B": 10.0})
    d = Node("d", "water", "c", 60.0, max_contaminants={"A": 50.0, "B": 50.0})
    r = solve(
        build_model(network([w1, w2], [d], [Arc("w1", "d", "water"), Arc("w2", "d", "water")])),
        "freshwater",
    )
    assert r.value == pytest.approx(3.0)
    assert flows(r)[("w1", "d")] == pytest.approx(27.0)
    assert flows(r)[("w2", "d")] == pytest.approx(30.0)
    why = " ".join(r.explanations[0]["why"])
    assert "contaminant B" in why and "contaminant A" not in why


def _heat_park() -> ParkFile:
    def company(i: str) -> dict[str, Any]:
        return {
            "id": i,
            "name": i,
            "park": "p",
            "isic": "2011",
            "lat": 20.9,
            "lon": 106.6 + 0.001 * len(i),
        }

    def heat(i: str, c: str, direction: str, mw: float, t: float) -> dict[str, Any]:
        return {"id": i, "company": c, "direction": direction, "kind": "energy", "name": f"{i} hot water",
                "quantity": mw, "unit": "MW", "properties": {"temperature_c": t}}  # fmt: skip

    return ParkFile.model_validate({
        "format": FORMAT, "parks": [{"id": "p", "name": "P", "country": "VN", "lat": 20.9, "lon": 106.6}],
        "companies": [company(c) for c in ("a", "bb", "ccc", "dddd")],
        "streams": [heat("h150", "a", "supply", 10, 150), heat("h80", "bb", "supply", 10, 80),
                    heat("d120", "ccc", "demand", 8, 120), heat("d60", "dddd", "demand", 15, 60)],
    })  # fmt: skip


def test_heat_with_temperature_levels_by_hand() -> None:
    # 150 C heat may serve the 120 C and the 60 C needs (10 K approach); 80 C heat only the 60 C one.
    # Best: 8 MW of 150 C heat to the 120 C need, its other 2 MW and all the 80 C heat to the 60 C
    # need, which buys 3 MW from outside.
    net = build_network(_heat_park())
    assert {a.id for a in net.arcs} == {"h150->d120", "h150->d60", "h80->d60"}
    assert any("h80" in reason and "not hot enough" in reason for reason in net.excluded["d120"])
    r = solve(build_model(net), "co2")
    f = flows(r)
    assert f[("h150", "d120")] == pytest.approx(8 * HOURS)
    assert f[("h150", "d60")] == pytest.approx(2 * HOURS)
    assert f[("h80", "d60")] == pytest.approx(10 * HOURS)
    assert f[("external", "d60")] == pytest.approx(3 * HOURS)
    assert ("external", "d120") not in f


def _facility_network(fixed: float) -> Network:
    w = Node("w", "water", "a", 40.0, contaminants={"C": 500.0})
    d = Node("d", "water", "b", 40.0, max_contaminants={"C": 20.0})
    plant = Facility("reuse", "water", capacity=30.0, fixed_cost_usd_yr=fixed, outlet_contaminants={"C": 10.0},
                     inlet_max_contaminants={"C": 1000.0})  # fmt: skip
    fin = Node("reuse:in", "water", None, 30.0, max_contaminants={"C": 1000.0}, facility="reuse")
    fout = Node("reuse:out", "water", None, 30.0, contaminants={"C": 10.0}, facility="reuse")
    arcs = [Arc("w", "d", "water", value_usd=100.0), Arc("w", "reuse:in", "water"),
            Arc("reuse:out", "d", "water", value_usd=100.0)]  # fmt: skip
    return network([w, fout], [d, fin], arcs, facilities=[plant], external_usd={"d": 100.0})


def test_one_shared_facility_by_hand() -> None:
    # Direct reuse is capped by the limit: x * 500 <= 20 * 40, x <= 1.6. With the plant (30 m3/h out at
    # 10 mg/L) the load left is 800 - 300 = 500, so 1 m3/h can still come direct: fresh = 40 - 31 = 9.
    r = solve(build_model(_facility_network(fixed=1000.0)), "freshwater")
    assert r.value == pytest.approx(9.0)
    assert r.opened_facilities == ["reuse"]
    assert flows(r)[("facility:reuse", "d")] == pytest.approx(30.0)
    assert flows(r)[("w", "d")] == pytest.approx(1.0)
    # For money: 31 units at 100 = 3,100 against a 1,000 plant: built. At 5,000 it is not (1.6 x 100).
    assert solve(build_model(_facility_network(fixed=1000.0)), "cost").totals[
        "net_benefit_usd_yr"
    ] == pytest.approx(3100 - 1000)
    r = solve(build_model(_facility_network(fixed=5000.0)), "cost")
    assert r.opened_facilities == [] and r.totals["net_benefit_usd_yr"] == pytest.approx(160.0)


def test_unmet_demand_is_explained_when_the_outside_is_ruled_out() -> None:
    w = Node("w", "water", "a", 10.0, contaminants={"C": 100.0})
    d = Node("d", "water", "b", 30.0, max_contaminants={"C": 50.0})
    net = network([w], [d], [Arc("w", "d", "water")])
    r = solve(build_model(net, no_outside=frozenset({"water"})), "cost")
    assert r.status == "partly unmet"
    assert r.totals["unmet"] == pytest.approx(20.0)
    e = r.explanations[0]
    assert e["demand"] == "d" and e["unmet"] == pytest.approx(20.0)
    assert "ruled out" in e["why"][0]


def test_pareto_front_trades_money_for_co2() -> None:
    s = Node("s", "material", "a", 100.0)
    cheap = Node("cheap", "material", "b", 100.0)
    clean = Node("clean", "material", "c", 100.0)
    net = network([s], [cheap, clean], [Arc("s", "cheap", "material", value_usd=10, co2_t=1),
                                        Arc("s", "clean", "material", value_usd=4, co2_t=3)])  # fmt: skip
    front = pareto(build_model(net), 3)
    assert front[0]["net_benefit_usd_yr"] == pytest.approx(1000) and front[0][
        "co2e_avoided_t_yr"
    ] == pytest.approx(100)
    assert front[-1]["net_benefit_usd_yr"] == pytest.approx(400) and front[-1][
        "co2e_avoided_t_yr"
    ] == pytest.approx(300)
    assert front[1]["co2e_avoided_t_yr"] == pytest.approx(200) and front[1][
        "net_benefit_usd_yr"
    ] == pytest.approx(700)


def test_the_optimum_is_never_worse_than_greedy() -> None:
    net = _materials(fixed_b=1000.0)
    best = solve(build_model(net), "cost").totals["net_benefit_usd_yr"]
    assert best >= greedy(net) - 1e-6


# -- cross-check against an independent formulation ----------------------------------------------------


def _random_water(rng: np.random.Generator) -> tuple[Network, dict[str, Any]]:
    n_s, n_d, n_c = rng.integers(2, 7), rng.integers(2, 7), rng.integers(1, 4)
    names = [f"c{k}" for k in range(n_c)]
    q = rng.uniform(5, 100, n_s)
    d = rng.uniform(5, 100, n_d)
    conc = rng.uniform(0, 800, (n_s, n_c))
    cmax = rng.uniform(0, 400, (n_d, n_c))
    sources = [
        Node(
            f"s{i}",
            "water",
            f"s{i}",
            float(q[i]),
            contaminants=dict(zip(names, map(float, conc[i]), strict=True)),
        )
        for i in range(n_s)
    ]
    sinks = [
        Node(
            f"d{j}",
            "water",
            f"d{j}",
            float(d[j]),
            max_contaminants=dict(zip(names, map(float, cmax[j]), strict=True)),
        )
        for j in range(n_d)
    ]
    arcs = [Arc(s.id, t.id, "water") for s in sources for t in sinks]
    return network(sources, sinks, arcs), {"q": q, "d": d, "conc": conc, "cmax": cmax}


def _linprog_fresh(p: dict[str, Any]) -> float:
    """Minimum fresh water, written independently: variables x[i, j] row-major, then f[j]."""
    q, d, conc, cmax = p["q"], p["d"], p["conc"], p["cmax"]
    n_s, n_d, n_c = len(q), len(d), conc.shape[1]
    nx = n_s * n_d
    c = np.concatenate([np.zeros(nx), np.ones(n_d)])
    a_eq = np.zeros((n_d, nx + n_d))
    for j in range(n_d):
        a_eq[j, [i * n_d + j for i in range(n_s)]] = 1.0
        a_eq[j, nx + j] = 1.0
    a_ub, b_ub = [], []
    for i in range(n_s):  # a source gives at most what it has
        row = np.zeros(nx + n_d)
        row[i * n_d : (i + 1) * n_d] = 1.0
        a_ub.append(row)
        b_ub.append(q[i])
    for j in range(n_d):  # each contaminant: mass into the inlet within limit x demand
        for k in range(n_c):
            row = np.zeros(nx + n_d)
            for i in range(n_s):
                row[i * n_d + j] = conc[i, k]
            a_ub.append(row)
            b_ub.append(cmax[j, k] * d[j])
    res = linprog(
        c, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=a_eq, b_eq=d, bounds=(0, None), method="highs"
    )
    assert res.status == 0
    return float(res.fun)


def test_fresh_water_optimum_matches_an_independent_linprog_formulation() -> None:
    rng = np.random.default_rng(20261126)
    for _ in range(60):
        net, p = _random_water(rng)
        ours = solve(build_model(net), "freshwater").value
        theirs = _linprog_fresh(p)
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-6)


def test_a_saved_result_reads_back_from_the_database(database_url: str) -> None:
    from symbiolink.store import using_store
    from symbiolink.store.optimizations import load_optimization

    path = DATA / "wang-smith-1994.json"
    r = runner.invoke(app, ["optimize", str(path), "--objective", "freshwater", "--json", "--save"])
    assert r.exit_code == 0, r.output
    printed = json.loads(r.stdout)
    with using_store(database_url) as engine:
        stored = load_optimization(engine, park="ws94")
    assert stored is not None and stored["parks"] == ["ws94"]
    assert stored["objective"] == printed["objective"] and stored["flows"] == printed["flows"]
    assert stored["params"]["objective"] == "freshwater"


def test_bad_options_fail_in_one_line(tmp_path: Path) -> None:
    path = str(DATA / "wang-smith-1994.json")
    r = runner.invoke(app, ["optimize", path, "--objective", "profit"])
    assert r.exit_code == 1 and "accepted: cost, co2, freshwater" in r.stderr
    bad = tmp_path / "f.yaml"
    bad.write_text("facilities:\n  - {id: x, kind: water}\n")
    r = runner.invoke(app, ["optimize", path, "--facilities", str(bad)])
    assert r.exit_code == 1 and "capacity is required" in r.stderr and "Traceback" not in r.stderr
