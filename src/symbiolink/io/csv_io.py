"""The park as a folder of CSV files: ``parks.csv``, ``companies.csv``, ``streams.csv``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from symbiolink.errors import Issue
from symbiolink.io.tabular import LIST_NAMES, cell_text, cell_value, park_to_rows, unflatten
from symbiolink.model.park import FORMAT, ParkFile

#: The longest cell the reader takes (Python's csv module stops at 128 KiB): as much as an upload,
#: so that a cell that is too long gets the validator's message with its path.
MAX_CELL = 20 * 2**20


def read_folder(folder: Path) -> tuple[dict[str, Any] | None, dict[str, list[str]], list[Issue]]:
    """Read a folder of CSV files into a park document, with each item's file and line."""
    if csv.field_size_limit() < MAX_CELL:
        csv.field_size_limit(MAX_CELL)
    issues: list[Issue] = []
    doc: dict[str, Any] = {"format": FORMAT}
    where: dict[str, list[str]] = {}
    if not (folder / "parks.csv").is_file():
        return (
            None,
            {},
            [
                Issue(
                    str(folder),
                    "parks",
                    "the folder has no parks.csv",
                    "a folder with parks.csv, companies.csv and streams.csv",
                )
            ],
        )
    for list_name in LIST_NAMES:
        path = folder / f"{list_name}.csv"
        if not path.is_file():
            continue
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            issues.append(
                Issue(
                    str(path),
                    "",
                    f"is not valid UTF-8: byte 0x{data[exc.start]:02x} at line {line}",
                    "a UTF-8 CSV file",
                )
            )
            continue
        if "\x00" in text:
            issues.append(
                Issue(
                    str(path),
                    "",
                    "contains NUL bytes; it is not a CSV text file",
                    "a UTF-8 CSV file",
                )
            )
            continue
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader, None)
            if header is None:
                doc[list_name] = []
                continue
            names = [h.strip() for h in header]
            items: list[dict[str, Any]] = []
            places: list[str] = []
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                if len(values) > len(names):
                    issues.append(
                        Issue(
                            str(path),
                            "",
                            f"line {reader.line_num} has {len(values)} cells but the header has {len(names)}",
                            "one cell per header column",
                        )
                    )
                row = {
                    names[c]: cell_value(list_name, names[c], v)
                    for c, v in enumerate(values)
                    if c < len(names) and names[c]
                }
                items.append(unflatten(row))
                places.append(f"{path.name}, line {reader.line_num}")
        except csv.Error as exc:
            issues.append(
                Issue(
                    str(path),
                    "",
                    f"is not a readable CSV file: {exc} (line {reader.line_num})",
                    "comma-separated UTF-8 text",
                )
            )
            continue
        doc[list_name] = items
        where[list_name] = places
    return doc, where, issues


def write_folder(park: ParkFile, folder: Path) -> None:
    """Write a park as a folder of CSV files (UTF-8 with a byte-order mark, so spreadsheets show
    Vietnamese text correctly)."""
    folder.mkdir(parents=True, exist_ok=True)
    for list_name, (columns, rows) in park_to_rows(park).items():
        with open(folder / f"{list_name}.csv", "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(columns)
            for row in rows:
                w.writerow([cell_text(row.get(c)) for c in columns])
