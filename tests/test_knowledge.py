"""The shipped knowledge: every class and route well formed, every route sourced."""

from __future__ import annotations

from pathlib import Path

import pytest

from symbiolink.codes import ewc_lookup, isic_lookup
from symbiolink.knowledge import default_classifier, default_knowledge
from symbiolink.knowledge.classes import read_yaml
from symbiolink.knowledge.processes import parse_processes, process_classes_check

SOURCES = (
    Path(__file__).parents[1] / "src" / "symbiolink" / "data" / "knowledge" / "SOURCES.md"
).read_text(encoding="utf-8")
CLASSES = read_yaml("classes.yaml")
PATTERNS = read_yaml("patterns.yaml")


def test_classes_are_well_formed() -> None:
    ids = [c["id"] for c in CLASSES]
    assert len(ids) == len(set(ids)) >= 100
    for c in CLASSES:
        assert c["kind"] in ("material", "energy", "water"), c["id"]
        assert c.get("label_en") and c.get("label_vi"), c["id"]
        assert c.get("words_en") or c.get("ewc"), c["id"]
        for code in c.get("ewc") or []:
            assert ewc_lookup(code) is not None, (
                f"{c['id']}: EWC {code} is not in the List of Waste"
            )


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p["id"])
def test_every_route_has_a_known_class_real_sectors_and_a_source(pattern: dict) -> None:
    classes = default_classifier().classes
    assert pattern["class"] in classes
    assert pattern.get("sources"), "a route without a source does not ship"
    for tag in pattern["sources"]:
        assert not tag.startswith("maestri:"), (
            "MAESTRI is the benchmark; its knowledge comes from the data set"
        )
        assert tag in SOURCES, f"{tag} is not expanded in data/knowledge/SOURCES.md"
    assert pattern.get("receiver_isic"), "a route names its receiving sectors"
    for code in [*pattern.get("receiver_isic", []), *(pattern.get("donor_isic") or [])]:
        assert isic_lookup(str(code)) is not None, f"ISIC {code} does not exist"
    assert pattern.get("use")


PROCESSES = read_yaml("processes.yaml")


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p["id"])
def test_every_process_is_sourced_and_names_real_classes_and_sectors(process: dict) -> None:
    parsed = parse_processes([process])
    assert process_classes_check(parsed) == []
    assert process.get("sources"), "a process without a source does not ship"
    for tag in process["sources"]:
        assert not tag.startswith("maestri:"), "MAESTRI is the benchmark"
        assert f"`{tag}`" in SOURCES, f"{tag} is not expanded in data/knowledge/SOURCES.md"
    for code in process.get("isic") or []:
        assert isic_lookup(str(code)) is not None, f"ISIC {code} does not exist"
    assert process.get("label_en") and process.get("label_vi")
    assert process.get("words_en") and process.get("words_vi")


def test_process_ids_are_unique_and_the_loader_refuses_bad_entries() -> None:
    ids = [p["id"] for p in PROCESSES]
    assert len(ids) == len(set(ids)) >= 60
    bad = parse_processes(
        [{"id": "x", "label_en": "x", "words_en": ["x"], "takes": {"no_such_class": "use", "family:slag": {"use": "u", "recovery": "R99"}}}]
    )  # fmt: skip
    problems = process_classes_check(bad)
    assert any("'no_such_class' is no class" in p for p in problems)
    assert any("R99" in p for p in problems)
    assert any("no source" in p for p in problems)


def test_pattern_ids_are_unique() -> None:
    ids = [p["id"] for p in PATTERNS]
    assert len(ids) == len(set(ids))


def test_maestri_knowledge_is_tagged_by_case() -> None:
    kb = default_knowledge()
    maestri = [e for e in kb.evidence if e.tag.startswith("maestri:")]
    assert len(maestri) == 425
    assert {e.tag for e in maestri} == {
        f"maestri:case-{c}" for c in {e.tag.split("-")[-1] for e in maestri}
    }
    assert all(e.citation.startswith("MAESTRI project") for e in maestri)


@pytest.mark.parametrize(
    ("text", "ewc", "expected"),
    [
        ("Xỉ lò điện hồ quang", None, "steel_slag"),
        ("Xi lo dien ho quang", None, "steel_slag"),  # without diacritics
        ("fly-ash", None, "coal_fly_ash"),
        ("flyash from the coal boiler", None, "coal_fly_ash"),
        ("", "100105", "fgd_gypsum"),  # code only
        ("Vỏ trấu", None, "rice_husk"),
        ("rice huks", None, "rice_husk"),  # misspelt
        ("Nước thải đã xử lý", None, "treated_wastewater"),
        ("Phụ phẩm cá tra (đầu, xương)", None, "fish_byproducts"),
        ("spent grains from the brewery", None, "brewers_spent_grain"),
    ],
)
def test_streams_are_understood_in_english_and_vietnamese(
    text: str, ewc: str | None, expected: str
) -> None:
    hits = default_classifier().classify(name=text, ewc=ewc)
    assert hits and hits[0].class_id == expected, hits


@pytest.mark.parametrize(
    ("name", "ewc", "first"),
    [
        ("BFS", "100202", "blast_furnace_slag"),
        ("BOF slag", "100202", "steel_slag"),
        ("COG", "100202", "coke_oven_gas"),
        ("Spent coffee grounds", "020304", "spent_coffee_grounds"),
    ],
)
def test_a_code_shared_by_several_classes_is_settled_by_the_name(
    name: str, ewc: str, first: str
) -> None:
    hits = default_classifier().classify(name=name, ewc=ewc)
    assert hits[0].class_id == first
    # without words, the shared code keeps all its classes as certain
    assert sum(h.confidence == 1.0 for h in default_classifier().classify(ewc=ewc)) >= 2


def test_every_tag_of_the_knowledge_is_explained_in_words() -> None:
    from symbiolink.knowledge.sources import anchor, describe, used_tags

    tags = set(used_tags())
    assert len(tags) > 300 and [t for t in sorted(tags) if not describe(t)] == []
    # A source cited by the exchange patterns and again by the processes keeps its citation.
    slag = describe("usgs:MCS-2003-slag") or ""
    assert slag.startswith("USGS, Mineral Commodity Summaries 2003")
    assert "Also cited for the processes: asphalt-mixing" in slag
    # The MAESTRI cases share one entry of the sources page; every other tag has its own.
    literature = {t for t in tags if not t.startswith("maestri:")}
    assert len({anchor(t) for t in literature}) == len(literature)
    assert {anchor(t) for t in tags - literature} == {"maestri"}
