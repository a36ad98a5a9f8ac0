"""What a provenance tag stands for, in words: the citations of ``data/knowledge/SOURCES.md`` and
the MAESTRI cases of ``maestri-exchanges.csv``, for people reading a match's sources.

Examples
--------
>>> describe("usgs:MCS-2003-slag").startswith("USGS, Mineral Commodity Summaries 2003")
True
>>> describe("maestri:case-1").startswith("MAESTRI project, Industrial Symbiosis exchanges database")
True
>>> describe("no-such:tag") is None
True
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cache
from importlib import resources

from symbiolink.knowledge.base import maestri_rows

MAESTRI_CITATION = "MAESTRI project, Industrial Symbiosis exchanges database (2016-2019)"
#: ``- `tag` — citation`` opens an entry of SOURCES.md; its indented lines continue it.
_ENTRY = re.compile(r"^- `([a-z][\w.-]*:[^`]+)` — (.*)$")


@cache
def citations() -> dict[str, str]:
    """Every tag of ``SOURCES.md`` with its citation as one line of plain text (no Markdown).

    A tag's first entry is its citation; a later entry of the same tag (section 7.3 lists the
    processes that cite a source of the exchange patterns too) is added to it."""
    text = (
        resources.files("symbiolink")
        .joinpath("data", "knowledge", "SOURCES.md")
        .read_text(encoding="utf-8")
    )
    entries: dict[str, list[str]] = defaultdict(list)
    tag: str | None = None
    for line in text.splitlines():
        found = _ENTRY.match(line)
        if found:
            tag = found.group(1)
            entries[tag].append(found.group(2).strip())
        elif tag is not None and line.startswith("  ") and line.strip():
            entries[tag][-1] += " " + line.strip()
        else:
            tag = None
    out = {}
    for key, (first, *later) in entries.items():
        out[key] = " ".join([first, *(f"Also cited for the processes: {x}" for x in later)])
    return {k: re.sub(r"[*`]", "", v) for k, v in out.items()}


@cache
def used_tags() -> frozenset[str]:
    """The tags that the shipped knowledge (exchange patterns, MAESTRI, processes) carries."""
    from symbiolink.knowledge.base import default_knowledge
    from symbiolink.knowledge.processes import default_processes

    return frozenset({e.tag for e in default_knowledge().evidence}) | {
        t for p in default_processes() for t in p.tags
    }


@cache
def maestri_cases() -> dict[str, str]:
    """Each MAESTRI case id with a few of its exchanges in words (donor to receiver: what)."""
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in maestri_rows():
        rows[r["case_id"]].append(r)
    out = {}
    for case, exchanges in rows.items():
        shown = "; ".join(
            f"{r['donor_name']} to {r['receiver_name']}: {r['waste_description']}"
            for r in exchanges[:2]
        )
        out[case] = f"{len(exchanges)} exchanges, e.g. {shown}"
    return out


def describe(tag: str) -> str | None:
    """The source behind ``tag`` in words, or ``None`` for a tag no source file explains."""
    if tag.startswith("maestri:case-"):
        case = tag.removeprefix("maestri:case-")
        about = maestri_cases().get(case)
        return None if about is None else f"{MAESTRI_CITATION}, case {case} ({about})"
    return citations().get(tag)


def anchor(tag: str) -> str:
    """The id of the tag's entry on the sources page (one entry for all MAESTRI cases)."""
    return "maestri" if tag.startswith("maestri:") else re.sub(r"[^\w-]", "-", tag)
