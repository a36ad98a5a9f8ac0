"""The JSON park file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from symbiolink.errors import Issue
from symbiolink.model.park import ParkFile


class _Duplicate(ValueError):
    pass


def decode_json(data: bytes, file: str) -> tuple[Any, list[Issue]]:
    """Decode bytes as a JSON document; ``(None, issues)`` if they are not one."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [
            Issue(
                file,
                "",
                f"is not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line})",
                "a UTF-8 text file",
            )
        ]
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                duplicates.append(k)
            out[k] = v
        return out

    def constant(name: str) -> Any:
        raise _Duplicate(f"{name} is not a JSON number")

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        return None, [
            Issue(
                file,
                "",
                f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                "a JSON document (symbiolink-park/1)",
            )
        ]
    except _Duplicate as exc:
        return None, [Issue(file, "", f"is not valid JSON: {exc}", "finite numbers only")]
    except RecursionError:
        return None, [
            Issue(
                file,
                "",
                "is nested too deeply to be a park file",
                "a JSON document (symbiolink-park/1)",
            )
        ]
    issues = [
        Issue(
            file,
            "",
            f"key {k!r} appears twice in one object; the last one is used",
            "each key once",
            "warning",
        )
        for k in dict.fromkeys(duplicates)
    ]
    return doc, issues


def write_json(park: ParkFile, path: Path) -> None:
    """Write a park as a JSON park file (UTF-8, indented)."""
    path.write_text(dumps(park) + "\n", encoding="utf-8")


def dumps(park: ParkFile) -> str:
    return json.dumps(park.to_document(), ensure_ascii=False, indent=1)
