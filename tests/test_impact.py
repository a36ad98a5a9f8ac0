"""Impact accounting: hand-checked links, policy levers, ranges, and the evaluate command.

The worked examples state every factor they use (as overrides), and the expected money and CO2e
are computed here from those values, by hand, independently of the code's term structure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from symbiolink.accounting.evaluation import evaluate_park
from symbiolink.accounting.factors import default_factors
from symbiolink.accounting.impact import Link, evaluate
from symbiolink.accounting.policy import Policy, load_policy, policy_from_mapping
from symbiolink.accounting.roles import Roles, check_role_table, conversion, usd_rates
from symbiolink.cli import app
from symbiolink.demo import demo_files
from symbiolink.errors import SymbiolinkError
from symbiolink.io import read_park
from symbiolink.matching import Matcher
from symbiolink.model.park import FORMAT, Company, Stream

runner = CliRunner()
HOURS = 8766.0  # a Julian year, the year the unit library uses for "5 MW" -> MWh/yr


def _company(cid: str, isic: str) -> Company:
    return Company.model_validate({"id": cid, "name": cid, "park": "p", "isic": isic})


def _stream(**kw: Any) -> Stream:
    return Stream.model_validate(kw)


def _roles(values: dict[str, float], region: str = "VN") -> Roles:
    return Roles(default_factors(), region, values)


def annuity(capex: float, rate: float, years: float) -> float:
    return capex * rate / (1 - (1 + rate) ** -years)


# -- three worked examples ------------------------------------------------------------------------


def test_fgd_gypsum_by_truck_replacing_natural_gypsum() -> None:
    stated = {
        "gypsum_price": 12.0,  # USD/t of natural gypsum
        "gypsum_production": 0.1408,  # t CO2e/t, mined route
        "gypsum_secondary_route": 0.1053,  # t CO2e/t, FGD route
        "landfill_fee": 25.0,  # USD/t
        "landfill_tax": 0.0,
        "landfill_gypsum_emission": 0.07195,  # t CO2e/t landfilled
        "truck_cost": 0.08,  # USD per t-km
        "truck_emission": 0.00010163,  # t CO2e per t-km
        "road_circuity": 1.2,
    }
    link = Link(
        supply=_stream(id="gyp", company="power", direction="supply", kind="material",
                       name="FGD gypsum", ewc="100105", quantity=100_000, unit="t/yr"),
        supplier=_company("power", "3510"),
        receiver=_company("board", "2395"),
        distance_km=2.0, class_id="fgd_gypsum", family="gypsum", receiver_isic="2395", region="VN",
    )  # fmt: skip
    got = evaluate(link, _roles(stated), Policy())
    q, road_km = 100_000.0, 2.0 * 1.2
    receiver = q * 12.0 - q * road_km * 0.08  # gypsum not bought, minus the truck
    supplier = q * 25.0  # landfill fee no longer paid
    co2 = q * (0.1408 - 0.1053) + q * 0.07195 - q * road_km * 0.00010163
    assert got.product == "natural_gypsum" and got.disposal == "landfill_gypsum"
    assert got.receiver_usd_yr == pytest.approx(receiver)
    assert got.supplier_usd_yr == pytest.approx(supplier)
    assert got.net_benefit_usd_yr == pytest.approx(receiver + supplier)
    assert got.co2e_avoided_t_yr == pytest.approx(co2)
    assert got.waste_diverted_t_yr == pytest.approx(q)
    assert got.virgin_material_saved_t_yr == pytest.approx(q)
    assert got.missing == [] and got.viable


def test_waste_heat_by_pipe_replacing_a_gas_boiler() -> None:
    stated = {
        "heat_loss_share": 5.0,  # percent lost on the way
        "boiler_efficiency": 92.0,  # percent
        "gas_price": 40.0,  # USD per MWh of gas
        "gas_emission": 0.20196,  # t CO2 per MWh of gas
        "heat_pipe_cost": 1000.0,  # USD per metre
        "pipe_om_share": 3.0,  # percent of capex a year
        "discount_rate": 4.0,
        "pipe_lifetime": 20.0,
        "road_circuity": 1.2,
    }
    link = Link(
        supply=_stream(id="heat", company="plant", direction="supply", kind="energy",
                       name="Waste heat, hot water", quantity=5, unit="MW",
                       properties={"temperature_c": 90}),
        supplier=_company("plant", "2394"),
        receiver=_company("dh", "3530"),
        demand=_stream(id="need", company="dh", direction="demand", kind="energy",
                       name="District heat", quantity=60_000, unit="MWh/yr",
                       properties={"temperature_c": 70}),
        distance_km=1.5, class_id="waste_heat", family="heat", receiver_isic="3530", region="VN",
    )  # fmt: skip
    got = evaluate(link, _roles(stated), Policy())
    heat = 5.0 * HOURS  # MWh/yr sent
    gas = heat * 0.95 / 0.92  # MWh of gas the boiler no longer burns
    capex = 1.5 * 1.2 * 1000 * 1000.0
    net = gas * 40.0 - annuity(capex, 0.04, 20) - capex * 0.03
    assert got.product == "boiler_heat"
    assert got.net_benefit_usd_yr == pytest.approx(net)
    assert got.co2e_avoided_t_yr == pytest.approx(gas * 0.20196)
    assert got.primary_energy_saved_mwh_yr == pytest.approx(gas)
    assert got.capex_usd == pytest.approx(capex)
    assert got.payback_years == pytest.approx(capex / (gas * 40.0 - capex * 0.03))
    pv = (1 - 1.04**-20) / 0.04
    assert got.npv_usd == pytest.approx((gas * 40.0 - capex * 0.03) * pv - capex)
    assert got.waste_diverted_t_yr == 0.0


def test_treated_effluent_replacing_groundwater() -> None:
    stated = {
        "water_price": 0.6,  # USD/m3 paid today for groundwater
        "water_supply_energy": 0.00048,  # MWh per m3 pumped and treated
        "grid_emission": 0.6592,  # t CO2/MWh
        "water_pipe_cost": 300.0,  # USD per metre
        "pipe_om_share": 3.0,
        "discount_rate": 4.0,
        "pipe_lifetime": 20.0,
        "road_circuity": 1.2,
    }
    link = Link(
        supply=_stream(id="eff", company="wwtp", direction="supply", kind="water",
                       name="Treated effluent", quantity=500_000, unit="m3/yr"),
        supplier=_company("wwtp", "3700"),
        receiver=_company("steel", "2410"),
        distance_km=1.0, class_id="treated_wastewater", family="water", receiver_isic="2410", region="VN",
    )  # fmt: skip
    got = evaluate(link, _roles(stated), Policy())
    m3 = 500_000.0
    capex = 1.0 * 1.2 * 1000 * 300.0
    assert got.product == "fresh_water"
    assert got.net_benefit_usd_yr == pytest.approx(
        m3 * 0.6 - annuity(capex, 0.04, 20) - capex * 0.03
    )
    assert got.co2e_avoided_t_yr == pytest.approx(m3 * 0.00048 * 0.6592)
    assert got.water_saved_m3_yr == pytest.approx(m3)


# -- policy levers --------------------------------------------------------------------------------


def _gypsum_link(**kw: Any) -> Link:
    base: dict[str, Any] = dict(
        supply=_stream(id="gyp", company="power", direction="supply", kind="material",
                       name="FGD gypsum", quantity=1000, unit="t/yr"),
        supplier=_company("power", "3510"), receiver=_company("board", "2395"), distance_km=40.0,
        class_id="fgd_gypsum", family="gypsum", receiver_isic="2395", region="VN",
    )  # fmt: skip
    base.update(kw)
    return Link(**base)


def test_each_lever_moves_the_net_benefit_by_what_it_says() -> None:
    roles = _roles(
        {"landfill_fee": 0.0, "gypsum_price": 5.0, "truck_cost": 0.2, "pipe_lifetime": 20}
    )
    link = _gypsum_link()
    base = evaluate(link, roles, Policy())
    taxed = evaluate(link, roles, Policy(landfill_tax_usd_t=30))
    subsidised = evaluate(link, roles, Policy(subsidy_usd_t=7))
    priced = evaluate(link, roles, Policy(carbon_price_usd_t=50))
    costly = evaluate(link, roles, Policy(transaction_cost_usd_yr=1000))
    assert taxed.net_benefit_usd_yr - base.net_benefit_usd_yr == pytest.approx(1000 * 30)
    assert subsidised.net_benefit_usd_yr - base.net_benefit_usd_yr == pytest.approx(1000 * 7)
    assert priced.net_benefit_usd_yr - base.net_benefit_usd_yr == pytest.approx(
        50 * base.co2e_avoided_t_yr
    )
    assert costly.supplier_usd_yr - base.supplier_usd_yr == pytest.approx(-500)
    assert not base.viable and taxed.viable  # 40 km of truck costs more than the gypsum is worth


def test_a_capex_tax_credit_shrinks_the_pipe_charge() -> None:
    stated = {
        "heat_pipe_cost": 1000.0,
        "discount_rate": 5.0,
        "pipe_lifetime": 10.0,
        "road_circuity": 1.0,
    }
    link = Link(
        supply=_stream(id="h", company="a", direction="supply", kind="energy", name="Waste heat",
                       quantity=1, unit="MW", properties={"temperature_c": 95}),
        supplier=_company("a", "2394"), receiver=_company("b", "3530"), distance_km=1.0,
        class_id="waste_heat", family="heat", receiver_isic="3530", region="VN",
    )  # fmt: skip
    roles = _roles(stated)
    none = evaluate(link, roles, Policy())
    credit = evaluate(link, roles, Policy(capex_tax_credit_pct=20))
    assert credit.capex_usd == pytest.approx(0.8 * none.capex_usd)
    assert credit.annuity_usd_yr == pytest.approx(0.8 * annuity(1e6, 0.05, 10))


@settings(max_examples=40, deadline=None)
@given(
    tax=st.floats(0, 200),
    more_tax=st.floats(0, 200),
    price=st.floats(0, 200),
    more_price=st.floats(0, 200),
)
def test_raising_a_landfill_tax_or_carbon_price_never_lowers_the_viable_links(
    tax: float, more_tax: float, price: float, more_price: float
) -> None:
    park = read_park(demo_files()[1])
    matches = Matcher().match(park, top=2)
    low = evaluate_park(park, matches, Policy(landfill_tax_usd_t=tax, carbon_price_usd_t=price))
    high = evaluate_park(
        park,
        matches,
        Policy(landfill_tax_usd_t=tax + more_tax, carbon_price_usd_t=price + more_price),
    )
    for a, b in zip(low.impacts, high.impacts, strict=True):
        if a.viable:
            assert b.viable, (a.supply, a.receiver)
    assert len(high.viable) >= len(low.viable)


# -- data and honesty -----------------------------------------------------------------------------


def test_every_role_names_real_factors_whose_units_convert() -> None:
    assert check_role_table(default_factors()) == []


def test_currency_and_gas_units_convert() -> None:
    rates = usd_rates(default_factors())
    assert conversion("kg CO2e / t", "t CO2e / t", rates) == pytest.approx(0.001)
    assert conversion("VND / kWh", "USD / MWh", rates) == pytest.approx(1000 * rates["VND"][0])
    assert conversion("EUR / MWh", "USD / MWh", rates) == pytest.approx(rates["EUR"][0])
    with pytest.raises(SymbiolinkError, match="cannot convert"):
        conversion("kg CO2 / TJ", "USD / t", rates)


def test_a_missing_factor_is_reported_not_guessed() -> None:
    # Viet Nam has no sourced landfill fee in the library; a fee from Malta must not stand in.
    got = evaluate(_gypsum_link(), _roles({}), Policy())
    assert not any(t.name == "landfill gypsum fee avoided" for t in got.terms)
    assert any("landfill gypsum fee" in m for m in got.missing)
    stated = evaluate(
        _gypsum_link(supply=_stream(id="gyp", company="power", direction="supply", kind="material",
                                    name="FGD gypsum", quantity=1000, unit="t/yr",
                                    properties={"disposal_cost": 500000, "currency": "VND"})),
        _roles({}), Policy(),
    )  # fmt: skip
    fee = next(t for t in stated.terms if t.name == "landfill gypsum fee avoided")
    assert fee.usd_yr == pytest.approx(1000 * 500000 * usd_rates(default_factors())["VND"][0])


def test_a_stream_can_say_it_is_not_disposed_of_today() -> None:
    s = _stream(id="gyp", company="power", direction="supply", kind="material", name="FGD gypsum",
                quantity=1000, unit="t/yr", properties={"disposal_route": "none"})  # fmt: skip
    got = evaluate(
        _gypsum_link(supply=s), _roles({"landfill_fee": 30}), Policy(landfill_tax_usd_t=50)
    )
    assert got.disposal is None and got.waste_diverted_t_yr == 0
    assert not any("landfill" in t.name for t in got.terms)
    bad = _stream(id="gyp", company="power", direction="supply", kind="material", name="FGD gypsum",
                  quantity=1, unit="t/yr", properties={"disposal_route": "the sea"})  # fmt: skip
    with pytest.raises(SymbiolinkError, match="disposal_route 'the sea'"):
        evaluate(_gypsum_link(supply=bad), _roles({}), Policy())


def test_a_link_with_an_uncounted_cost_is_never_called_viable() -> None:
    link = _gypsum_link(distance_km=None)
    got = evaluate(link, _roles({"landfill_fee": 30, "gypsum_price": 10}), Policy())
    assert got.net_benefit_usd_yr > 0 and not got.viable and not got.costs_complete
    assert any("distance" in m for m in got.missing)


def test_overrides_of_unknown_names_are_refused() -> None:
    with pytest.raises(SymbiolinkError, match="no_such_factor"):
        Roles(default_factors(), "VN", {"no_such_factor": 1.0})


def test_policy_files_are_checked_key_by_key(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(
        "landfill_tax_usd_t: 20\ncarbon_price_usd_t: -5\ncapex_tax_credit_pct: 150\nfoo: 1\n"
    )
    with pytest.raises(SymbiolinkError) as exc:
        load_policy(f)
    text = str(exc.value)
    assert "carbon_price_usd_t = -5 is negative" in text
    assert "capex_tax_credit_pct = 150 is over 100" in text
    assert "unknown key 'foo'" in text
    assert policy_from_mapping({"factors": {"gypsum_price": 9}}).factors == {"gypsum_price": 9.0}
    p = policy_from_mapping(
        {"factors": {"gypsum_price": 9}, "parks": {"hp": {"gypsum_price": 4, "truck_cost": 0.1}}}
    )
    assert p.overrides_for("hp") == {"gypsum_price": 4.0, "truck_cost": 0.1}
    assert p.overrides_for("other") == {"gypsum_price": 9.0}
    with pytest.raises(SymbiolinkError, match=r"parks\.hp\.gypsum_price = 'x' is not a number"):
        policy_from_mapping({"parks": {"hp": {"gypsum_price": "x"}}})


def test_ranges_and_monte_carlo_bracket_the_central_estimate() -> None:
    park = read_park(demo_files()[1])
    matches = Matcher().match(park, top=3)
    ev = evaluate_park(park, matches, samples=300, seed=1)
    ranged = [i for i in ev.impacts if i.low and i.low["co2"] < i.high["co2"]]
    assert ranged, "the demo should have links whose factors carry a range"
    for i in ev.impacts:
        if i.net_benefit_usd_yr is None:
            continue
        assert i.low["net"] <= i.net_benefit_usd_yr + 1e-6 <= i.high["net"] + 2e-6
        assert i.low["co2"] <= i.co2e_avoided_t_yr + 1e-9 <= i.high["co2"] + 2e-9
        for key, attr in (("net", "net_benefit_usd_yr"), ("co2", "co2e_avoided_t_yr")):
            mc = i.samples[attr]
            assert i.low[key] - 1e-6 <= mc["p10"] <= mc["p50"] <= mc["p90"] <= i.high[key] + 1e-6


# -- command line ---------------------------------------------------------------------------------


def _park_file(tmp_path: Path) -> Path:
    doc = {
        "format": FORMAT,
        "parks": [{"id": "p", "name": "P", "country": "VN", "lat": 20.9, "lon": 106.6}],
        "companies": [
            {"id": "power", "name": "Coal power plant", "park": "p", "isic": "3510"},
            {"id": "board", "name": "Plasterboard plant", "park": "p", "isic": "2395", "lat": 20.95, "lon": 106.6},
        ],
        "streams": [
            {"id": "gyp", "company": "power", "direction": "supply", "kind": "material", "name": "FGD gypsum",
             "ewc": "100105", "quantity": 50000, "unit": "t/yr"},
            {"id": "gyp-in", "company": "board", "direction": "demand", "kind": "material", "name": "Gypsum",
             "quantity": 80000, "unit": "t/yr", "properties": {"price": 0.3}},
        ],
    }  # fmt: skip
    f = tmp_path / "park.json"
    f.write_text(json.dumps(doc))
    return f


def test_evaluate_json_shows_which_links_a_policy_makes_viable(tmp_path: Path) -> None:
    park = _park_file(tmp_path)
    plain = runner.invoke(app, ["evaluate", str(park), "--json"])
    assert plain.exit_code == 0, plain.output
    link = json.loads(plain.stdout)["links"][0]
    assert (link["supply"], link["receiver"], link["displaces"]) == (
        "gyp",
        "board",
        "natural_gypsum",
    )
    assert link["viable"] is False  # 0.3 USD/t of gypsum does not pay ~6.7 km of truck
    policy = tmp_path / "policy.yaml"
    policy.write_text("landfill_tax_usd_t: 20\n")
    taxed = runner.invoke(app, ["evaluate", str(park), "--policy", str(policy), "--json"])
    assert taxed.exit_code == 0, taxed.output
    doc = json.loads(taxed.stdout)
    assert doc["links"][0]["viable"] is True and doc["links"][0]["viable_without_policy"] is False
    assert doc["totals"]["links_viable_only_with_policy"] == 1
    assert doc["totals"]["waste_diverted_t_yr"] == 50000
    assert doc["links"][0]["net_benefit_usd_yr"] - link["net_benefit_usd_yr"] == pytest.approx(
        50000 * 20, abs=1
    )


def test_evaluate_rejects_a_bad_policy_file_in_one_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("landfil_tax: 20\n")
    result = runner.invoke(app, ["evaluate", str(_park_file(tmp_path)), "--policy", str(policy)])
    assert result.exit_code == 1
    assert "unknown key 'landfil_tax'" in result.stderr and "Traceback" not in result.stderr


def test_every_match_carries_an_impact_block(tmp_path: Path) -> None:
    result = runner.invoke(app, ["match", str(_park_file(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    m = json.loads(result.stdout)["matches"][0]
    assert set(m["impact"]) >= {
        "net_benefit_usd_yr",
        "co2e_avoided_t_yr",
        "waste_diverted_t_yr",
        "sources",
    }
    assert m["impact"]["waste_diverted_t_yr"] == 50000
    assert all(s in default_factors().factors for s in m["impact"]["sources"])


def test_demo_parks_evaluate_without_inventing_money() -> None:
    for f in demo_files():
        park = read_park(f)
        ev = evaluate_park(park, Matcher().match(park, top=3))
        assert ev.totals["co2e_avoided_t_yr"] > 0
        for i in ev.impacts:
            for rv in i.factors.values():
                # money never comes from another country's prices or fees unless the role allows it
                if rv.other_region and ("USD" in rv.unit):
                    assert rv.role in {
                        "gypsum_price",
                        "aggregates_price",
                        "cement_price",
                        "heat_pipe_cost",
                    }, rv
