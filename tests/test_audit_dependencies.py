"""The logic of scripts/audit_dependencies.py on made-up audit results (no network)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).parents[1] / "scripts" / "audit_dependencies.py"


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_dependencies", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_dependencies"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _never(name: str) -> Any:
    raise AssertionError(f"PyPI asked about {name}")


def test_a_known_vulnerability_fails(audit: ModuleType) -> None:
    report = {"dependencies": [
        {"name": "jinja2", "version": "2.10", "vulns": [
            {"id": "PYSEC-2019-217", "fix_versions": ["2.10.1"], "aliases": ["CVE-2019-10906"]}]},
        {"name": "pyyaml", "version": "6.0.2", "vulns": []},
    ]}  # fmt: skip
    outcome = audit.assess(report, _never)
    assert [(f.name, f.vuln) for f in outcome.vulnerable] == [("jinja2", "PYSEC-2019-217")]
    assert audit.exit_code(outcome) == 1
    assert "VULNERABLE jinja2 2.10: PYSEC-2019-217 (fixed in 2.10.1" in audit.report(outcome)
    # An advisory judged not to apply is ignored by its id or any alias.
    assert audit.exit_code(audit.assess(report, _never, frozenset({"CVE-2019-10906"}))) == 0


def test_no_vulnerability_passes(audit: ModuleType) -> None:
    report = {"dependencies": [{"name": "pyyaml", "version": "6.0.2", "vulns": []}]}
    outcome = audit.assess(report, _never)
    assert audit.exit_code(outcome) == 0 and audit.exit_code(outcome, strict=True) == 0
    assert audit.report(outcome).startswith(
        "dependency audit: 1 packages checked, 0 known vulnerabilities, 0 packages NOT checked"
    )


def test_what_pip_audit_skipped_is_asked_again_or_named(audit: ModuleType) -> None:
    def skipped(name: str) -> dict[str, str]:
        return {"name": name, "skip_reason": f"Dependency not found on PyPI: {name}"}

    answers: dict[str, Any] = {
        "fresh": ("2.0", []),  # the installed release is the latest: checked, clean
        "stale": ("3.0", [("GHSA-xxxx", ["3.0"])]),  # only the latest's advisories are known
        "bad": ("1.1", [("PYSEC-1", ["1.2"])]),  # the installed release has an advisory
        "gone": "PyPI answered 404 for the project",
    }
    report = {"dependencies": [skipped(n) for n in (*answers, "symbiolink")]}
    installed = {"fresh": "2.0", "stale": "2.9", "bad": "1.1", "gone": "0.1", "symbiolink": "0.1.0"}
    asked: list[str] = []

    def lookup(name: str) -> Any:
        asked.append(name)
        return answers[name]

    outcome = audit.assess(report, lookup, local=frozenset({"symbiolink"}), installed=installed)
    assert "symbiolink" not in asked  # a local package is not confused with a PyPI namesake
    assert sorted(outcome.checked) == ["bad", "fresh"]
    assert [(f.name, f.version, f.vuln) for f in outcome.vulnerable] == [("bad", "1.1", "PYSEC-1")]
    unchecked = {name: why for name, _version, why in outcome.unchecked}
    assert set(unchecked) == {"stale", "gone", "symbiolink"}
    assert "latest release 3.0 only" in unchecked["stale"]
    assert "404" in unchecked["gone"] and "not from PyPI" in unchecked["symbiolink"]
    text = audit.report(outcome)
    assert "3 packages NOT checked" in text and "not checked stale 2.9" in text


def test_unchecked_packages_fail_only_when_strict(audit: ModuleType) -> None:
    report = {"dependencies": [{"name": "gone", "skip_reason": "not found"}]}
    outcome = audit.assess(report, lambda name: "PyPI could not be asked (URLError)")
    assert not outcome.checked and not outcome.vulnerable
    assert audit.exit_code(outcome) == 0 and audit.exit_code(outcome, strict=True) == 1
