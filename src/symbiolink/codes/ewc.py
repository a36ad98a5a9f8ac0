"""The European List of Waste (EWC codes), Commission Decision 2000/532/EC as amended by 2014/955/EU."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from symbiolink.codes._data import read_rows

_EWC_TEXT = re.compile(r"^\s*(\d{2})\s*(\d{2})\s*(\d{2})\s*(\*?)\s*$")


@dataclass(frozen=True, slots=True)
class EwcCode:
    """One entry of the List of Waste."""

    code: str
    """Six digits, no spaces: ``100202``."""
    description: str
    hazardous: bool
    entry_type: str
    chapter: str
    sub_chapter: str

    @property
    def display(self) -> str:
        """The code as the List of Waste prints it: ``10 02 02`` or ``10 01 04*``."""
        c = self.code
        return f"{c[:2]} {c[2:4]} {c[4:]}" + ("*" if self.hazardous else "")


def ewc_normalise(text: str) -> tuple[str, bool] | None:
    """Split a written EWC code into six digits and whether it carried a ``*``.

    Returns ``None`` if the text is not shaped like a code.

    Examples
    --------
    >>> ewc_normalise("10 01 05*")
    ('100105', True)
    >>> ewc_normalise("100202")
    ('100202', False)
    >>> ewc_normalise("10-02") is None
    True
    """
    m = _EWC_TEXT.match(text)
    if not m:
        return None
    return m.group(1) + m.group(2) + m.group(3), bool(m.group(4))


@lru_cache(maxsize=1)
def ewc_table() -> dict[str, EwcCode]:
    """Every code of the list, by its six digits."""
    out: dict[str, EwcCode] = {}
    for row in read_rows("ewc.csv"):
        out[row["code"]] = EwcCode(
            code=row["code"],
            description=row["description"],
            hazardous=row["hazardous"] == "true",
            entry_type=row["entry_type"],
            chapter=row["chapter"],
            sub_chapter=row["sub_chapter"],
        )
    return out


def ewc_lookup(text: str) -> EwcCode | None:
    """The entry for a written code, or ``None`` if there is no such code.

    Examples
    --------
    >>> e = ewc_lookup("10 01 05*")
    >>> e.display, e.hazardous
    ('10 01 05', False)
    >>> ewc_lookup("10 01 04*").hazardous
    True
    >>> ewc_lookup("99 99 99") is None
    True
    """
    norm = ewc_normalise(text)
    if norm is None:
        return None
    return ewc_table().get(norm[0])
