"""Hostile input, as property tests (issue 9).

The park readers (JSON, a folder of CSV files, an Excel workbook written and read back) and the
validator get huge numbers (1e308, ints beyond 2**63), NaN and infinities (Python's JSON reads
them), empty and whitespace text, control characters and lone surrogates, nesting 10,000 levels
deep and a 10 MB name. The outcome is always a valid park or issues naming the path, never another
exception; and a valid park can be written to each format and read back the same.

The matcher gets parks of hostile but valid values (huge and tiny quantities, odd Unicode, empty
descriptions, companies without coordinates or a sector, every kind and direction, duplicate
names). It never raises, its scores are finite and in 0..1, and each supply's ranks are 1..K.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from symbiolink.errors import Issue
from symbiolink.io import load_park, parse_park_bytes, write_park
from symbiolink.matching import Matcher
from symbiolink.model.park import FORMAT, ParkFile
from symbiolink.model.validate import validate_document

# -- hostile values ------------------------------------------------------------------------------------

HUGE_NUMBERS: list[Any] = [1e308, -1e308, 2**53, 2**53 + 1, 2**63, 2**63 + 1, -(2**64), 10**400,
                           5e-324, -5e-324, -0.0, 0, 1e-300, 123456789.123456789]  # fmt: skip
#: Numbers as JSON text that Python's json module reads though JSON has no such numbers.
NOT_JSON_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]
SPECIAL_TEXT = ["", " ", "   ", "\t", "\n", "line\nbreak", "\x00", "a\x00b", "\x01", "\x1b[31mred",
                "\x7f", "\x85", "\u202eevil", "\u200b", "\ufeff", "\ud800", "a\udfffb", "\uffff",
                "=1+1", "Nhà máy thép", "👷‍♀️", "e\u0301", "x" * 3000]  # fmt: skip
hostile_text = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    # Control, surrogate, format, space and combining characters, and anything else.
    st.text(st.characters(categories=["Cc", "Cs", "Cf", "Zs", "Mn"]), max_size=8),
    st.text(max_size=12),
)
hostile_value = st.one_of(
    hostile_text,
    st.sampled_from(HUGE_NUMBERS),
    st.floats(),  # NaN and infinities included
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.lists(hostile_text, max_size=2),
    st.dictionaries(hostile_text, st.integers() | hostile_text, max_size=2),
)


def _park_document() -> dict[str, Any]:
    """A small valid park: every field the model declares is present somewhere."""
    return {
        "format": FORMAT,
        "parks": [{"id": "p", "name": "Park", "country": "VN", "lat": 20.9, "lon": 106.6, "province": "Hai Phong"}],
        "companies": [
            {"id": "steel", "name": "Steel mill", "park": "p", "isic": "2410", "description": "EAF", "lat": 20.91, "lon": 106.61},
            {"id": "cement", "name": "Cement plant", "park": "p", "nace": "23.51"},
        ],
        "streams": [
            {"id": "slag", "company": "steel", "direction": "supply", "kind": "material", "name": "EAF slag",
             "description": "Black slag", "ewc": "10 02 02", "quantity": 60000, "unit": "t/yr",
             "properties": {"price": 5.0, "disposal_cost": 20.0, "currency": "USD", "density_t_m3": 1.8, "note": "dry"}},
            {"id": "heat", "company": "steel", "direction": "supply", "kind": "energy", "name": "Waste heat",
             "quantity": 5000, "unit": "MWh/yr", "properties": {"temperature_c": 180.0, "pressure_bar": 3}},
            {"id": "water-in", "company": "cement", "direction": "demand", "kind": "water", "name": "Process water",
             "quantity": 12.5, "unit": "m3/h", "properties": {"max_contaminants": {"TDS": 500}}},
        ],
    }  # fmt: skip


def _members(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document: each member of its objects and lists, nested ones too."""
    out = [at] if at else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _members(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _members(v, (*at, i))
    return out


PLACES = _members(_park_document())
# New keys too: an unknown field of a stream, and an extra property.
PLACES += [("streams", 0, "colour"), ("streams", 0, "properties", "colour"), ("parks", 0, "extra")]
#: Places in a sheet or a CSV file: members of the items (a whole list is no cell).
CELLS = [p for p in PLACES if len(p) >= 3 and not isinstance(p[-1], int)]


def _put(doc: Any, at: tuple[Any, ...], value: Any) -> None:
    for key in at[:-1]:
        doc = doc[key]
    doc[at[-1]] = value


def _path(at: tuple[Any, ...]) -> str:
    """``("streams", 0, "properties", "price")`` -> ``streams[0].properties.price``."""
    text = f"{at[0]}[{at[1]}]" if len(at) > 1 else str(at[0])
    for key in at[2:]:
        text += f"[{key}]" if isinstance(key, int) else f".{key}"
    return text


def _check(park: ParkFile | None, issues: list[Issue]) -> None:
    """A valid park and no errors, or no park and at least one error; only Issues."""
    assert all(isinstance(i, Issue) for i in issues)
    errors = [i for i in issues if i.severity == "error"]
    assert (park is None) == bool(errors), issues


def _difference(a: Any, b: Any, rel: float | None, at: str = "") -> str | None:
    """Where ``b`` differs from ``a``. With ``rel``, as a spreadsheet keeps numbers: one kind of
    number (5.0 and 5 are the same), to within ``rel`` of each other."""
    number = (int, float)
    if (
        rel is not None
        and isinstance(a, number)
        and isinstance(b, number)
        and not isinstance(a, bool)
    ):
        return None if math.isclose(a, b, rel_tol=rel) or a == b else f"{at}: {a!r} != {b!r}"
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        found = (_difference(a[k], b[k], rel, f"{at}.{k}") for k in a)
        return next((d for d in found if d), None)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        found = (
            _difference(x, y, rel, f"{at}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=True))
        )
        return next((d for d in found if d), None)
    return None if a == b and type(a) is type(b) else f"{at}: {a!r} != {b!r}"


def _written_and_read_back(park: ParkFile, folder: Path) -> None:
    """A valid park is written to each format and read back valid and the same (in a workbook,
    numbers to 16 significant digits: openpyxl writes no more)."""
    folder.mkdir(parents=True, exist_ok=True)
    for target, rel in (
        (folder / "park.json", None),
        (folder / "park.xlsx", 1e-15),
        (folder / "csv", None),
    ):
        write_park(park, target)
        again, issues = load_park(target)
        assert again is not None, (target.name, [str(i) for i in issues])
        difference = _difference(park.to_document(), again.to_document(), rel)
        assert difference is None, (target.name, difference)


# -- the JSON park file ----------------------------------------------------------------------------------


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(at=st.sampled_from(PLACES), value=hostile_value)
def test_a_hostile_value_anywhere_in_a_json_park(
    tmp_path_factory: pytest.TempPathFactory, at: tuple[Any, ...], value: Any
) -> None:
    doc = _park_document()
    _put(doc, at, value)
    # Python writes NaN and Infinity, and Python's JSON reads them: the reader has to refuse them.
    park, issues = parse_park_bytes(json.dumps(doc).encode(), file="park.json")
    _check(park, issues)
    if park is None:
        errors = [i for i in issues if i.severity == "error"]
        named = [i.path for i in errors if i.path]
        # The error names the place of the hostile value, or one that depends on it (an id that
        # others refer to), or the document where the JSON itself is not JSON.
        assert named or all("JSON" in i.message for i in errors), errors
    else:
        _written_and_read_back(park, tmp_path_factory.mktemp("rt"))


@pytest.mark.parametrize("number", NOT_JSON_NUMBERS)
@pytest.mark.parametrize("at", [("streams", 0, "quantity"), ("parks", 0, "lat"), ("streams", 0, "properties", "price"),
                                ("streams", 0, "properties", "note"), ("streams", 2, "properties", "max_contaminants", "TDS")])  # fmt: skip
def test_nan_and_infinity_in_json_are_refused(number: str, at: tuple[Any, ...]) -> None:
    doc = _park_document()
    _put(doc, at, "@@")
    text = json.dumps(doc).replace('"@@"', number)
    park, issues = parse_park_bytes(text.encode(), file="park.json")
    assert park is None
    (issue,) = issues
    if number.strip("-").isalpha():  # NaN, Infinity: not JSON, said of the file
        assert issue.path == "" and "not valid JSON" in issue.message and "finite" in issue.accepted
    else:  # 1e999 is a JSON number, too large for a double: said of its place
        assert issue.path == _path(at) and "finite" in issue.message


@pytest.mark.parametrize("number", HUGE_NUMBERS)
def test_huge_and_tiny_numbers_are_valid_or_refused_by_path(number: Any, tmp_path: Path) -> None:
    for at in [("streams", 0, "quantity"), ("parks", 0, "lat"), ("streams", 1, "properties", "temperature_c"),
               ("streams", 0, "properties", "note"), ("streams", 2, "properties", "max_contaminants", "TDS")]:  # fmt: skip
        doc = _park_document()
        _put(doc, at, number)
        park, issues = parse_park_bytes(json.dumps(doc).encode(), file="park.json")
        _check(park, issues)
        if park is None:
            assert {i.path for i in issues if i.severity == "error"} == {_path(at)}, issues
        else:
            _written_and_read_back(park, tmp_path / _path(at))


def test_whole_numbers_beyond_what_a_spreadsheet_keeps_are_refused() -> None:
    doc = _park_document()
    doc["streams"][0]["properties"]["batch"] = 2**63 + 1
    park, issues = parse_park_bytes(json.dumps(doc).encode(), file="park.json")
    assert park is None
    assert [(i.path, "spreadsheet" in i.message) for i in issues] == [
        ("streams[0].properties.batch", True)
    ]


@pytest.mark.parametrize(
    "text", ["\x00", "a\x00b", "\x01", "\x1b[31m", "\x7f", "\ud800", "a\udfffb", "\uffff"]
)
@pytest.mark.parametrize("at", [("parks", 0, "name"), ("companies", 0, "description"), ("streams", 0, "name"),
                                ("streams", 0, "unit"), ("streams", 0, "properties", "note")])  # fmt: skip
def test_control_characters_and_lone_surrogates_are_refused_by_path(
    text: str, at: tuple[Any, ...]
) -> None:
    doc = _park_document()
    _put(doc, at, f"x{text}y")
    park, issues = parse_park_bytes(json.dumps(doc).encode(), file="park.json")
    assert park is None
    assert [i.path for i in issues if i.severity == "error"] == [_path(at)], issues
    assert "U+" in issues[0].message and "control characters" in issues[0].accepted


def test_a_control_character_in_a_key_is_refused() -> None:
    doc = _park_document()
    doc["streams"][2]["properties"]["max_contaminants"] = {"TDS\x00": 5}
    park, issues = parse_park_bytes(json.dumps(doc).encode(), file="park.json")
    assert park is None and issues[0].path == "streams[2].properties.max_contaminants"
    assert issues[0].message.startswith("a key contains U+0000")


def test_empty_and_blank_text() -> None:
    doc = _park_document()
    doc["parks"][0]["name"] = "   "
    doc["streams"][0]["description"] = ""
    doc["streams"][0]["properties"]["note"] = " "
    park, issues = parse_park_bytes(json.dumps(doc).encode(), file="park.json")
    assert park is None
    assert [(i.path, i.message) for i in issues if i.severity == "error"] == [
        ("parks[0].name", "is empty")
    ]


# -- nesting ----------------------------------------------------------------------------------------------


def _deep(levels: int, kind: str) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value] if kind == "list" else {"a": value}
    return value


@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize(
    "at", [("parks", 0, "extra"), ("streams", 0, "properties", "note"), ("streams", 0, "colour")]
)
def test_nesting_ten_thousand_levels_deep_gives_a_clear_error(
    kind: str, at: tuple[Any, ...]
) -> None:
    # As JSON text: the reader says the file is nested too deeply (the parser would recurse).
    doc = _park_document()
    _put(doc, at, "@@")
    opening, closing = (
        ("[" * 10_000, "]" * 10_000) if kind == "list" else ('{"a": ' * 10_000, "}" * 10_000)
    )
    text = json.dumps(doc).replace('"@@"', opening + "1" + closing)
    park, issues = parse_park_bytes(text.encode(), file="deep.json")
    assert park is None and len(issues) == 1 and "nested too deeply" in issues[0].message
    # As an object in memory (a caller of the validator, a YAML file): the value's path is named.
    doc = _park_document()
    _put(doc, at, _deep(10_000, kind))
    park, issues = validate_document(doc, file="deep")
    assert park is None
    assert [(i.path, "nested more than" in i.message) for i in issues if i.severity == "error"] == [
        (_path(at), True)
    ]


def test_a_csv_column_nested_ten_thousand_levels_deep(tmp_path: Path) -> None:
    (tmp_path / "parks.csv").write_text("id,name\np,Park\n", encoding="utf-8")
    (tmp_path / "companies.csv").write_text("id,name,park\nc,Co,p\n", encoding="utf-8")
    column = "properties." + ".".join(["a"] * 10_000)
    (tmp_path / "streams.csv").write_text(
        f"id,company,direction,kind,name,{column}\ns,c,supply,material,Slag,1\n", encoding="utf-8"
    )
    park, issues = load_park(tmp_path)
    assert park is None
    assert [i.path for i in issues if i.severity == "error"] == ["streams[0].properties.a"]
    assert "nested more than" in issues[0].message and "line 2" in issues[0].where


# -- a 10 MB name, once per format -----------------------------------------------------------------------

TEN_MB = "n" * (10 * 2**20)


def test_a_ten_megabyte_name_in_each_format(tmp_path: Path) -> None:
    from openpyxl import Workbook

    doc = _park_document()
    doc["companies"][0]["name"] = TEN_MB
    park, issues = parse_park_bytes(json.dumps(doc).encode(), file="big.json")
    assert (
        park is None
        and issues[0].path == "companies[0].name"
        and "10485760 characters" in issues[0].message
    )
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "parks.csv").write_text("id,name\np,Park\n", encoding="utf-8")
    (folder / "companies.csv").write_text(f"id,name,park\nc,{TEN_MB},p\n", encoding="utf-8")
    park, issues = load_park(folder)
    assert (
        park is None
        and issues[0].path == "companies[0].name"
        and issues[0].where == "companies.csv, line 2"
    )
    # A cell holds at most 32,767 characters: Excel's limit, which openpyxl does not enforce.
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "parks"
    ws.append(["id", "name"])
    ws.append(["p", TEN_MB])
    buf = io.BytesIO()
    wb.save(buf)
    park, issues = parse_park_bytes(buf.getvalue(), file="big.xlsx")
    assert (
        park is None
        and issues[0].path == "parks[0].name"
        and issues[0].where == "sheet parks, row 2"
    )


