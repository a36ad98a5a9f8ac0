"""The command line: exit codes, clean failures, import/export and the template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from symbiolink.cli import app
from symbiolink.io import read_park

runner = CliRunner()


def test_import_then_export_gives_the_park_back(tmp_path: Path, small_park_path: Path) -> None:
    result = runner.invoke(app, ["import", str(small_park_path)])
    assert result.exit_code == 0, result.output
    assert "streams" in result.stdout
    out = tmp_path / "back.json"
    result = runner.invoke(app, ["export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert read_park(out) == read_park(small_park_path)


def test_import_of_a_bad_file_stores_nothing(tmp_path: Path) -> None:
    bad = Path(__file__).parent / "data" / "bad" / "29-many-mistakes-at-once.json"
    result = runner.invoke(app, ["import", str(bad)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["export", "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 1
    assert "no park is stored" in result.stderr


def test_usage_errors_exit_2() -> None:
    assert runner.invoke(app, ["validate"]).exit_code == 2
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "validate", str(tmp_path / "missing.json")])
    # validate reports bad input itself; --debug changes nothing there.
    assert result.exit_code == 1
    result = runner.invoke(app, ["--debug", "template", str(tmp_path / "t.txt")])
    assert result.exit_code == 1 and result.exception is not None


def test_template_has_sheets_notes_and_drop_downs_and_reads_back_once_filled(
    tmp_path: Path,
) -> None:
    path = tmp_path / "park.xlsx"
    result = runner.invoke(app, ["template", str(path)])
    assert result.exit_code == 0, result.output
    wb = load_workbook(path)
    assert {"help", "parks", "companies", "streams"} <= set(wb.sheetnames)
    streams = wb["streams"]
    header = [c.value for c in streams[1]]
    assert header[:4] == ["id", "company", "direction", "kind"]
    assert streams.cell(row=1, column=header.index("unit") + 1).comment is not None
    formulas = {dv.formula1 for dv in streams.data_validations.dataValidation}
    assert any("lists!$A$1:$A$2" in (f or "") for f in formulas)  # supply / demand
    assert len(formulas) == 3
    # A park manager fills in one row per sheet.
    wb["parks"].append(["tn-1", "Tra Noc 1", "VN", 10.1, 105.7])
    wb["companies"].append(["fish", "Seafood processor", "tn-1", "1020"])
    row = {
        "id": "heads",
        "company": "fish",
        "direction": "supply",
        "kind": "material",
        "name": "Fish heads and bones",
        "quantity": 1200,
        "unit": "t/yr",
        "properties.contaminants.COD": None,
    }
    streams.append([row.get(h) for h in header])
    wb.save(path)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    park = read_park(path)
    assert park.companies[0].isic == "1020"
    assert park.streams[0].canonical_quantity() == 1200.0


def test_codes_search_and_show() -> None:
    result = runner.invoke(app, ["codes", "search", "fly", "ash", "--system", "ewc"])
    assert result.exit_code == 0, result.output
    assert "10 01 02" in result.stdout
    result = runner.invoke(app, ["codes", "show", "10 01 04*"])
    assert result.exit_code == 0 and "HAZARDOUS" in result.stdout
    result = runner.invoke(app, ["codes", "show", "24.10"])
    assert "2410" in result.stdout
    result = runner.invoke(app, ["codes", "show", "10 02 77"])
    assert result.exit_code == 1 and "not a known" in result.stderr
    result = runner.invoke(app, ["codes", "search", "x", "--system", "sic"])
    assert result.exit_code == 1


def test_demo_prints_its_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from symbiolink import cli
    from symbiolink.demo import demo_files

    monkeypatch.setattr(cli, "out", Console(width=250, highlight=False))
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "Demo parks" in result.stdout
    for path in demo_files():
        for park in read_park(path).parks:
            assert f"│ {park.id} " in result.stdout
    # Running it twice updates in place.
    again = runner.invoke(app, ["demo"])
    assert again.exit_code == 0 and "updated" in again.stdout


def test_validate_json_for_a_valid_file(small_park_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--json", str(small_park_path)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["valid"] is True
