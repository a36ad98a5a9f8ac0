"""Synthetic national registries, for benchmarks and demonstrations.

Parks are spread around the centres of Viet Nam's main industrial provinces; company sectors are
drawn in proportion to how often each sector gives or receives in the knowledge base; each company's
supplies and demands are drawn from the documented exchanges of its sector, named in English or
Vietnamese as people write them. The same seed gives the same registry.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from symbiolink.knowledge.base import KnowledgeBase, default_knowledge
from symbiolink.knowledge.classes import ResourceClass, default_classifier
from symbiolink.model.park import FORMAT

#: Approximate centres (lat, lon) of provinces with many industrial parks; places to scatter parks
#: around, not park locations.
PROVINCES: tuple[tuple[str, float, float], ...] = (
    ("hanoi", 21.03, 105.85), ("hai-phong", 20.86, 106.68), ("quang-ninh", 21.01, 107.29),
    ("bac-ninh", 21.18, 106.07), ("hai-duong", 20.94, 106.33), ("vinh-phuc", 21.31, 105.60),
    ("bac-giang", 21.27, 106.19), ("thai-nguyen", 21.59, 105.85), ("thanh-hoa", 19.81, 105.78),
    ("nghe-an", 18.67, 105.68), ("ha-tinh", 18.34, 105.91), ("da-nang", 16.05, 108.20),
    ("quang-ngai", 15.12, 108.80), ("binh-dinh", 13.78, 109.22), ("binh-duong", 11.17, 106.65),
    ("dong-nai", 10.95, 106.82), ("ho-chi-minh", 10.82, 106.63), ("ba-ria-vung-tau", 10.50, 107.17),
    ("long-an", 10.61, 106.40), ("can-tho", 10.03, 105.78), ("tien-giang", 10.36, 106.36),
)  # fmt: skip

_UNITS = {"material": "t/yr", "water": "m3/h", "energy": "MWh/yr"}
_RANGE = {"material": (50.0, 60000.0), "water": (2.0, 400.0), "energy": (200.0, 200000.0)}


def _quantity(rng: random.Random, kind: str) -> float:
    lo, hi = _RANGE[kind]
    # Log-uniform: many small streams, a few large ones.
    return float(round(lo * (hi / lo) ** rng.random(), 1))


def generate_registry(
    parks: int, companies_per_park: int, *, seed: int = 0, knowledge: KnowledgeBase | None = None
) -> dict[str, Any]:
    """A park document (``symbiolink-park/1``) with ``parks`` parks of ``companies_per_park`` companies.

    Examples
    --------
    >>> doc = generate_registry(2, 3, seed=1)
    >>> len(doc["parks"]), len(doc["companies"]), len(doc["streams"]) > 0
    (2, 6, True)
    """
    rng = random.Random(seed)
    kb = knowledge or default_knowledge()
    classes = default_classifier().classes
    gives: dict[str, list[Any]] = defaultdict(list)
    takes: dict[str, list[Any]] = defaultdict(list)
    weight: dict[str, int] = defaultdict(int)
    for e in kb.evidence:
        if not e.class_id or e.class_id not in classes:
            continue
        for d in e.donor_isic:
            if len(d) == 4:
                gives[d].append(e)
                weight[d] += 1
        for r in e.receiver_isic:
            if len(r) == 4:
                takes[r].append(e)
                weight[r] += 1
    sectors = sorted(weight)
    if not sectors:
        raise ValueError("the knowledge base names no four-digit sectors to draw companies from")
    weights = [weight[s] for s in sectors]
    doc: dict[str, Any] = {"format": FORMAT, "parks": [], "companies": [], "streams": []}
    for p in range(parks):
        prov, lat0, lon0 = PROVINCES[p % len(PROVINCES)]
        plat, plon = lat0 + rng.uniform(-0.35, 0.35), lon0 + rng.uniform(-0.35, 0.35)
        pid = f"{prov}-{p + 1}"
        doc["parks"].append(
            {
                "id": pid,
                "name": f"Synthetic industrial park {p + 1} ({prov})",
                "country": "VN",
                "province": prov,
                "lat": round(plat, 5),
                "lon": round(plon, 5),
            }
        )
        for c in range(companies_per_park):
            sector = rng.choices(sectors, weights)[0]
            cid = f"{pid}-c{c + 1}"
            doc["companies"].append({
                "id": cid, "name": f"Company {c + 1} of park {p + 1}", "park": pid, "isic": sector,
                "lat": round(plat + rng.uniform(-0.02, 0.02), 5), "lon": round(plon + rng.uniform(-0.02, 0.02), 5),
            })  # fmt: skip
            n = 0
            for direction, pool, count in (
                ("supply", gives.get(sector), rng.randint(2, 4)),
                ("demand", takes.get(sector), rng.randint(0, 2)),
            ):
                for _ in range(count if pool else 0):
                    e = rng.choice(pool)  # type: ignore[arg-type]
                    cls: ResourceClass = classes[e.class_id]
                    n += 1
                    stream: dict[str, Any] = {
                        "id": f"{cid}-s{n}", "company": cid, "direction": direction, "kind": cls.kind,
                        "name": rng.choice([cls.label_en, cls.label_vi or cls.label_en]),
                        "quantity": _quantity(rng, cls.kind), "unit": _UNITS[cls.kind],
                    }  # fmt: skip
                    if cls.ewc and direction == "supply":
                        stream["ewc"] = cls.ewc[0]
                    props: dict[str, Any] = {}
                    if cls.kind == "energy":
                        props["temperature_c"] = round(
                            rng.uniform(60, 400) if direction == "supply" else rng.uniform(40, 200),
                            0,
                        )
                    if cls.kind == "water":
                        key = "contaminants" if direction == "supply" else "max_contaminants"
                        props[key] = {
                            "COD": round(rng.uniform(20, 150), 0),
                            "TDS": round(rng.uniform(200, 1500), 0),
                        }
                    if props:
                        stream["properties"] = props
                    doc["streams"].append(stream)
    return doc
