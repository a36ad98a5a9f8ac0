"""Flattening parks to rows and back, shared by the Excel and CSV formats.

Nested objects become dotted column names (``properties.temperature_c``,
``properties.contaminants.COD``). Empty cells mean absent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from symbiolink.model.park import ParkFile
from symbiolink.model.schema import LISTS, attributes

LIST_NAMES: tuple[str, ...] = tuple(LISTS)


def flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"properties": {"contaminants": {"COD": 80}}}`` -> ``{"properties.contaminants.COD": 80}``.

    Examples
    --------
    >>> flatten({"a": 1, "properties": {"t": 2, "c": {"COD": 3}}})
    {'a': 1, 'properties.t': 2, 'properties.c.COD': 3}
    """
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, prefix=name + "."))
        elif isinstance(value, dict):
            continue
        else:
            out[name] = value
    return out


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`flatten`; empty cells are left out.

    Examples
    --------
    >>> unflatten({"id": "s", "properties.contaminants.COD": 80, "unit": None})
    {'id': 's', 'properties': {'contaminants': {'COD': 80}}}
    """
    out: dict[str, Any] = {}
    for name, value in row.items():
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        parts = name.split(".")
        node = out
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                nxt = node[part] = {"": nxt}
            node = nxt
        node[parts[-1]] = value
    return out


def columns_for(list_name: str, rows: Iterable[dict[str, Any]]) -> list[str]:
    """Declared columns first (in declaration order), then any further ones the rows use."""
    declared = [a.name for a in attributes(list_name) if a.type != "mapping"]
    seen = set(declared)
    extra: list[str] = []
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                extra.append(key)
    mapping_prefixes = [a.name + "." for a in attributes(list_name) if a.type == "mapping"]

    def rank(col: str) -> tuple[int, str]:
        for i, p in enumerate(mapping_prefixes):
            if col.startswith(p):
                return i, col
        return len(mapping_prefixes), col

    return declared + sorted(extra, key=rank)


def park_to_rows(park: ParkFile) -> dict[str, tuple[list[str], list[dict[str, Any]]]]:
    """Each list of the park as (columns, flattened rows)."""
    doc = park.to_document()
    out: dict[str, tuple[list[str], list[dict[str, Any]]]] = {}
    for list_name in LIST_NAMES:
        rows = [flatten(item) for item in doc.get(list_name, [])]
        out[list_name] = (columns_for(list_name, rows), rows)
    return out


def cell_text(value: Any) -> str:
    """How a value is written into a CSV cell: text as it is, other values as JSON literals."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


_DECLARED_TEXT: dict[str, set[str]] = {
    name: {a.name for a in attributes(name) if a.type in ("text", "code", "choice")}
    for name in LIST_NAMES
}


def sheet_value(list_name: str, column: str, value: Any) -> Any:
    """A workbook cell read back: a cell holds no list, so a list is written as its JSON text, and
    such text in a column that is not declared text is read as the list again."""
    listed = isinstance(value, str) and value.lstrip().startswith("[")
    if listed and column not in _DECLARED_TEXT[list_name]:
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, list):
            return parsed
    return value


def cell_value(list_name: str, column: str, text: str) -> Any:
    """Read a CSV cell back. Declared text columns stay text; other cells that read as a JSON
    number, ``true``/``false`` or a list are taken as such (extra properties keep their types)."""
    if column in _DECLARED_TEXT[list_name] or text == "":
        return text
    stripped = text.strip()
    if stripped in ("true", "false") or stripped[:1] in "[-0123456789.":
        try:
            value = json.loads(stripped)
        except ValueError:
            return text
        if isinstance(value, float) and not math.isfinite(value):
            return text
        return value
    return text
