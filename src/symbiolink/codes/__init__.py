"""Code lists: the List of Waste (EWC) and industry classifications (ISIC Rev.4, NACE Rev.2, VSIC 2018).

All lists ship as CSV files under ``symbiolink/data/codes`` with their provenance (``PROVENANCE.md``
there). Look-ups are forgiving about how people write codes (``10 02 02``, ``100202``, ``10 01 05*``,
``24.10``, ``2410``) and strict about whether the code exists.
"""

from symbiolink.codes.ewc import EwcCode, ewc_lookup, ewc_normalise, ewc_table
from symbiolink.codes.search import CodeHit, search_codes
from symbiolink.codes.sectors import (
    SectorCode,
    isic_lookup,
    nace_lookup,
    sector_to_isic,
    vsic_lookup,
)

__all__ = [
    "CodeHit",
    "EwcCode",
    "SectorCode",
    "ewc_lookup",
    "ewc_normalise",
    "ewc_table",
    "isic_lookup",
    "nace_lookup",
    "search_codes",
    "sector_to_isic",
    "vsic_lookup",
]
