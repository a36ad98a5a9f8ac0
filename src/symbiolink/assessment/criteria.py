"""Eco-industrial-park criteria as data (``data/assessment/criteria.yaml``), each with its citation,
and the assessment of a park against them.

A criterion is either computed from the registry and links (``evaluation`` names an indicator of
:mod:`symbiolink.assessment.indicators`) or answered with evidence (yes or no with a document, from
the park's evidence file). A criterion without a citation does not load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from symbiolink.assessment.indicators import KEYS, Indicator
from symbiolink.errors import SymbiolinkError, load_yaml_file

FIELDS = ("id", "framework", "category", "statement", "citation", "read_at", "indicator", "evaluation",
          "threshold", "comparison", "unit")  # fmt: skip
COMPARISONS = (">=", "<=", "==", None)


@dataclass(frozen=True)
class Criterion:
    id: str
    framework: str
    category: str
    statement: str
    citation: str
    read_at: str
    indicator: str
    evaluation: str
    threshold: float | None = None
    comparison: str | None = None
    unit: str | None = None
    note: str = ""


def check_entries(entries: Any) -> list[str]:
    """Every problem of the criteria entries; a criterion without a citation is one."""
    if not isinstance(entries, list):
        return ["criteria.yaml: expected a list of criteria"]
    problems: list[str] = []
    seen: set[str] = set()
    for n, e in enumerate(entries):
        where = f"criteria.yaml[{n}] ({e.get('id', '?') if isinstance(e, dict) else '?'})"
        if not isinstance(e, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        for key in (
            "id",
            "framework",
            "category",
            "statement",
            "citation",
            "read_at",
            "indicator",
            "evaluation",
        ):
            if not str(e.get(key) or "").strip():
                problems.append(f"{where}: no {key}")
        if e.get("id") in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(str(e.get("id")))
        ev = e.get("evaluation")
        if ev != "evidence" and ev not in KEYS:
            problems.append(
                f"{where}: evaluation {ev!r} is neither 'evidence' nor an indicator ({', '.join(KEYS)})"
            )
        if e.get("comparison") not in COMPARISONS:
            problems.append(f"{where}: comparison {e.get('comparison')!r} (accepted: >=, <=, ==)")
        if e.get("threshold") is not None and not isinstance(e.get("threshold"), int | float):
            problems.append(f"{where}: threshold {e.get('threshold')!r} is not a number")
        if e.get("threshold") is not None and e.get("comparison") is None:
            problems.append(f"{where}: a threshold needs a comparison")
    return problems


def parse(entries: list[dict[str, Any]]) -> list[Criterion]:
    known = set(Criterion.__dataclass_fields__)
    return [Criterion(**{k: v for k, v in e.items() if k in known}) for e in entries]


@cache
def default_criteria() -> tuple[Criterion, ...]:
    """The shipped criteria; refuses to load if any lacks a citation or is malformed."""
    ref = resources.files("symbiolink").joinpath("data", "assessment", "criteria.yaml")
    entries = yaml.safe_load(ref.read_text(encoding="utf-8"))
    problems = check_entries(entries)
    if problems:
        raise SymbiolinkError("; ".join(problems[:5]))
    return tuple(parse(entries))


def read_evidence(path: str | Path | None) -> dict[str, Any]:
    """A park's evidence file: ``indicators: {key: value or {value, document}}`` and
    ``criteria: {criterion id: {met: true|false, document: ...}}``."""
    if path is None:
        return {}
    p = Path(path)
    doc = load_yaml_file(p) or {}
    if not isinstance(doc, dict) or set(doc) - {"indicators", "criteria"}:
        raise SymbiolinkError(f"{p}: expected the keys 'indicators' and 'criteria'")
    for key, item in (doc.get("indicators") or {}).items():
        if key not in KEYS:
            raise SymbiolinkError(
                f"{p}: indicators.{key} is not an indicator (accepted: {', '.join(KEYS)})"
            )
        value = item.get("value") if isinstance(item, dict) else item
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SymbiolinkError(f"{p}: indicators.{key} = {value!r} is not a number")
    for cid, item in (doc.get("criteria") or {}).items():
        if not isinstance(item, dict) or not isinstance(item.get("met"), bool):
            raise SymbiolinkError(f"{p}: criteria.{cid} needs met: true or false (and a document)")
    return doc


@dataclass
class Outcome:
    criterion: Criterion
    met: bool | None
    value: float | None
    evidence: str
    next_steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        c = self.criterion
        return {
            "id": c.id, "framework": c.framework, "category": c.category, "statement": c.statement,
            "met": self.met, "value": None if self.value is None else round(self.value, 4),
            "threshold": c.threshold, "comparison": c.comparison, "unit": c.unit, "source": c.citation,
            "evidence": self.evidence, "next_steps": self.next_steps,
        }  # fmt: skip


def _compare(value: float, comparison: str | None, threshold: float | None) -> bool | None:
    if threshold is None or comparison is None:
        return None
    if comparison == ">=":
        return value >= threshold
    if comparison == "<=":
        return value <= threshold
    return value == threshold


def judge(
    criteria: Sequence[Criterion], indicators: dict[str, Indicator], evidence: dict[str, Any]
) -> list[Outcome]:
    """Each criterion met, not met or unknown (``None``), with its value and evidence."""
    answers = evidence.get("criteria", {}) or {}
    out: list[Outcome] = []
    for c in criteria:
        answer = answers.get(c.id)
        if answer is not None:
            out.append(
                Outcome(
                    c,
                    bool(answer["met"]),
                    None,
                    f"stated: {answer.get('document', 'no document named')}",
                )
            )
            continue
        if c.evaluation == "evidence":
            out.append(
                Outcome(c, None, None, "not known: needs a document (add it to the evidence file)")
            )
            continue
        ind = indicators.get(c.evaluation)
        if ind is None or ind.value is None:
            out.append(Outcome(c, None, None, ind.basis if ind else "not computed"))
            continue
        met = _compare(ind.value, c.comparison, c.threshold)
        basis = ind.basis + (
            "" if met is not None else "; the source sets no number to compare with"
        )
        out.append(Outcome(c, met, ind.value, basis))
    return out


def gaps(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Criteria not met, furthest from their threshold first, then those not known."""

    def distance(o: Outcome) -> float:
        c = o.criterion
        if o.value is None or c.threshold is None:
            return 0.0
        scale = abs(c.threshold) or 1.0
        return abs(c.threshold - o.value) / scale

    missed = sorted((o for o in outcomes if o.met is False), key=lambda o: -distance(o))
    unknown = [o for o in outcomes if o.met is None]
    return missed + unknown
