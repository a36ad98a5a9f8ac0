"""Audit the installed Python environment for known vulnerabilities; exit 1 if any is found.

It runs pip-audit (https://pypi.org/project/pip-audit/) on the environment of the interpreter that
runs this script, asking PyPI's JSON API (``--vulnerability-service pypi``), which lists the OSV
advisories of each release. Where pip-audit could not check a package (PyPI did not answer for
that release), the project's JSON at PyPI is asked instead: it lists the advisories of the latest
release, which is the installed one after a fresh install; a package still unchecked is named,
with the reason, and never counted as safe. A package that is not on PyPI (symbiolink itself) is
named too.

Exit codes: 0 no known vulnerability (unchecked packages listed), 1 a known vulnerability, 2 the
audit could not run at all; with ``--strict``, an unchecked package also gives 1.

Usage: python scripts/audit_dependencies.py [--strict] [--ignore-vuln ID ...]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PYPI_PROJECT = "https://pypi.org/pypi/{name}/json"


@dataclass
class Finding:
    name: str
    version: str
    vuln: str
    fixed_in: list[str]
    via: str


@dataclass
class Outcome:
    checked: list[str] = field(default_factory=list)
    vulnerable: list[Finding] = field(default_factory=list)
    unchecked: list[tuple[str, str, str]] = field(default_factory=list)
    """(package, version, why it could not be checked)"""


#: A project's advisories from PyPI: (latest release, [(id, fixed versions), ...]), or why not.
ProjectLookup = Callable[[str], "tuple[str, list[tuple[str, list[str]]]] | str"]


def pypi_project(name: str, timeout: float = 20.0) -> tuple[str, list[tuple[str, list[str]]]] | str:
    """The latest release of ``name`` on PyPI and its advisories that are not withdrawn, or the
    reason PyPI gave none."""
    try:
        with urllib.request.urlopen(PYPI_PROJECT.format(name=name), timeout=timeout) as r:
            doc = json.load(r)
    except urllib.error.HTTPError as exc:
        return f"PyPI answered {exc.code} for the project"
    except (OSError, ValueError) as exc:
        return f"PyPI could not be asked ({exc.__class__.__name__}: {exc})"
    vulns = [
        (str(v["id"]), [str(x) for x in v.get("fixed_in") or []])
        for v in doc.get("vulnerabilities") or []
        if not v.get("withdrawn")
    ]
    return str(doc["info"]["version"]), vulns


def assess(audit: dict[str, Any], lookup: ProjectLookup, ignore: frozenset[str] = frozenset(),
           local: frozenset[str] = frozenset(), installed: dict[str, str] | None = None) -> Outcome:  # fmt: skip
    """What pip-audit's JSON report says, completed by ``lookup`` for what it skipped, except the
    ``local`` packages (installed from a folder or URL: a PyPI project of the same name is not
    them). ``installed``: the version of each package (pip-audit names none for a skipped one)."""
    out = Outcome()
    for dep in audit.get("dependencies", []):
        name = str(dep["name"])
        version = str(dep.get("version") or (installed or {}).get(_canonical(name)) or "?")
        if _canonical(name) in local:
            out.unchecked.append((name, version, "installed from a folder or URL, not from PyPI"))
            continue
        if "skip_reason" not in dep:
            out.checked.append(name)
            for v in dep.get("vulns", []):
                ids = {v["id"], *v.get("aliases", [])}
                if not ids & ignore:
                    out.vulnerable.append(Finding(name, version, v["id"], list(v.get("fix_versions", [])), "pip-audit"))  # fmt: skip
            continue
        answer = lookup(name)
        if isinstance(answer, str):
            out.unchecked.append((name, version, f"{dep['skip_reason']}; {answer}"))
        elif answer[0] != version:
            out.unchecked.append((name, version, f"{dep['skip_reason']}; PyPI's project JSON lists the advisories of the latest release {answer[0]} only"))  # fmt: skip
        else:
            out.checked.append(name)
            for vuln_id, fixed in answer[1]:
                if vuln_id not in ignore:
                    out.vulnerable.append(Finding(name, version, vuln_id, fixed, "PyPI project JSON"))  # fmt: skip
    return out


def _canonical(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions() -> dict[str, str]:
    return {_canonical(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def local_packages() -> frozenset[str]:
    """Distributions of this environment installed from a folder or a URL (PEP 610's
    ``direct_url.json``), such as an editable install of this project."""
    return frozenset(
        _canonical(d.metadata["Name"])
        for d in importlib.metadata.distributions()
        if d.read_text("direct_url.json") is not None
    )


def exit_code(outcome: Outcome, *, strict: bool = False) -> int:
    return 1 if outcome.vulnerable or (strict and outcome.unchecked) else 0


def report(outcome: Outcome) -> str:
    lines = [
        f"dependency audit: {len(outcome.checked)} packages checked, "
        f"{len(outcome.vulnerable)} known vulnerabilities, {len(outcome.unchecked)} packages NOT checked"
    ]
    for f in outcome.vulnerable:
        fix = f"fixed in {', '.join(f.fixed_in)}" if f.fixed_in else "no fixed release"
        lines.append(f"  VULNERABLE {f.name} {f.version}: {f.vuln} ({fix}; from {f.via})")
    for name, version, why in outcome.unchecked:
        lines.append(f"  not checked {name} {version}: {why}")
    return "\n".join(lines)


def run_pip_audit() -> dict[str, Any] | str:
    """pip-audit's JSON report on this interpreter's environment, or why it could not run."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip_audit", "--vulnerability-service", "pypi", "--format", "json",
         "--progress-spinner", "off"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"pip-audit exited {proc.returncode} without a report: {tail}"
    return doc if isinstance(doc, dict) else f"pip-audit printed no report object: {doc!r:.200}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strict", action="store_true", help="an unchecked package also fails")
    ap.add_argument("--ignore-vuln", action="append", default=[], metavar="ID",
                    help="an advisory (id or alias) judged not to apply; repeatable")  # fmt: skip
    args = ap.parse_args(argv)
    audit = run_pip_audit()
    if isinstance(audit, str):
        print(f"dependency audit could not run: {audit}", file=sys.stderr)
        return 2
    outcome = assess(audit, pypi_project, frozenset(args.ignore_vuln), local_packages(),
                     installed_versions())  # fmt: skip
    print(report(outcome))
    return exit_code(outcome, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
