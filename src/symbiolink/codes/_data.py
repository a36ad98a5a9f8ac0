"""Reading the shipped code-list files."""

from __future__ import annotations

import csv
from importlib import resources


def read_rows(name: str) -> list[dict[str, str]]:
    """Rows of ``symbiolink/data/codes/<name>`` as dictionaries."""
    ref = resources.files("symbiolink").joinpath("data", "codes", name)
    with ref.open("r", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
