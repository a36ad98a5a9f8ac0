"""Industry classifications: ISIC Rev.4, NACE Rev.2 and VSIC 2018, all mapped onto ISIC Rev.4.

symbiolink reasons about sectors in ISIC Rev.4. NACE Rev.2 is mapped by the Eurostat/UNSD
correspondence table; VSIC 2018 follows ISIC Rev.4 at its first four levels and adds a national fifth
level, mapped to its four-digit parent (``data/codes/VSIC2018.md`` lists the exceptions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from symbiolink.codes._data import read_rows

System = Literal["isic", "nace", "vsic"]
SYSTEM_NAMES: dict[str, str] = {"isic": "ISIC Rev.4", "nace": "NACE Rev.2", "vsic": "VSIC 2018"}


@dataclass(frozen=True, slots=True)
class SectorCode:
    """A code of one classification, with its ISIC Rev.4 equivalent."""

    system: System
    code: str
    level: str
    title: str
    isic: str
    """The ISIC Rev.4 code with the same content (the code itself for ISIC)."""
    title_vi: str = ""


def _digits(text: str) -> str:
    return re.sub(r"[\s.]", "", text.strip())


@lru_cache(maxsize=1)
def _isic() -> dict[str, SectorCode]:
    return {
        r["code"]: SectorCode("isic", r["code"], r["level"], r["title"], r["code"])
        for r in read_rows("isic4.csv")
    }


@lru_cache(maxsize=1)
def _nace() -> dict[str, SectorCode]:
    to_isic = {r["nace2"]: r["isic4"] for r in read_rows("nace2_isic4.csv")}
    return {
        r["code"]: SectorCode("nace", r["code"], r["level"], r["title"], to_isic.get(r["code"], ""))
        for r in read_rows("nace2.csv")
    }


@lru_cache(maxsize=1)
def _vsic() -> dict[str, SectorCode]:
    out: dict[str, SectorCode] = {}
    for r in read_rows("vsic2018.csv"):
        out[r["code"]] = SectorCode(
            "vsic", r["code"], r["level"], r["name_en"] or r["name_vi"], r["isic4"], r["name_vi"]
        )
    return out


def isic_lookup(text: str) -> SectorCode | None:
    """An ISIC Rev.4 code written as ``2410``, ``24.10``, ``241``, ``24.1``, ``24`` or a section letter.

    Examples
    --------
    >>> isic_lookup("24.10").title
    'Manufacture of basic iron and steel'
    >>> isic_lookup("241").level
    'group'
    >>> isic_lookup("2499") is None
    True
    """
    t = _digits(text)
    return _isic().get(t.upper() if len(t) == 1 else t)


def nace_lookup(text: str) -> SectorCode | None:
    """A NACE Rev.2 code written as ``24.10`` or ``2410`` (or a group ``24.1`` / ``241``).

    Examples
    --------
    >>> c = nace_lookup("3832")
    >>> c.code, c.isic
    ('38.32', '3830')
    """
    t = _digits(text)
    if len(t) == 1:
        return _nace().get(t.upper())
    if not t.isdigit() or len(t) > 4:
        return None
    dotted = t if len(t) == 2 else f"{t[:2]}.{t[2:]}"
    return _nace().get(dotted)


def vsic_lookup(text: str) -> SectorCode | None:
    """A VSIC 2018 code (one to five digits, or a section letter).

    Examples
    --------
    >>> vsic_lookup("2410").isic
    '2410'
    """
    t = _digits(text)
    return _vsic().get(t.upper() if len(t) == 1 else t)


_LOOKUPS = {"isic": isic_lookup, "nace": nace_lookup, "vsic": vsic_lookup}


def sector_lookup(system: str, text: str) -> SectorCode | None:
    """Look a code up in the named classification (``isic``, ``nace`` or ``vsic``)."""
    return _LOOKUPS[system](text)


def sector_to_isic(
    *, isic: str | None = None, nace: str | None = None, vsic: str | None = None
) -> str | None:
    """The ISIC Rev.4 code of a company from whichever code it gives (ISIC first, then NACE, VSIC).

    Examples
    --------
    >>> sector_to_isic(nace="23.51")
    '2394'
    """
    for system, value in (("isic", isic), ("nace", nace), ("vsic", vsic)):
        if value:
            found = sector_lookup(system, value)
            if found is not None and found.isic:
                return found.isic
    return None


def all_codes(system: str) -> dict[str, SectorCode]:
    return {"isic": _isic, "nace": _nace, "vsic": _vsic}[system]()
