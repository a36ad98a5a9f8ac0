"""The factor library: every number with its source, unit and year."""

from __future__ import annotations

import pytest

from symbiolink.accounting.factors import check_rows, default_factors, read_rows


def test_every_factor_has_a_source_a_unit_and_a_year() -> None:
    assert check_rows(read_rows()) == []
    lib = default_factors()
    assert len(lib.factors) >= 200
    for f in lib.factors.values():
        assert f.source.strip() and f.unit.strip() and 1900 < f.year < 2100, f.id


@pytest.mark.parametrize("field", ["source", "unit", "year"])
def test_a_row_without_source_unit_or_year_is_refused(field: str) -> None:
    row = dict(read_rows()[0])
    row[field] = ""
    assert any(f"no {field}" in p for p in check_rows([row]))


def test_out_of_order_ranges_and_bad_units_are_refused() -> None:
    row = dict(read_rows()[0], low="2", central="1", high="3", unit="furlongs of CO2 per banana")
    problems = check_rows([row])
    assert any("low <= central <= high" in p for p in problems)
    assert any("does not parse" in p for p in problems)


def test_the_vietnamese_grid_series_and_ipcc_defaults_match_their_sources() -> None:
    lib = default_factors()
    vn = lib.series("grid_emission", "VN")
    # Department of Climate Change announcements (FACTS.md): 2019 0.8458 ... 2023 0.6592 t CO2/MWh.
    assert {y: vn[y].central for y in (2019, 2020, 2021, 2022, 2023)} == {
        2019: 0.8458,
        2020: 0.8041,
        2021: 0.7221,
        2022: 0.6766,
        2023: 0.6592,
    }
    assert min(vn) <= 2014
    ng = lib.get("ef_co2_natural_gas_ipcc2006")
    assert ng.quantity().to("kg CO2 / TJ").magnitude == pytest.approx(56100)
