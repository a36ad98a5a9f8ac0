"""Hostile input: whatever bytes or JSON come in, the readers give issues or a park, never an
exception."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbiolink.errors import Issue
from symbiolink.io import load_park, parse_park_bytes
from symbiolink.io.csv_io import read_folder
from symbiolink.model.park import ParkFile
from symbiolink.model.validate import validate_document

json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)

field_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
    st.sampled_from(["t/yr", "kW", "m3/h", "10 02 02", "2410", "supply", "demand", "material", "water", "energy", "p", "c", "-1", "1e309"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=5), st.floats() | st.text(max_size=5), max_size=3),
)  # fmt: skip


def _item(keys: list[str]) -> st.SearchStrategy[dict]:
    return st.dictionaries(st.sampled_from(keys), field_values, max_size=len(keys))


park_like = st.fixed_dictionaries(
    {
        "format": st.sampled_from(["symbiolink-park/1", "x", 1]),
        "parks": st.lists(_item(["id", "name", "country", "lat", "lon"]), max_size=3),
        "companies": st.lists(
            _item(["id", "name", "park", "isic", "nace", "vsic", "lat", "lon"]), max_size=3
        ),
        "streams": st.lists(
            _item(
                [
                    "id",
                    "company",
                    "direction",
                    "kind",
                    "name",
                    "ewc",
                    "quantity",
                    "unit",
                    "properties",
                ]
            ),
            max_size=4,
        ),
    }
)


def _check(park: ParkFile | None, issues: list[Issue]) -> None:
    assert all(isinstance(i, Issue) for i in issues)
    if park is None:
        assert any(i.severity == "error" for i in issues)
    else:
        assert not any(i.severity == "error" for i in issues)


@given(st.binary(max_size=2000))
def test_any_bytes(data: bytes) -> None:
    _check(*parse_park_bytes(data, file="x"))


@given(json_values)
def test_any_json_value(value: object) -> None:
    _check(*parse_park_bytes(json.dumps(value).encode(), file="x.json"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(park_like)
def test_park_shaped_documents(doc: dict) -> None:
    _check(*validate_document(doc, file="x.json"))


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=500), st.binary(max_size=500))
def test_any_csv_folder(tmp_path_factory: object, parks: bytes, streams: bytes) -> None:
    folder = Path(tmp_path_factory.mktemp("csv"))  # type: ignore[attr-defined]
    (folder / "parks.csv").write_bytes(parks)
    (folder / "streams.csv").write_bytes(streams)
    doc, _where, issues = read_folder(folder)
    assert doc is not None or issues
    _check(*load_park(folder))
