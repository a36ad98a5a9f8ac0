"""JSON, Excel, CSV and the database all carry the same park."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from symbiolink.demo import demo_files
from symbiolink.io import read_park, write_park
from symbiolink.model.park import FORMAT, ParkFile
from symbiolink.model.validate import validate_document
from symbiolink.store import export_park, import_park

DATA = Path(__file__).parent / "data"
PARKS = [DATA / "good" / "small-park.json", *demo_files()]


@pytest.mark.parametrize("path", PARKS, ids=lambda p: p.name)
@pytest.mark.parametrize("fmt", ["park.xlsx", "park-csv", "park.json"])
def test_file_round_trips(tmp_path: Path, path: Path, fmt: str) -> None:
    park = read_park(path)
    out = tmp_path / fmt
    write_park(park, out)
    again = read_park(out)
    assert again == park
    # And back to JSON: the same document.
    assert again.to_document() == park.to_document()


@pytest.mark.parametrize("path", PARKS, ids=lambda p: p.name)
def test_json_to_store_to_json(engine: Engine, path: Path) -> None:
    park = read_park(path)
    import_park(engine, park, source=str(path))
    assert export_park(engine) == park


# Parks built by Hypothesis: text in any script, awkward numbers, extra properties.
ids = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,11}", fullmatch=True)
names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: s.strip() == s and s)
# Excel keeps 15 significant digits; people's figures have far fewer.
numbers = st.floats(min_value=0, max_value=1e7, allow_nan=False).map(
    lambda x: float(f"{x:.12g}")
) | st.integers(0, 10**6).map(float)
coordinate = st.floats(-90, 90).map(lambda x: float(f"{x:.9g}"))
printable = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
extra_values = st.one_of(
    st.text(printable, max_size=10).filter(lambda s: not _looks_literal(s)),
    st.booleans(),
    st.integers(-1000, 1000),
    numbers,
)


def _looks_literal(s: str) -> bool:
    import json

    try:
        json.loads(s)
    except ValueError:
        return s.strip() != s
    return True


@st.composite
def parks(draw: st.DrawFn) -> ParkFile:
    park_ids = draw(st.lists(ids, min_size=1, max_size=2, unique=True))
    company_ids = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    stream_ids = draw(st.lists(ids, min_size=0, max_size=6, unique=True))
    doc: dict = {"format": FORMAT, "parks": [], "companies": [], "streams": []}
    for pid in park_ids:
        doc["parks"].append(
            {"id": pid, "name": draw(names), "lat": draw(coordinate), "lon": 2 * draw(coordinate)}
        )
    for cid in company_ids:
        c = {"id": cid, "name": draw(names), "park": draw(st.sampled_from(park_ids))}
        c.update(
            draw(
                st.sampled_from(
                    [{}, {"isic": "2410"}, {"nace": "23.51"}, {"vsic": "3700"}, {"isic": "01"}]
                )
            )
        )
        doc["companies"].append(c)
    for sid in stream_ids:
        kind, unit = draw(
            st.sampled_from(
                [
                    ("material", "t/yr"),
                    ("material", "kg/day"),
                    ("water", "m3/h"),
                    ("energy", "MWh/yr"),
                    ("energy", "kW"),
                ]
            )
        )
        s = {"id": sid, "company": draw(st.sampled_from(company_ids)), "direction": draw(st.sampled_from(["supply", "demand"])),
             "kind": kind, "name": draw(names), "quantity": draw(numbers), "unit": unit}  # fmt: skip
        props = {}
        if kind == "water":
            key = "contaminants" if s["direction"] == "supply" else "max_contaminants"
            props[key] = draw(
                st.dictionaries(
                    st.sampled_from(["COD", "TSS", "TDS", "Cl-"]), numbers, min_size=1, max_size=3
                )
            )
        if kind != "material":
            props["temperature_c"] = draw(st.floats(-20, 600).map(lambda x: float(f"{x:.6g}")))
        props.update(
            draw(
                st.dictionaries(
                    st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(
                        lambda k: k not in _DECLARED
                    ),
                    extra_values,
                    max_size=2,
                )
            )
        )
        if props:
            s["properties"] = props
        doc["streams"].append(s)
    park, issues = validate_document(doc)
    assert park is not None, issues
    return park


_DECLARED = {
    "temperature_c",
    "pressure_bar",
    "contaminants",
    "max_contaminants",
    "density_t_m3",
    "moisture_pct",
    "lhv_mj_kg",
    "price",
    "disposal_cost",
    "currency",
}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(park=parks())
def test_generated_parks_round_trip_through_every_format(
    tmp_path_factory: pytest.TempPathFactory, park: ParkFile
) -> None:
    folder = tmp_path_factory.mktemp("rt")
    for name in ("p.json", "p.xlsx", "p-csv"):
        write_park(park, folder / name)
        assert read_park(folder / name) == park, name


def test_text_excel_cannot_hold_is_refused_with_its_path(tmp_path: Path) -> None:
    from symbiolink.errors import ParkFileError

    park = read_park(DATA / "good" / "small-park.json")
    park.streams[1].name = "bell\x07"
    with pytest.raises(ParkFileError) as info:
        write_park(park, tmp_path / "p.xlsx")
    assert info.value.issues[0].path == "streams[1].name"
    # Nor does a park file take it: a park read from any format can be written to every other.
    write_park(park, tmp_path / "p.json")
    with pytest.raises(ParkFileError) as info:
        read_park(tmp_path / "p.json")
    assert [(i.path, i.message) for i in info.value.errors] == [
        ("streams[1].name", "contains U+0007, a control character, at position 4")
    ]
