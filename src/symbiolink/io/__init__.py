"""Reading and writing park files: JSON, an Excel workbook, a folder of CSV files.

All three carry the same content; :func:`load_park` tells them apart by name and content.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from symbiolink.errors import Issue, ParkFileError
from symbiolink.io.csv_io import read_folder, write_folder
from symbiolink.io.excel_io import read_workbook, write_workbook
from symbiolink.io.json_io import decode_json, write_json
from symbiolink.model.park import ParkFile
from symbiolink.model.validate import validate_document

__all__ = ["load_park", "parse_park_bytes", "read_park", "write_park"]

_ZIP_MAGIC = b"PK\x03\x04"


def parse_park_bytes(data: bytes, *, file: str = "<park>") -> tuple[ParkFile | None, list[Issue]]:
    """Validate the bytes of a JSON park file or an Excel workbook; never raises on bad input.

    Examples
    --------
    >>> park, issues = parse_park_bytes(b'{"format": "symbiolink-park/1", "parks": [{"id": "a", "name": "A"}]}')
    >>> [p.id for p in park.parks], issues
    (['a'], [])
    >>> parse_park_bytes(b"\\xff\\xfe", file="x.json")[1][0].message
    'is not valid UTF-8: byte 0xff at offset 0 (line 1)'
    """
    doc: Any
    where: dict[str, list[str]] = {}
    if data.startswith(_ZIP_MAGIC):
        doc, where, issues = read_workbook(data, file)
    else:
        doc, issues = decode_json(data, file)
        if _has_error(issues) and file.lower().endswith((".csv", ".tsv")):
            issues = [
                Issue(
                    file,
                    "",
                    "a CSV park is a folder of parks.csv, companies.csv and streams.csv, not one file",
                    "the folder's path",
                )
            ]
    if _has_error(issues):
        return None, issues
    park, more = validate_document(doc, file=file, where=where)
    return park, issues + more


def _has_error(issues: list[Issue]) -> bool:
    return any(i.severity == "error" for i in issues)


def load_park(path: str | Path) -> tuple[ParkFile | None, list[Issue]]:
    """Read and validate a park file (``.json``, ``.xlsx`` or a folder of CSV files)."""
    p = Path(path)
    name = str(path)
    if p.is_dir():
        doc, where, issues = read_folder(p)
        if _has_error(issues):
            return None, issues
        park, more = validate_document(doc, file=name, where=where)
        return park, issues + more
    if not p.exists():
        return None, [
            Issue(
                name,
                "",
                "no such file or folder",
                "a .json or .xlsx park file, or a folder of CSV files",
            )
        ]
    try:
        data = p.read_bytes()
    except OSError as exc:
        return None, [Issue(name, "", f"cannot be read: {exc.strerror}", "a readable file")]
    if p.suffix.lower() in (".xlsx", ".xlsm") and not data.startswith(_ZIP_MAGIC):
        return None, [
            Issue(
                name,
                "",
                "is named like an Excel workbook but is not one",
                "an .xlsx workbook saved by Excel or LibreOffice",
            )
        ]
    return parse_park_bytes(data, file=name)


def read_park(path: str | Path) -> ParkFile:
    """Read a park file, raising :class:`ParkFileError` with every issue if it has any error."""
    park, issues = load_park(path)
    if park is None:
        raise ParkFileError(issues)
    return park


def write_park(park: ParkFile, path: str | Path) -> None:
    """Write a park in the format its path names: ``.json``, ``.xlsx``, or a folder for CSV."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".json":
        write_json(park, p)
    elif suffix == ".xlsx":
        write_workbook(park, p)
    elif suffix == "":
        write_folder(park, p)
    else:
        raise ParkFileError(
            [
                Issue(
                    str(path),
                    "",
                    f"cannot write a park as {suffix!r}",
                    ".json, .xlsx, or a folder name for CSV files",
                )
            ]
        )
