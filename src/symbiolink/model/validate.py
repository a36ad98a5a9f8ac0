"""Validation of park documents: every problem of a file, found in one pass.

The checks are a flat set of ``check_*`` functions over the parsed document, each yielding
:class:`~symbiolink.errors.Issue` objects with the path of what is wrong. :func:`validate_document`
runs them all and returns the park only if no error was found.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from symbiolink.codes.ewc import ewc_lookup, ewc_normalise
from symbiolink.codes.sectors import SYSTEM_NAMES, sector_lookup
from symbiolink.errors import Issue
from symbiolink.model.park import FORMAT, Company, Park, ParkFile, Stream, storable_problem
from symbiolink.model.schema import LISTS, attribute
from symbiolink.model.units import (
    ACCEPTED_DIMENSIONS,
    CANONICAL_UNIT,
    DIMENSION_WORDS,
    UnitProblem,
    parse_unit,
    to_canonical,
)

#: Quantities above these (in canonical units) are flagged as suspicious, not rejected: the largest
#: single sites are well below them (a 10 Mt/yr steelworks, a 2 GW plant's cooling water).
PLAUSIBLE_MAX: dict[str, float] = {"material": 1e8, "water": 5e5, "energy": 1e8}
#: Quantities above this (in canonical units) are refused: ten million times more than any site, so
#: surely a mistake, and sums and products of such numbers overflow (an aggregate, a cost).
MAX_QUANTITY = 1e15


class Located:
    """Where items came from, so issues can name a spreadsheet row as well as a path."""

    def __init__(self, file: str, where: dict[str, list[str]] | None = None) -> None:
        self.file = file
        self.where = where or {}

    def issue(self, path: str, message: str, accepted: str = "", *, warning: bool = False) -> Issue:
        where = ""
        if path.startswith(("parks[", "companies[", "streams[")):
            list_name, _, rest = path.partition("[")
            index = int(rest.split("]", 1)[0])
            rows = self.where.get(list_name)
            if rows and index < len(rows):
                where = rows[index]
        return Issue(self.file, path, message, accepted, "warning" if warning else "error", where)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return repr(value)


_TYPE_WORDS = {
    "string_type": "should be text",
    "float_type": "should be a number",
    "float_parsing": "should be a number",
    "int_type": "should be a whole number",
    "dict_type": "should be an object",
    "list_type": "should be a list",
    "model_type": "should be an object",
    "model_attributes_type": "should be an object",
    "finite_number": "should be a finite number",
}


def _translate(err: Any, list_name: str, model: type[BaseModel]) -> tuple[str, str, str]:
    """(path inside the item, message, accepted) for one pydantic error."""
    loc = [str(p) for p in err["loc"]]
    # Nested mappings: ``properties.contaminants.COD``; the attribute is the first two parts.
    dotted = ".".join(loc)
    decl = attribute(
        list_name, ".".join(loc[:2]) if loc and loc[0] == "properties" else (loc[0] if loc else "")
    )
    accepted = decl.accepted if decl else ""
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return dotted, "required field is missing", accepted
    if kind in _TYPE_WORDS:
        return dotted, f"{_TYPE_WORDS[kind]}, got {_describe(value)}", accepted
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {
            "greater_than_equal": ">=",
            "greater_than": ">",
            "less_than_equal": "<=",
            "less_than": "<",
        }[kind]
        limit = next(iter(ctx.values())) if ctx else ""
        return dotted, f"{_describe(value)} is out of range (must be {bound} {limit})", accepted
    if kind == "literal_error":
        return (
            dotted,
            f"{_describe(value)} is not accepted",
            accepted or str(ctx.get("expected", "")),
        )
    if kind == "string_pattern_mismatch":
        return dotted, f"{_describe(value)} is not in the accepted form", accepted
    if kind == "string_too_short":
        return dotted, "is empty", accepted
    if kind == "string_too_long":
        return (
            dotted,
            f"is too long ({len(value) if isinstance(value, str) else '?'} characters; at most {ctx.get('max_length')})",
            accepted,
        )
    if kind == "not_storable":
        return dotted, err["msg"], str(ctx.get("accepted", accepted))
    if kind == "string_unicode" and (problem := storable_problem(value)) is not None:
        return dotted, *problem  # a lone surrogate in text: said as for any other text
    if kind == "value_error":
        return dotted, str(ctx.get("error", err.get("msg", "invalid value"))), accepted
    return dotted, f"{err.get('msg', 'invalid value')} (got {_describe(value)})", accepted


_PLACEHOLDER_TEXT = "x"


def _partial(model: type[BaseModel], item: dict[str, Any], failed: set[str]) -> BaseModel | None:
    """The item without its failed fields, so the remaining checks can still run on the rest.

    Required fields that failed are filled with a placeholder; callers skip checks on them.
    """
    cleaned = {k: v for k, v in item.items() if k not in failed}
    for name, info in model.model_fields.items():
        if info.is_required() and name not in cleaned:
            choices = typing.get_args(info.annotation)
            cleaned[name] = (
                choices[0]
                if typing.get_origin(info.annotation) is typing.Literal
                else _PLACEHOLDER_TEXT
            )
    try:
        return model.model_validate(cleaned)
    except ValidationError:
        return None


def _parse_items(
    doc: dict[str, Any], loc: Located
) -> tuple[dict[str, list[BaseModel | None]], dict[str, dict[int, set[str]]], list[Issue]]:
    issues: list[Issue] = []
    parsed: dict[str, list[BaseModel | None]] = {}
    unknown: dict[str, dict[int, set[str]]] = {name: {} for name in LISTS}
    for list_name, model in LISTS.items():
        raw = doc.get(list_name, [])
        if list_name not in doc and list_name == "parks":
            issues.append(
                loc.issue(
                    "parks", "required list is missing", "a list of parks, each with id and name"
                )
            )
        if not isinstance(raw, list):
            issues.append(
                loc.issue(
                    list_name, f"should be a list, got {_describe(raw)}", f"a list of {list_name}"
                )
            )
            parsed[list_name] = []
            continue
        items: list[BaseModel | None] = []
        for i, item in enumerate(raw):
            path = f"{list_name}[{i}]"
            if not isinstance(item, dict):
                issues.append(loc.issue(path, f"should be an object, got {_describe(item)}"))
                items.append(None)
                continue
            try:
                obj: BaseModel | None = model.model_validate(item)
            except ValidationError as exc:
                failed: set[str] = set()
                for err in exc.errors(include_url=False):
                    sub, message, accepted = _translate(err, list_name, model)
                    issues.append(loc.issue(f"{path}.{sub}" if sub else path, message, accepted))
                    if err["loc"]:
                        failed.add(str(err["loc"][0]))
                obj = _partial(model, item, failed)
                unknown[list_name][i] = failed
            if obj is not None:
                for key in obj.model_extra or {}:
                    issues.append(
                        loc.issue(
                            f"{path}.{key}",
                            f"unknown field {key!r} is ignored",
                            "put further facts under properties" if list_name == "streams" else "",
                            warning=True,
                        )
                    )
            items.append(obj)
        parsed[list_name] = items
    return parsed, unknown, issues


def check_format(doc: dict[str, Any], loc: Located) -> Iterator[Issue]:
    if "format" not in doc:
        yield loc.issue("format", "required field is missing", FORMAT)
    elif doc["format"] != FORMAT:
        yield loc.issue(
            "format", f"{_describe(doc['format'])} is not a format symbiolink reads", FORMAT
        )
    for key in doc:
        if key not in ("format", *LISTS):
            yield loc.issue(
                key,
                f"unknown top-level key {key!r} is ignored",
                "format, parks, companies, streams",
                warning=True,
            )


def check_unique_ids(
    list_name: str, items: Sequence[BaseModel | None], unknown: dict[int, set[str]], loc: Located
) -> Iterator[Issue]:
    first: dict[str, int] = {}
    for i, obj in enumerate(items):
        if obj is None or "id" in unknown.get(i, ()):
            continue
        ident = obj.id  # type: ignore[attr-defined]
        if ident in first:
            yield loc.issue(
                f"{list_name}[{i}].id",
                f"duplicate id {ident!r}, first used at {list_name}[{first[ident]}]",
                "ids unique within their list",
            )
        else:
            first[ident] = i


def check_references(
    companies: Sequence[Company | None],
    streams: Sequence[Stream | None],
    unknown: dict[str, dict[int, set[str]]],
    loc: Located,
    *,
    raw_ids: dict[str, set[str]],
) -> Iterator[Issue]:
    """Every company names a park of the file, and every stream a company of the file."""
    checks: tuple[tuple[str, Sequence[Company | Stream | None], str, str], ...] = (
        ("companies", companies, "park", "parks"),
        ("streams", streams, "company", "companies"),
    )
    for list_name, items, field, target in checks:
        ids = raw_ids[target]
        for i, item in enumerate(items):
            if item is None or field in unknown[list_name].get(i, ()):
                continue
            ref = getattr(item, field)
            if ref not in ids:
                yield loc.issue(
                    f"{list_name}[{i}].{field}",
                    f"no {field} has id {ref!r}",
                    _some(f"the id of a {field} in this file", ids),
                )


def _some(what: str, ids: set[str]) -> str:
    if not ids:
        return what
    shown = sorted(ids)[:5]
    return f"{what}: {', '.join(shown)}" + (", ..." if len(ids) > 5 else "")


def check_sector_codes(
    companies: Sequence[Company | None], unknown: dict[int, set[str]], loc: Located
) -> Iterator[Issue]:
    for i, c in enumerate(companies):
        if c is None:
            continue
        for system in ("isic", "nace", "vsic"):
            value = getattr(c, system)
            if value is None or system in unknown.get(i, ()):
                continue
            if sector_lookup(system, value) is None:
                decl = attribute("companies", system)
                yield loc.issue(
                    f"companies[{i}].{system}",
                    f"{value!r} is not {'an' if system == 'isic' else 'a'} {SYSTEM_NAMES[system]} code",
                    decl.accepted if decl else "",
                )


def check_streams(
    streams: Sequence[Stream | None], unknown: dict[int, set[str]], loc: Located
) -> Iterator[Issue]:
    for i, s in enumerate(streams):
        if s is None:
            continue
        path = f"streams[{i}]"
        failed = unknown.get(i, set())
        if "ewc" not in failed:
            yield from _check_ewc(s, path, loc)
        if not failed & {"kind", "unit", "properties"}:
            yield from _check_quantity(s, path, loc, quantity_failed="quantity" in failed)
        if not failed & {"direction", "properties"}:
            yield from _check_properties(s, path, loc)


def _check_ewc(s: Stream, path: str, loc: Located) -> Iterator[Issue]:
    if s.ewc is None:
        return
    decl = attribute("streams", "ewc")
    accepted = decl.accepted if decl else ""
    norm = ewc_normalise(s.ewc)
    if norm is None:
        yield loc.issue(
            f"{path}.ewc", f"{s.ewc!r} is not shaped like a List of Waste code", accepted
        )
        return
    entry = ewc_lookup(s.ewc)
    if entry is None:
        yield loc.issue(f"{path}.ewc", f"{s.ewc!r} is not in the List of Waste", accepted)
    elif norm[1] and not entry.hazardous:
        yield loc.issue(
            f"{path}.ewc",
            f"{entry.display} is not a hazardous entry, yet it is marked with *",
            "the * only on hazardous entries",
            warning=True,
        )


def _check_quantity(
    s: Stream, path: str, loc: Located, *, quantity_failed: bool = False
) -> Iterator[Issue]:
    if s.quantity is not None and s.unit is None:
        yield loc.issue(
            f"{path}.unit",
            "a quantity is given without a unit",
            "a rate such as t/yr, m3/h, MWh/yr, kW",
        )
        return
    if s.unit is None:
        return
    words = " or ".join(DIMENSION_WORDS[d] for d in ACCEPTED_DIMENSIONS[s.kind])
    try:
        parsed = parse_unit(s.unit)
    except UnitProblem as exc:
        yield loc.issue(f"{path}.unit", str(exc), f"for a {s.kind} stream, {words}")
        return
    if parsed.dimension not in ACCEPTED_DIMENSIONS[s.kind]:
        what = DIMENSION_WORDS[parsed.dimension].split(" (")[0]
        yield loc.issue(
            f"{path}.unit",
            f"{s.unit!r} is {what}, which does not fit a {s.kind} stream",
            f"for a {s.kind} stream, {words}",
        )
        return
    if parsed.note:
        yield loc.issue(f"{path}.unit", parsed.note, "t for tonnes", warning=True)
    if quantity_failed:
        return
    if s.quantity is None:
        yield loc.issue(
            f"{path}.quantity", "a unit is given without a quantity", "a number >= 0", warning=True
        )
        return
    value = to_canonical(s.quantity, s.unit, s.kind, density_t_m3=s.properties.density_t_m3)
    if value is None:
        yield loc.issue(
            f"{path}.unit",
            f"a material given by volume ({s.unit}) cannot be counted in tonnes without properties.density_t_m3",
            "a mass rate, or add properties.density_t_m3",
            warning=True,
        )
    elif not math.isfinite(value) or value > MAX_QUANTITY:
        yield loc.issue(
            f"{path}.quantity",
            f"{s.quantity:g} {s.unit} is {value:.3g} {CANONICAL_UNIT[s.kind]}, more than any quantity "
            f"symbiolink takes",
            f"up to {MAX_QUANTITY:.0e} {CANONICAL_UNIT[s.kind]}",
        )
    elif value > PLAUSIBLE_MAX[s.kind]:
        yield loc.issue(
            f"{path}.quantity",
            f"{s.quantity:g} {s.unit} ({value:.3g} {CANONICAL_UNIT[s.kind]}) is more than any single site "
            f"produces or uses; check the number and unit",
            f"up to about {PLAUSIBLE_MAX[s.kind]:.0e} {CANONICAL_UNIT[s.kind]}",
            warning=True,
        )


def _check_properties(s: Stream, path: str, loc: Located) -> Iterator[Issue]:
    p = s.properties
    if p.contaminants is not None and s.direction == "demand":
        yield loc.issue(
            f"{path}.properties.contaminants",
            "a demand states contaminants; limits of a demand go in max_contaminants",
            "max_contaminants on demands",
            warning=True,
        )
    if p.max_contaminants is not None and s.direction == "supply":
        yield loc.issue(
            f"{path}.properties.max_contaminants",
            "a supply states max_contaminants; what a supply carries goes in contaminants",
            "contaminants on supplies",
            warning=True,
        )
    if p.temperature_c is not None and p.temperature_c > 2000:
        yield loc.issue(
            f"{path}.properties.temperature_c",
            f"{p.temperature_c:g} C is hotter than any industrial stream",
            "a temperature in degrees Celsius",
            warning=True,
        )


def validate_document(
    doc: Any, *, file: str = "<park>", where: dict[str, list[str]] | None = None
) -> tuple[ParkFile | None, list[Issue]]:
    """Validate a decoded park document; the park if it has no errors, and every issue found.

    ``where`` optionally maps each list to a human location per item (``sheet streams, row 5``).

    Examples
    --------
    >>> park, issues = validate_document({"format": "symbiolink-park/1", "parks": [{"id": "p", "name": "P"}],
    ...     "companies": [{"id": "c", "name": "C", "park": "q"}]}, file="x.json")
    >>> park is None, [str(i) for i in issues]
    (True, ["x.json: companies[0].park: no park has id 'q' (accepted: the id of a park in this file: p)"])
    """
    loc = Located(file, where)
    if not isinstance(doc, dict):
        return None, [
            loc.issue(
                "",
                f"the document should be a JSON object with format, parks, companies and streams, got {_describe(doc)}",
            )
        ]
    issues: list[Issue] = list(check_format(doc, loc))
    parsed, unknown, item_issues = _parse_items(doc, loc)
    issues.extend(item_issues)
    parks, companies, streams = parsed["parks"], parsed["companies"], parsed["streams"]
    for list_name, items in parsed.items():
        issues.extend(check_unique_ids(list_name, items, unknown[list_name], loc))
    raw_ids = {name: _raw_ids(doc.get(name)) for name in ("parks", "companies")}
    issues.extend(check_references(companies, streams, unknown, loc, raw_ids=raw_ids))  # type: ignore[arg-type]
    issues.extend(check_sector_codes(companies, unknown["companies"], loc))  # type: ignore[arg-type]
    issues.extend(check_streams(streams, unknown["streams"], loc))  # type: ignore[arg-type]
    issues.sort(key=_document_order)
    if any(i.severity == "error" for i in issues):
        return None, issues
    park = ParkFile.model_construct(
        format=FORMAT,
        parks=[p for p in parks if isinstance(p, Park)],
        companies=[c for c in companies if isinstance(c, Company)],
        streams=[s for s in streams if isinstance(s, Stream)],
    )
    for obj in (*park.parks, *park.companies, *park.streams):
        if obj.model_extra:
            obj.model_extra.clear()
    return park, issues


_LIST_RANK = {"format": 0, "parks": 1, "companies": 2, "streams": 3}


def _document_order(issue: Issue) -> tuple[int, int]:
    """Issues in the order their items stand in the file (a stable sort keeps checks' order)."""
    head, _, rest = issue.path.partition("[")
    index = int(rest.split("]", 1)[0]) if rest and rest.split("]", 1)[0].isdigit() else -1
    return _LIST_RANK.get(head.split(".")[0], 0), index


def _raw_ids(items: Any) -> set[str]:
    """Ids as written, also of items that failed validation, so one error does not cascade."""
    if not isinstance(items, list):
        return set()
    return {
        str(x["id"]).strip()
        for x in items
        if isinstance(x, dict) and isinstance(x.get("id"), str | int)
    }