# -- a folder of CSV files, and an Excel workbook --------------------------------------------------------


def _rows(doc: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    from symbiolink.io.tabular import flatten

    out = {}
    for list_name in ("parks", "companies", "streams"):
        flat = [flatten(item) for item in doc[list_name]]
        columns = list(dict.fromkeys(k for row in flat for k in row))
        out[list_name] = (columns, [[row.get(c) for c in columns] for row in flat])
    return out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(at=st.sampled_from(CELLS), value=hostile_value)
def test_a_hostile_cell_in_a_csv_folder(
    tmp_path_factory: pytest.TempPathFactory, at: tuple[Any, ...], value: Any
) -> None:
    doc = _park_document()
    _put(doc, at, value)
    folder = tmp_path_factory.mktemp("csv")
    for list_name, (columns, rows) in _rows(doc).items():
        # What a person or another program would write: text as it is, numbers as Python prints them;
        # a lone surrogate as the bytes a lax encoder makes of it (which are not UTF-8).
        with open(
            folder / f"{list_name}.csv", "w", newline="", encoding="utf-8", errors="surrogatepass"
        ) as fh:
            w = csv.writer(fh)
            w.writerow(columns)
            w.writerows([["" if v is None else v for v in row] for row in rows])
    park, issues = load_park(folder)
    _check(park, issues)
    if park is not None:
        _written_and_read_back(park, tmp_path_factory.mktemp("rt"))


excel_value = st.one_of(
    st.sampled_from(
        [
            *HUGE_NUMBERS[:5],
            5e-324,
            -0.0,
            "_x0000_",
            "_x001B_",
            "=1/0",
            '=HYPERLINK("x")',
            "x" * 32767,
        ]
    ),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=12),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.none(),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(at=st.sampled_from(CELLS), value=excel_value)
def test_a_hostile_cell_in_an_excel_workbook(
    tmp_path_factory: pytest.TempPathFactory, at: tuple[Any, ...], value: Any
) -> None:
    """A workbook written by another program (openpyxl, with any cell value it takes: dates, times,
    formulas, the longest text a cell holds), read back."""
    from openpyxl import Workbook

    doc = _park_document()
    _put(doc, at, "@@")
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for list_name, (columns, rows) in _rows(doc).items():
        ws = wb.create_sheet(list_name)
        ws.append(columns)
        for row in rows:
            ws.append([value if v == "@@" else v for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    park, issues = parse_park_bytes(buf.getvalue(), file="park.xlsx")
    _check(park, issues)
    if park is not None:
        _written_and_read_back(park, tmp_path_factory.mktemp("rt"))


# -- the matcher on hostile but valid parks --------------------------------------------------------------


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher()


QUANTITIES = [None, 0.0, 5e-324, 1e-300, 1e-9, 1.0, 1e9, 1e12]  # to 1e15 canonical units
NAMES = ["EAF slag", "fly ash", "steam", "hot water", "effluent", "rice husk", "x", "Nhà máy", "👷", "\u202eevil",
         "tab\tand\nline", "e\u0301", "\u200b", "=1+1", "a" * 2000, "slag slag slag"]  # fmt: skip
UNITS = {
    "material": ["t/yr", "kg/s", "m3/h"],
    "energy": ["MWh/yr", "kW", "GJ/h"],
    "water": ["m3/h", "L/s", "m3/yr"],
}

company = st.fixed_dictionaries(
    {"name": st.sampled_from(NAMES), "isic": st.sampled_from([None, "2410", "2394", "3510", "1061", "01", "3600"])},
    optional={"lat": st.floats(-90, 90), "lon": st.floats(-180, 180), "description": st.sampled_from(["", "steel", "x" * 10000])},
)  # fmt: skip
stream = st.tuples(
    st.integers(0, 5),  # the company
    st.sampled_from(["supply", "demand"]),
    st.sampled_from(["material", "energy", "water"]),
    st.sampled_from(NAMES),
    st.sampled_from(QUANTITIES),
    st.integers(0, 2),  # the unit
    st.sampled_from(["", "By-product", None]),
    st.sampled_from([{}, {"temperature_c": 1e308}, {"temperature_c": -273.0}, {"contaminants": {"COD": 1e308}},
                     {"max_contaminants": {"TDS": 0.0}}, {"price": -1e308, "disposal_cost": 1e308}, {"density_t_m3": 5e-324}]),
)  # fmt: skip


@st.composite
def hostile_parks(draw: st.DrawFn) -> ParkFile:
    companies = draw(st.lists(company, min_size=1, max_size=6))
    park: dict[str, Any] = {"id": "p", "name": "P"}
    if draw(st.booleans()):
        park.update(lat=draw(st.floats(-90, 90)), lon=draw(st.floats(-180, 180)))
    streams = []
    for n, (c, direction, kind, name, quantity, unit, description, props) in enumerate(
        draw(st.lists(stream, min_size=1, max_size=14))
    ):
        s: dict[str, Any] = {"id": f"s{n}", "company": f"c{c % len(companies)}", "direction": direction, "kind": kind,
                             "name": name, "properties": props}  # fmt: skip
        if quantity is not None:
            s.update(quantity=quantity, unit=UNITS[kind][unit])
        if description is not None:
            s["description"] = description
        streams.append(s)
    doc = {"format": FORMAT, "parks": [park],
           "companies": [{"id": f"c{i}", "park": "p", **c} for i, c in enumerate(companies)], "streams": streams}  # fmt: skip
    valid, _ = validate_document(doc)
    assume(valid is not None)
    assert valid is not None
    return valid


def _check_matches(park: ParkFile, matches: list[Any], top: int) -> None:
    owner = {s.id: s.company for s in park.streams}
    by_supply: dict[str, list[Any]] = defaultdict(list)
    for m in matches:
        assert math.isfinite(m.score) and 0.0 <= m.score <= 1.0, m
        assert m.distance_km is None or (math.isfinite(m.distance_km) and m.distance_km >= 0), m
        assert m.receiver != owner[m.supply], m
        by_supply[m.supply].append(m)
    for supply, ranked in by_supply.items():
        assert [m.rank for m in ranked] == list(range(1, len(ranked) + 1)) and len(ranked) <= top, (
            supply
        )
        assert len({m.receiver for m in ranked}) == len(ranked), supply
        assert [m.score for m in ranked] == sorted((m.score for m in ranked), reverse=True), supply


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(park=hostile_parks(), top=st.integers(1, 6))
def test_the_matcher_on_hostile_but_valid_parks(matcher: Matcher, park: ParkFile, top: int) -> None:
    _check_matches(park, matcher.match(park, top=top), top)
    for d in matcher.match_demands(park, top=top):
        assert math.isfinite(d.score) and 0.0 <= d.score <= 1.0 and 1 <= d.rank <= top, d


def test_the_matcher_on_a_park_built_in_memory_with_a_ten_megabyte_name(matcher: Matcher) -> None:
    """A library caller may build a park without validation: names of control characters and of
    10 MB are not refused there, and the matcher still answers. (A stream's name is read in
    character n-grams by the classifier, which takes about 10 s on 10 MB: it is 100 kB here.)"""
    doc = _park_document()
    doc["streams"].append(
        {"id": "ash", "company": "cement", "direction": "supply", "kind": "material", "name": "x"}
    )
    valid = ParkFile.model_validate(doc)
    companies = {"steel": "\x00\x01\x1b[2J", "cement": TEN_MB}
    streams = {"slag": "\x07" + "slag " * 1000, "ash": "fly ash " * 12_500}
    park = ParkFile.model_construct(
        format=FORMAT,
        parks=valid.parks,
        companies=[c.model_copy(update={"name": companies[c.id]}) for c in valid.companies],
        streams=[
            s.model_copy(update={"name": streams.get(s.id, s.name), "description": ""})
            for s in valid.streams
        ],
    )
    _check_matches(park, matcher.match(park, top=5), 5)
