"""The platform's test park, shared by the web tests (``test_web.py``, ``test_fuzz_api.py``): two
parks, five companies of three sectors, five supplies."""

from __future__ import annotations

from typing import Any

from symbiolink.model.park import FORMAT, ParkFile

PASSWORD = "correct horse battery"
NAMES = {
    "a1-slag": "EAF steel slag",
    "a1-secret": "Mill scale",
    "a2-ash": "Coal fly ash",
    "a3-gypsum": "FGD gypsum",
    "b1-slag": "EAF steel slag",
}


def platform_park_document() -> dict[str, Any]:
    """Park A (companies a1, a2, a3) and park B (b1, b2), each company with a supply of material."""

    def c(i: str, park: str, isic: str) -> dict[str, Any]:
        return {"id": i, "name": f"Company {i.upper()}", "park": park, "isic": isic}

    def s(i: str, comp: str, q: float, **kw: Any) -> dict[str, Any]:
        return {"id": i, "company": comp, "direction": "supply", "kind": "material", "name": NAMES.get(i, i), "quantity": q,
                "unit": "t/yr", **kw}  # fmt: skip

    return {
        "format": FORMAT,
        "parks": [{"id": "A", "name": "Park A", "country": "VN"}, {"id": "B", "name": "Park B", "country": "VN"}],
        "companies": [c("a1", "A", "2410"), c("a2", "A", "2394"), c("a3", "A", "3510"), c("b1", "B", "2410"), c("b2", "B", "2394")],
        "streams": [
            s("a1-slag", "a1", 600, properties={"price": 5.0, "disposal_cost": 20.0}), s("a1-secret", "a1", 50),
            s("a2-ash", "a2", 100), s("a3-gypsum", "a3", 300), s("b1-slag", "b1", 900),
        ],
    }  # fmt: skip


def platform_park() -> ParkFile:
    return ParkFile.model_validate(platform_park_document())
