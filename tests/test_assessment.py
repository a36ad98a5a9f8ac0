"""Eco-industrial-park assessment and reports: indicators on hand-built parks, citations, the
report in a real browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook
from typer.testing import CliRunner

from symbiolink.analytics.links import NetLink
from symbiolink.assessment import assess_park, default_criteria, read_evidence
from symbiolink.assessment.criteria import Criterion, check_entries, judge
from symbiolink.assessment.indicators import compute
from symbiolink.cli import app
from symbiolink.demo import demo_files, write_reports
from symbiolink.errors import SymbiolinkError
from symbiolink.io import read_park
from symbiolink.model.park import FORMAT, ParkFile

runner = CliRunner()
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _park() -> ParkFile:
    """Four companies in park p, one outside (o): two effluents, three solid wastes, one hazardous."""

    def c(i: str, isic: str, park: str = "p") -> dict[str, Any]:
        return {"id": i, "name": i.upper(), "park": park, "isic": isic}

    def s(i: str, comp: str, kind: str, q: float | None, unit: str, **kw: Any) -> dict[str, Any]:
        return {
            "id": i,
            "company": comp,
            "direction": "supply",
            "kind": kind,
            "name": i,
            "quantity": q,
            "unit": unit,
            **kw,
        }

    return ParkFile.model_validate({
        "format": FORMAT,
        "parks": [{"id": "p", "name": "P", "country": "VN"}, {"id": "o", "name": "O", "country": "VN"}],
        "companies": [c("steel", "2410"), c("cement", "2394"), c("wwtp", "3700"), c("paper", "1701"), c("farm", "0111", "o")],
        "streams": [
            s("eff-1", "wwtp", "water", 30, "m3/h"), s("eff-2", "paper", "water", 10, "m3/h"),
            s("slag", "steel", "material", 600, "t/yr"), s("sludge", "paper", "material", 300, "t/yr"),
            s("dust", "steel", "material", 100, "t/yr", ewc="100207*"), s("scrap", "cement", "material", None, None),
        ],
    })  # fmt: skip


LINKS = [
    NetLink("slag", "steel", "cement", "material", "documented", quantity=600.0),
    NetLink(
        "dust", "steel", "cement", "material", "documented", quantity=100.0
    ),  # cement (2394) may take it
    NetLink("eff-1", "wwtp", "steel", "water", "documented", quantity=30.0),
    NetLink(
        "sludge", "paper", "farm", "material", "documented", quantity=300.0
    ),  # partner outside the park
]


def test_each_computed_indicator_by_hand() -> None:
    ind = compute(_park(), "p", LINKS)
    assert ind["symbiosis_links"].value == 3  # the sludge link leaves the park
    assert "1 more with partners outside" in ind["symbiosis_links"].basis
    assert ind["enterprises_in_symbiosis_share"].value == pytest.approx(100.0)  # all four take part
    assert ind["wastewater_reuse_share"].value == pytest.approx(100 * 30 / 40)
    # Solid: slag 600 + dust 100 + sludge 300 all go to users, of 1,000 t stated; scrap states none.
    assert ind["waste_recovery_share"].value == pytest.approx(100.0)
    assert "1 more supplies state no quantity" in ind["waste_recovery_share"].basis
    assert ind["hazardous_waste_managed_share"].value == pytest.approx(100.0)
    assert ind["renewable_energy_share"].value is None


def test_indicators_follow_the_links() -> None:
    ind = compute(_park(), "p", LINKS[2:3])  # only the effluent link
    assert ind["symbiosis_links"].value == 1
    assert ind["enterprises_in_symbiosis_share"].value == pytest.approx(50.0)
    assert ind["waste_recovery_share"].value == 0.0
    assert ind["hazardous_waste_managed_share"].value == 0.0
    hazardous_to_farm = [NetLink("dust", "steel", "farm", "material", "documented", quantity=100.0)]
    assert compute(_park(), "p", hazardous_to_farm)["hazardous_waste_managed_share"].value == 0.0


def test_evidence_gives_what_the_registry_cannot() -> None:
    ev = {
        "indicators": {"renewable_energy_share": {"value": 12.5, "document": "energy audit 2025"}}
    }
    ind = compute(_park(), "p", LINKS, ev)
    assert (
        ind["renewable_energy_share"].value == 12.5
        and "energy audit 2025" in ind["renewable_energy_share"].basis
    )


def _criterion(**kw: Any) -> Criterion:
    base = dict(id="x", framework="f", category="park", statement="s", citation="c", read_at="r",
                indicator="i", evaluation="symbiosis_links", threshold=5.0, comparison=">=", unit="count")  # fmt: skip
    base.update(kw)
    return Criterion(**base)


def test_criteria_are_met_not_met_or_unknown() -> None:
    ind = compute(_park(), "p", LINKS)
    crit = [_criterion(id="links5"), _criterion(id="links2", threshold=2.0), _criterion(id="no-number", threshold=None, comparison=None),
            _criterion(id="doc", evaluation="evidence", threshold=None, comparison=None)]  # fmt: skip
    out = {
        o.criterion.id: o
        for o in judge(crit, ind, {"criteria": {"doc": {"met": True, "document": "plan 2024"}}})
    }
    assert out["links5"].met is False and out["links2"].met is True
    assert out["no-number"].met is None and out["no-number"].value == 3
    assert out["doc"].met is True and "plan 2024" in out["doc"].evidence


def test_every_shipped_criterion_has_a_citation() -> None:
    entries = yaml.safe_load(
        (Path(__file__).parents[1] / "src/symbiolink/data/assessment/criteria.yaml").read_text()
    )
    assert check_entries(entries) == []
    assert len(default_criteria()) == len(entries) >= 10
    for c in default_criteria():
        assert c.citation.strip() and c.read_at.strip(), c.id
    broken = [dict(entries[0], citation="")]
    assert any("no citation" in p for p in check_entries(broken))


def test_gaps_come_with_next_steps_from_the_registry() -> None:
    park = read_park(demo_files()[1])
    result = assess_park(park, "vn-hp-namcaukien")
    doc = result.to_dict()
    assert set(doc) >= {"framework", "criteria"}
    for c in doc["criteria"]:
        assert set(c) >= {"id", "met", "value", "threshold", "source"} and c["source"]
    links = next(o for o in result.outcomes if o.criterion.evaluation == "symbiosis_links")
    assert links.value is not None
    evidence_gap = next(o for o in result.gaps if o.criterion.evaluation == "evidence")
    assert evidence_gap.next_steps and evidence_gap.next_steps[0].startswith("add a document")


def test_assess_cli_and_evidence_errors(tmp_path: Path) -> None:
    r = runner.invoke(app, ["assess", str(demo_files()[1]), "--json"])
    assert r.exit_code == 1 and "choose one with --park" in r.stderr
    ev = tmp_path / "ev.yaml"
    ev.write_text("indicators:\n  renewable_share: 10\n")
    with pytest.raises(SymbiolinkError, match="renewable_share is not an indicator"):
        read_evidence(ev)
    r = runner.invoke(app, ["assess", str(demo_files()[0]), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["park"] == "kalundborg"


def test_report_opens_in_chromium_with_its_charts(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    html = tmp_path / "report.html"
    r = runner.invoke(app, ["report", str(demo_files()[0]), "-o", str(html)])
    assert r.exit_code == 0, r.output
    text = html.read_text(encoding="utf-8")
    assert '<script src="http' not in text  # plotly.js is inline: the file works offline
    shot = tmp_path / "report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(html.as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
        charts = page.locator(".js-plotly-plot").count()
        rendered = page.locator(".js-plotly-plot .main-svg").count()
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert charts >= 3 and rendered >= charts
    assert shot.stat().st_size > 50_000  # a page with charts, not a blank one


def test_report_in_vietnamese_and_as_a_workbook(tmp_path: Path) -> None:
    vi = tmp_path / "vi.html"
    r = runner.invoke(
        app,
        ["report", str(demo_files()[1]), "--park", "vn-ct-tranoc", "-o", str(vi), "--lang", "vi"],
    )
    assert r.exit_code == 0, r.output
    assert "Cơ hội cộng sinh" in vi.read_text(encoding="utf-8")
    xlsx = tmp_path / "r.xlsx"
    r = runner.invoke(app, ["report", str(demo_files()[0]), "-o", str(xlsx)])
    assert r.exit_code == 0, r.output
    wb = load_workbook(xlsx)
    assert len(wb.sheetnames) == 6
    assessment = wb[wb.sheetnames[4]]
    assert assessment.max_row == len(default_criteria()) + 1


def test_the_demo_writes_a_report_for_each_demo_park(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    written = write_reports(Console(file=io.StringIO()), demo_files(), tmp_path)
    parks = [p.id for f in demo_files() for p in read_park(f).parks]
    assert sorted(p.stem for p in written) == sorted(parks)
    for p in written:
        assert p.stat().st_size > 100_000 and "Plotly.newPlot" in p.read_text(encoding="utf-8")
