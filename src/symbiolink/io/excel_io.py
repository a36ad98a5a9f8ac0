"""The park as an Excel workbook: one sheet per list, and the fill-in template."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from symbiolink.errors import Issue, ParkFileError
from symbiolink.io.tabular import LIST_NAMES, park_to_rows, sheet_value, unflatten
from symbiolink.model.park import FORMAT, ParkFile, storable_problem
from symbiolink.model.schema import Attribute, attributes
from symbiolink.model.units import COMMON_UNITS

#: Sheets the template adds for people; readers pass over them.
HELP_SHEETS = ("help", "lists")
TEMPLATE_CONTAMINANTS = ("COD", "BOD5", "TSS", "TDS")


def read_workbook(
    data: bytes, file: str
) -> tuple[dict[str, Any] | None, dict[str, list[str]], list[Issue]]:
    """Read a workbook into a park document, with each item's sheet and row for messages."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        return (
            None,
            {},
            [
                Issue(
                    file,
                    "",
                    f"is not a readable Excel workbook ({type(exc).__name__})",
                    "an .xlsx workbook with sheets parks, companies, streams",
                )
            ],
        )
    issues: list[Issue] = []
    doc: dict[str, Any] = {"format": FORMAT}
    where: dict[str, list[str]] = {}
    sheets = {ws.title.strip().lower(): ws for ws in wb.worksheets}
    for title in sheets:
        if title not in LIST_NAMES and title not in HELP_SHEETS:
            issues.append(
                Issue(
                    file,
                    "",
                    f"sheet {title!r} is not a park list and is ignored",
                    "sheets parks, companies, streams",
                    "warning",
                )
            )
    for list_name in LIST_NAMES:
        ws = sheets.get(list_name)
        if ws is None:
            if list_name == "parks":
                issues.append(
                    Issue(
                        file,
                        "parks",
                        "the workbook has no sheet 'parks'",
                        "sheets parks, companies, streams",
                    )
                )
            continue
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            doc[list_name] = []
            continue
        names = [str(h).strip() if h is not None else "" for h in header]
        items: list[dict[str, Any]] = []
        places: list[str] = []
        for r, values in enumerate(rows, start=2):
            if values is None or all(
                v is None or (isinstance(v, str) and not v.strip()) for v in values
            ):
                continue
            row = {
                names[c]: sheet_value(list_name, names[c], v)
                for c, v in enumerate(values)
                if c < len(names) and names[c]
            }
            items.append(unflatten(row))
            places.append(f"sheet {list_name}, row {r}")
        doc[list_name] = items
        where[list_name] = places
    wb.close()
    return doc, where, issues


def _note(a: Attribute) -> str:
    parts = [a.meaning]
    if a.unit:
        parts.append(f"Unit: {a.unit}.")
    if a.accepted:
        parts.append(f"Accepted: {a.accepted}.")
    if a.required:
        parts.append("Required.")
    return " ".join(parts)


def write_workbook(park: ParkFile | None, path: Path | BinaryIO, *, template: bool = False) -> None:
    """Write a park (or, with ``park=None``, an empty template) as an .xlsx workbook (to a path or a
    binary file object)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    tables = park_to_rows(park if park is not None else ParkFile(format=FORMAT))
    lists_ws = None
    if template:
        lists_ws = wb.create_sheet("lists")
        for col, values in enumerate(
            (("supply", "demand"), ("material", "energy", "water"), COMMON_UNITS), start=1
        ):
            for line, v in enumerate(values, start=1):
                lists_ws.cell(row=line, column=col, value=v)
        lists_ws.sheet_state = "hidden"
    for list_name in LIST_NAMES:
        ws = wb.create_sheet(list_name)
        columns, rows = tables[list_name]
        if template and list_name == "streams":
            columns = (
                columns
                + [f"properties.contaminants.{c}" for c in TEMPLATE_CONTAMINANTS]
                + [f"properties.max_contaminants.{c}" for c in TEMPLATE_CONTAMINANTS]
            )
        declared = {a.name: a for a in attributes(list_name)}
        for c, name in enumerate(columns, start=1):
            cell = ws.cell(row=1, column=c, value=name)
            a = declared.get(name)
            if a is not None:
                cell.font = Font(bold=a.required)
                if template:
                    cell.comment = Comment(_note(a), "symbiolink", width=320, height=140)
            elif template and name.startswith("properties.") and ".contaminants." in name:
                cell.comment = Comment(
                    "Concentration in the supply, mg/L (ppm for water).", "symbiolink"
                )
            elif template and ".max_contaminants." in name:
                cell.comment = Comment(
                    "Highest concentration the demand accepts, mg/L.", "symbiolink"
                )
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
            ws.column_dimensions[get_column_letter(c)].width = max(12, min(40, len(name) + 2))
            if a is not None and a.type == "code":
                for r in range(2, max(len(rows) + 2, 500 if template else 2)):
                    ws.cell(row=r, column=c).number_format = "@"
        for r, row in enumerate(rows, start=2):
            for c, name in enumerate(columns, start=1):
                if name in row:
                    value = row[name]
                    if isinstance(value, list):
                        value = json.dumps(value, ensure_ascii=False)  # read by sheet_value
                    # A park read from a file cannot fail this; one built in memory may.
                    problem = storable_problem(value)
                    if problem is not None:
                        raise ParkFileError(
                            [Issue(str(path), f"{list_name}[{r - 2}].{name}", *problem)]
                        )
                    cell = ws.cell(row=r, column=c, value=value)
                    if isinstance(value, str) and value.startswith("="):
                        # Text, never a formula: a name like "=ABC" must not run in anyone's Excel.
                        cell.data_type = "s"
        ws.freeze_panes = "A2"
        if template and list_name == "streams":
            for name, ref in (
                ("direction", "$A$1:$A$2"),
                ("kind", "$B$1:$B$3"),
                ("unit", f"$C$1:$C${len(COMMON_UNITS)}"),
            ):
                letter = get_column_letter(columns.index(name) + 1)
                dv = DataValidation(type="list", formula1=f"lists!{ref}", allow_blank=True)
                if name == "unit":
                    # Any unit pint understands is fine; the list offers the common ones.
                    dv.errorStyle = "information"
                    dv.error = "Not a common unit; symbiolink will check it when the file is read."
                dv.add(f"{letter}2:{letter}1000")
                ws.add_data_validation(dv)
    if template:
        _help_sheet(wb)
    wb.save(path)


def _help_sheet(wb: Any) -> None:
    from openpyxl.styles import Font

    ws = wb.create_sheet("help", 0)
    ws.append(["symbiolink park workbook (symbiolink-park/1)"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(
        [
            "Fill in one row per park, company and stream. Bold columns are required. Hover a column name for its meaning."
        ]
    )
    ws.append(
        [
            "Nested values use dotted columns: properties.contaminants.COD is the COD of a supply in mg/L."
        ]
    )
    ws.append([])
    ws.append(["sheet", "column", "required", "unit", "meaning", "accepted", "example"])
    for cell in ws[5]:
        cell.font = Font(bold=True)
    for list_name in LIST_NAMES:
        for a in attributes(list_name):
            example = (
                a.example
                if not isinstance(a.example, dict)
                else ", ".join(f"{k}={v}" for k, v in a.example.items())
            )
            ws.append(
                [
                    list_name,
                    a.name,
                    "yes" if a.required else "",
                    a.unit,
                    a.meaning,
                    a.accepted,
                    example,
                ]
            )
    for col, width in zip("ABCDEFG", (10, 32, 9, 14, 70, 50, 20), strict=True):
        ws.column_dimensions[col].width = width
