"""The database: atomic imports, updates in place by id, and what comes back out."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from symbiolink.errors import ParkFileError
from symbiolink.io import read_park
from symbiolink.model.park import ParkFile
from symbiolink.store import export_park, import_park, stored_parks
from symbiolink.store import registry as registry_module
from symbiolink.store.models import CompanyRow, ImportRow, ParkRow, StreamRow


def _counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m)) or 0
            for m in (ParkRow, CompanyRow, StreamRow)
        )  # type: ignore[return-value]


def test_import_stores_canonical_quantities_and_codes(
    engine: Engine, small_park_path: Path
) -> None:
    park = read_park(small_park_path)
    summary = import_park(engine, park, source="small")
    assert summary.created == {"parks": 1, "companies": 3, "streams": 5}
    with Session(engine) as s:
        slag = s.get(StreamRow, "steel-slag")
        assert slag is not None
        assert (slag.ewc_code, slag.hazardous, slag.quantity_canonical, slag.unit_canonical) == (
            "100202",
            False,
            60000.0,
            "t/yr",
        )
        heat = s.get(StreamRow, "furnace-heat")
        assert heat is not None and heat.quantity_canonical == pytest.approx(5 * 8766.0)
        cement = s.get(CompanyRow, "cement")
        assert cement is not None and cement.sector_isic == "2394"
    assert stored_parks(engine) == [
        {
            "id": "hp-1",
            "name": "Harbour park",
            "country": "VN",
            "companies": 3,
            "supplies": 3,
            "demands": 2,
        }
    ]


def test_reimport_updates_in_place_and_removes_what_the_file_dropped(
    engine: Engine, small_park_path: Path
) -> None:
    park = read_park(small_park_path)
    import_park(engine, park, source="v1")
    doc = park.to_document()
    doc["streams"][0]["quantity"] = 75000.0
    doc["streams"] = [s for s in doc["streams"] if s["id"] != "cooling-in"]
    doc["streams"].append(
        {
            "id": "mill-scale",
            "company": "steel",
            "direction": "supply",
            "kind": "material",
            "name": "Mill scale",
            "ewc": "100210",
            "quantity": 900,
            "unit": "t/yr",
        }
    )
    v2 = ParkFile.model_validate(doc)
    summary = import_park(engine, v2, source="v2")
    assert summary.created["streams"] == 1
    assert summary.updated["streams"] == 4
    assert summary.removed["streams"] == 1
    assert export_park(engine) == v2
    assert _counts(engine) == (1, 3, 5)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ImportRow)) == 2


def test_a_failing_import_stores_nothing(
    engine: Engine, small_park_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    park = read_park(small_park_path)
    real = registry_module._stream_row
    calls = {"n": 0}

    def failing(s, position):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("disk full")
        return real(s, position)

    monkeypatch.setattr(registry_module, "_stream_row", failing)
    with pytest.raises(RuntimeError):
        import_park(engine, park, source="x")
    assert _counts(engine) == (0, 0, 0)


def test_a_failing_reimport_leaves_the_previous_version_whole(
    engine: Engine, small_park_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    park = read_park(small_park_path)
    import_park(engine, park, source="v1")
    doc = park.to_document()
    doc["streams"] = doc["streams"][:2]
    v2 = ParkFile.model_validate(doc)
    real_update = registry_module.update

    def failing_update(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("connection lost")

    monkeypatch.setattr(registry_module, "update", failing_update)
    with pytest.raises(RuntimeError):
        import_park(engine, v2, source="v2")
    monkeypatch.setattr(registry_module, "update", real_update)
    assert export_park(engine) == park


def test_ids_of_another_park_are_not_taken_over(engine: Engine, small_park_path: Path) -> None:
    park = read_park(small_park_path)
    import_park(engine, park, source="hp-1")
    doc = park.to_document()
    doc["parks"] = [{"id": "hp-2", "name": "Other park"}]
    for c in doc["companies"]:
        c["park"] = "hp-2"
    with pytest.raises(ParkFileError) as info:
        import_park(engine, ParkFile.model_validate(doc), source="hp-2")
    assert "companies[0].id" in {i.path for i in info.value.issues}
    assert export_park(engine) == park


def test_export_of_an_unknown_park_is_an_error(engine: Engine) -> None:
    with pytest.raises(ParkFileError, match="no park 'nowhere'"):
        export_park(engine, ["nowhere"])


def test_demo_parks_can_live_side_by_side(engine: Engine) -> None:
    from symbiolink.demo import demo_files

    parks = [read_park(p) for p in demo_files()]
    for p in parks:
        import_park(engine, p, source="demo")
    for p in parks:
        assert export_park(engine, [x.id for x in p.parks]) == p


def test_import_reports_progress_up_to_the_total(engine: Engine, small_park_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    import_park(
        engine,
        read_park(small_park_path),
        source="x",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (9, 9)  # 1 park + 3 companies + 5 streams
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_company_moved_between_the_files_parks_is_updated_not_duplicated(
    engine: Engine, small_park_path: Path
) -> None:
    doc = read_park(small_park_path).to_document()
    doc["parks"].append({"id": "hp-2", "name": "Second park"})
    import_park(engine, ParkFile.model_validate(doc), source="v1")
    doc["companies"][1]["park"] = "hp-2"
    moved = ParkFile.model_validate(doc)
    summary = import_park(engine, moved, source="v2")
    assert summary.created == {"parks": 0, "companies": 0, "streams": 0}
    assert summary.updated == {"parks": 2, "companies": 3, "streams": 5}
    assert export_park(engine, ["hp-2"]).companies[0].id == doc["companies"][1]["id"]
    assert _counts(engine) == (2, 3, 5)
