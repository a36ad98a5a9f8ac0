"""Reading the shipped code-list files."""

from __future__ import annotations

import csv
import io
from importlib import resources


def read_rows(name: str) -> list[dict[str, str]]:
    """Rows of ``symbiolink/data/codes/<name>`` as dictionaries."""
    ref = resources.files("symbiolink").joinpath("data", "codes", name)
    return list(csv.DictReader(io.StringIO(ref.read_text(encoding="utf-8"), newline="")))
