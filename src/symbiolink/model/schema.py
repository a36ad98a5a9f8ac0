"""The attribute declarations of :mod:`symbiolink.model.park`, read back as data.

Validation messages, the spreadsheet template's column notes and drop-downs, the CSV/Excel type
conversion and ``docs/park-file.md`` are all derived from here, so an attribute is declared once.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from symbiolink.model.park import Company, Park, Stream, StreamProperties

LISTS: dict[str, type[BaseModel]] = {"parks": Park, "companies": Company, "streams": Stream}


@dataclass(frozen=True, slots=True)
class Attribute:
    """One column of a park list."""

    list: str
    name: str
    """Dotted for nested properties: ``properties.temperature_c``."""
    type: str
    """``text``, ``number``, ``code``, ``choice`` or ``mapping`` (an object of names to numbers)."""
    required: bool
    meaning: str
    unit: str
    example: Any
    accepted: str
    choices: tuple[str, ...] = ()


def _type_of(annotation: Any, extra: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    if extra.get("code"):
        return "code", ()
    args = typing.get_args(annotation)
    inner = [a for a in args if a is not type(None)] or [annotation]
    base = inner[0]
    while typing.get_origin(base) is typing.Annotated:
        base = typing.get_args(base)[0]
    if typing.get_origin(base) is typing.Literal:
        return "choice", tuple(str(a) for a in typing.get_args(base))
    if typing.get_origin(annotation) is typing.Literal:
        return "choice", tuple(str(a) for a in typing.get_args(annotation))
    if base is float:
        return "number", ()
    if typing.get_origin(base) is dict:
        return "mapping", ()
    return "text", ()


def _attributes_of(list_name: str, model: type[BaseModel], prefix: str = "") -> list[Attribute]:
    out: list[Attribute] = []
    for name, info in model.model_fields.items():
        if name == "properties":
            out.extend(_attributes_of(list_name, StreamProperties, prefix="properties."))
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        kind, choices = _type_of(info.annotation, extra)
        out.append(
            Attribute(
                list=list_name,
                name=prefix + name,
                type=kind,
                required=info.is_required(),
                meaning=info.description or "",
                unit=str(extra.get("unit", "")),
                example=extra.get("example"),
                accepted=str(extra.get("accepted", "")),
                choices=choices,
            )
        )
    return out


@cache
def attributes(list_name: str) -> tuple[Attribute, ...]:
    """The declared attributes of ``parks``, ``companies`` or ``streams``, in file order."""
    return tuple(_attributes_of(list_name, LISTS[list_name]))


@cache
def _by_name(list_name: str) -> dict[str, Attribute]:
    return {a.name: a for a in attributes(list_name)}


def attribute(list_name: str, dotted: str) -> Attribute | None:
    """One declared attribute by its (dotted) name."""
    return _by_name(list_name).get(dotted)
