"""Validation: every mistake in a file is found in one pass, with its path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from symbiolink.cli import app
from symbiolink.io import load_park, parse_park_bytes
from symbiolink.model.validate import validate_document

BAD = Path(__file__).parent / "data" / "bad"
EXPECTED: dict[str, list[str]] = json.loads((BAD / "EXPECTED.json").read_text())
runner = CliRunner()


def test_there_is_a_bad_file_for_each_kind_of_mistake() -> None:
    files = sorted(p.name for p in BAD.iterdir() if p.name != "EXPECTED.json")
    assert len(files) >= 25
    assert sorted(EXPECTED) == files


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_is_rejected_with_the_path_of_every_mistake(name: str) -> None:
    park, issues = load_park(BAD / name)
    assert park is None
    errors = [i for i in issues if i.severity == "error"]
    assert errors
    paths = {i.path for i in errors}
    for expected in EXPECTED[name]:
        assert expected in paths, f"{name}: no error at {expected!r}; got {sorted(paths)}"
    for e in errors:
        assert e.file.endswith(name)
        assert e.message


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_command_exits_1_and_names_each_path(name: str) -> None:
    result = runner.invoke(app, ["validate", str(BAD / name)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    for expected in EXPECTED[name]:
        if expected:
            assert f"{expected}:" in result.stderr


def test_valid_file_exits_0(small_park_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(small_park_path)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout


def test_validate_json_output(small_park_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--json", str(BAD / "29-many-mistakes-at-once.json")])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert {
        "streams[0].unit",
        "streams[1].quantity",
        "companies[0].isic",
        "parks[0].lat",
        "streams[2].company",
    } <= {i["path"] for i in report["issues"]}


def _doc(small_park_path: Path) -> dict:
    return json.loads(small_park_path.read_text())


def test_unknown_top_level_keys_warn_but_do_not_fail(small_park_path: Path) -> None:
    doc = _doc(small_park_path)
    doc["generator"] = "someone's script"
    park, issues = validate_document(doc, file="x.json")
    assert park is not None
    assert [(i.severity, i.path) for i in issues] == [("warning", "generator")]


def test_suspicious_quantity_warns(small_park_path: Path) -> None:
    doc = _doc(small_park_path)
    doc["streams"][0]["quantity"] = 1e12
    park, issues = validate_document(doc, file="x.json")
    assert park is not None
    assert [(i.severity, i.path) for i in issues] == [("warning", "streams[0].quantity")]
    assert "more than any single site" in issues[0].message


def test_contaminant_limits_on_the_wrong_side_warn(small_park_path: Path) -> None:
    doc = _doc(small_park_path)
    doc["streams"][3]["properties"] = {"contaminants": {"TDS": 500}}
    _, issues = validate_document(doc, file="x.json")
    assert ("warning", "streams[3].properties.contaminants") in [
        (i.severity, i.path) for i in issues
    ]


def test_extra_properties_are_kept(small_park_path: Path) -> None:
    doc = _doc(small_park_path)
    doc["streams"][0]["properties"] = {"source": "plant survey 2024", "FeO_pct": 28.5}
    park, issues = validate_document(doc, file="x.json")
    assert park is not None and issues == []
    assert park.to_document()["streams"][0]["properties"] == {
        "source": "plant survey 2024",
        "FeO_pct": 28.5,
    }


def test_errors_name_the_sheet_row_of_a_workbook(tmp_path: Path, small_park_path: Path) -> None:
    from openpyxl import load_workbook

    from symbiolink.io import read_park, write_park

    path = tmp_path / "park.xlsx"
    write_park(read_park(small_park_path), path)
    wb = load_workbook(path)
    ws = wb["streams"]
    header = [c.value for c in ws[1]]
    ws.cell(row=3, column=header.index("unit") + 1, value="kW")
    wb.save(path)
    park, issues = load_park(path)
    assert park is None
    [issue] = [i for i in issues if i.severity == "error"]
    assert issue.path == "streams[1].unit"
    assert issue.where == "sheet streams, row 3"
    assert "sheet streams, row 3" in str(issue)


def test_a_single_csv_file_is_explained() -> None:
    park, issues = parse_park_bytes(b"id,name\nhp,Harbour\n", file="parks.csv")
    assert park is None
    assert "folder" in issues[0].message
