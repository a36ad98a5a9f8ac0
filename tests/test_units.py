import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from symbiolink.model.units import UnitProblem, parse_unit, to_canonical


@pytest.mark.parametrize(
    ("value", "unit", "kind", "expected"),
    [
        (1.0, "t/yr", "material", 1.0),
        (1.0, "kg/day", "material", 365.25 / 1000),
        (2.0, "t/h", "material", 2 * 8766.0),
        (3.0, "m3/h", "water", 3.0),
        (3.0, "m³/h", "water", 3.0),
        (24.0, "m3/day", "water", 1.0),
        (1.0, "L/s", "water", 3.6),
        (20.0, "t/h", "water", 20.0),  # water by mass at 1 t/m3
        (1.0, "MWh/yr", "energy", 1.0),
        (1.0, "kW", "energy", 8.766),
        (5.0, "MW", "energy", 5 * 8766.0),
        (12.0, "GJ/month", "energy", 12 * 12 / 3.6),
    ],
)
def test_conversions_to_canonical_units(
    value: float, unit: str, kind: str, expected: float
) -> None:
    assert to_canonical(value, unit, kind) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("unit", "kind"),
    [("kW", "material"), ("t/yr", "energy"), ("MWh/yr", "water"), ("m3/h", "energy")],
)
def test_units_that_do_not_fit_the_kind_are_refused(unit: str, kind: str) -> None:
    with pytest.raises(UnitProblem, match="does not fit"):
        to_canonical(1.0, unit, kind)


@pytest.mark.parametrize("unit", ["", "banana", "t", "km", "MWh", "t/yr/yr/m"])
def test_non_rates_are_refused(unit: str) -> None:
    with pytest.raises(UnitProblem):
        parse_unit(unit)


def test_material_by_volume_needs_a_density() -> None:
    assert to_canonical(10.0, "m3/yr", "material") is None
    assert to_canonical(10.0, "m3/yr", "material", density_t_m3=0.8) == pytest.approx(8.0)


def test_short_ton_is_flagged() -> None:
    assert "short ton" in parse_unit("ton/yr").note
    assert parse_unit("t/yr").note == ""


@given(
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
    st.sampled_from(["t/day", "kg/h", "t/month"]),
)
def test_mass_conversion_is_linear(x: float, unit: str) -> None:
    one = to_canonical(1.0, unit, "material")
    assert one is not None
    got = to_canonical(x, unit, "material")
    assert got is not None and math.isclose(got, x * one, rel_tol=1e-12, abs_tol=1e-300)
