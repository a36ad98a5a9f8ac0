"""Importing parks into the database and exporting them back.

An import is one transaction: a park file with any error never reaches here, and a failure half way
rolls everything back. Re-importing a park updates it in place by id: the file is the whole truth
about the parks it names, so companies and streams of those parks that the file no longer lists are
removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from symbiolink.codes.ewc import ewc_lookup
from symbiolink.errors import Issue, ParkFileError
from symbiolink.model.park import FORMAT, Company, Park, ParkFile, Stream, StreamProperties
from symbiolink.model.units import CANONICAL_UNIT
from symbiolink.store.live import lock_registry, log_change
from symbiolink.store.models import CompanyRow, ImportRow, ParkRow, StreamRow

_CHUNK = 5000


@dataclass
class ImportSummary:
    """What an import changed, per list: created, updated, removed."""

    import_id: int
    parks: list[str]
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "parks": self.parks,
            "created": self.created,
            "updated": self.updated,
            "removed": self.removed,
        }


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _park_row(p: Park, position: int, import_id: int, now: datetime) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "country": p.country, "province": p.province, "lat": p.lat, "lon": p.lon,
            "position": position, "import_id": import_id, "updated_at": now}  # fmt: skip


def _company_row(c: Company, position: int) -> dict[str, Any]:
    return {"id": c.id, "park_id": c.park, "name": c.name, "isic": c.isic, "nace": c.nace, "vsic": c.vsic,
            "sector_isic": c.sector_isic(), "description": c.description, "lat": c.lat, "lon": c.lon,
            "position": position}  # fmt: skip


def _stream_row(s: Stream, position: int) -> dict[str, Any]:
    entry = ewc_lookup(s.ewc) if s.ewc else None
    props = s.properties.model_dump(mode="json", exclude_none=True)
    return {"id": s.id, "company_id": s.company, "direction": s.direction, "kind": s.kind, "name": s.name,
            "description": s.description, "ewc": s.ewc, "ewc_code": entry.code if entry else None,
            "hazardous": bool(entry and entry.hazardous), "quantity": s.quantity, "unit": s.unit,
            "quantity_canonical": s.canonical_quantity(), "unit_canonical": CANONICAL_UNIT[s.kind],
            "properties": props, "position": position}  # fmt: skip


def _owners(
    session: Session, model: type[CompanyRow] | type[StreamRow], ids: Sequence[str]
) -> dict[str, str]:
    """For ids already stored, the park each belongs to."""
    out: dict[str, str] = {}
    for chunk in _chunks(ids):
        if model is CompanyRow:
            q = select(CompanyRow.id, CompanyRow.park_id).where(CompanyRow.id.in_(chunk))
        else:
            q = (
                select(StreamRow.id, CompanyRow.park_id)
                .join(CompanyRow, StreamRow.company_id == CompanyRow.id)
                .where(StreamRow.id.in_(chunk))
            )
        out.update({row[0]: row[1] for row in session.execute(q)})
    return out


def import_park(
    engine: Engine,
    park: ParkFile,
    *,
    source: str = "<park>",
    content: bytes | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Store a validated park, in one transaction.

    ``progress(done, total)`` is called as rows are written (``total`` counts parks, companies and
    streams), so long imports can show a bar.

    Raises :class:`ParkFileError` (and stores nothing) if an id in the file already belongs to a
    park the file does not name: the file would otherwise take another park's company over.
    """
    now = datetime.now(UTC)
    park_ids = [p.id for p in park.parks]
    sha = hashlib.sha256(
        content if content is not None else park.model_dump_json().encode()
    ).hexdigest()
    with Session(engine) as session, session.begin():
        lock_registry(session)
        conflicts: list[Issue] = []
        # Ids of the file already stored; after the check below, all under the file's parks.
        stored: dict[str, set[str]] = {}
        checks: tuple[
            tuple[str, type[CompanyRow] | type[StreamRow], Sequence[Company | Stream]], ...
        ] = (
            ("companies", CompanyRow, park.companies),
            ("streams", StreamRow, park.streams),
        )
        for list_name, model, items in checks:
            owners = _owners(session, model, [x.id for x in items])
            stored[list_name] = set(owners)
            for i, x in enumerate(items):
                owner = owners.get(x.id)
                if owner is not None and owner not in park_ids:
                    conflicts.append(
                        Issue(
                            source,
                            f"{list_name}[{i}].id",
                            f"id {x.id!r} is already used in the database by park {owner!r}",
                            "an id not used by another park",
                        )
                    )
        if conflicts:
            raise ParkFileError(conflicts)

        log = ImportRow(source=source, sha256=sha, imported_at=now, summary={})
        session.add(log)
        session.flush()
        summary = ImportSummary(import_id=log.id, parks=park_ids)

        existing = {
            "parks": set(session.scalars(select(ParkRow.id).where(ParkRow.id.in_(park_ids)))),
            "companies": set(
                session.scalars(select(CompanyRow.id).where(CompanyRow.park_id.in_(park_ids)))
            ),
            "streams": set(
                session.scalars(
                    select(StreamRow.id)
                    .join(CompanyRow, StreamRow.company_id == CompanyRow.id)
                    .where(CompanyRow.park_id.in_(park_ids))
                )
            ),
        }
        rows = {
            "parks": [_park_row(p, i, log.id, now) for i, p in enumerate(park.parks)],
            "companies": [_company_row(c, i) for i, c in enumerate(park.companies)],
            "streams": [_stream_row(s, i) for i, s in enumerate(park.streams)],
        }
        models: dict[str, type[ParkRow] | type[CompanyRow] | type[StreamRow]] = {
            "parks": ParkRow,
            "companies": CompanyRow,
            "streams": StreamRow,
        }
        total = sum(len(r) for r in rows.values())
        written = 0
        # Remove what the file no longer lists, streams before companies.
        for list_name in ("streams", "companies"):
            keep = {r["id"] for r in rows[list_name]}
            gone = sorted(existing[list_name] - keep)
            for chunk in _chunks(gone):
                session.execute(delete(models[list_name]).where(models[list_name].id.in_(chunk)))
            summary.removed[list_name] = len(gone)
        summary.removed["parks"] = 0
        for list_name in ("parks", "companies", "streams"):
            table = models[list_name]
            # An id stored under another of the file's parks is updated too: it moves with the file.
            known = stored.get(list_name, existing[list_name])
            new = [r for r in rows[list_name] if r["id"] not in known]
            old = [r for r in rows[list_name] if r["id"] in known]
            for chunk in _chunks(new):
                session.execute(insert(table), list(chunk))
                written += len(chunk)
                if progress:
                    progress(written, total)
            for chunk in _chunks(old):
                session.execute(update(table), list(chunk))
                written += len(chunk)
                if progress:
                    progress(written, total)
            summary.created[list_name] = len(new)
            summary.updated[list_name] = len(old)
        log.summary = summary.to_dict()
        log_change(
            session,
            parks=park_ids,
            companies=[c.id for c in park.companies] + sorted(existing["companies"]),
            streams=[s.id for s in park.streams] + sorted(existing["streams"]),
        )
    return summary


def export_park(engine: Engine, park_ids: Sequence[str] | None = None) -> ParkFile:
    """The stored parks (all, or those named) as a park file, in the order they were imported."""
    with Session(engine) as session:
        q = select(ParkRow).order_by(ParkRow.import_id, ParkRow.position, ParkRow.id)
        if park_ids:
            q = q.where(ParkRow.id.in_(list(park_ids)))
        parks = list(session.scalars(q))
        found = {p.id for p in parks}
        missing = [p for p in park_ids or [] if p not in found]
        if missing:
            raise ParkFileError(
                [
                    Issue(
                        "database", "parks", f"no park {m!r} is stored", "the id of a stored park"
                    )
                    for m in missing
                ]
            )
        ids = [p.id for p in parks]
        rank = {pid: i for i, pid in enumerate(ids)}
        companies = sorted(
            session.scalars(select(CompanyRow).where(CompanyRow.park_id.in_(ids))),
            key=lambda c: (rank[c.park_id], c.position, c.id),
        )
        stream_rows = session.execute(
            select(StreamRow, CompanyRow.park_id)
            .join(CompanyRow, StreamRow.company_id == CompanyRow.id)
            .where(CompanyRow.park_id.in_(ids))
        ).all()
        streams = [
            s for s, _ in sorted(stream_rows, key=lambda r: (rank[r[1]], r[0].position, r[0].id))
        ]
        return ParkFile.model_construct(
            format=FORMAT,
            parks=[
                Park(
                    id=p.id,
                    name=p.name,
                    country=p.country,
                    province=p.province,
                    lat=p.lat,
                    lon=p.lon,
                )
                for p in parks
            ],
            companies=[
                Company(
                    id=c.id,
                    name=c.name,
                    park=c.park_id,
                    isic=c.isic,
                    nace=c.nace,
                    vsic=c.vsic,
                    description=c.description,
                    lat=c.lat,
                    lon=c.lon,
                )
                for c in companies
            ],
            streams=[stream_from_row(s) for s in streams],
        )


def stream_from_row(s: StreamRow) -> Stream:
    """A stored stream as it stands in a park file (the inverse of :func:`_stream_row`)."""
    return Stream(
        id=s.id,
        company=s.company_id,
        direction=s.direction,
        kind=s.kind,
        name=s.name,
        description=s.description,
        ewc=s.ewc,
        quantity=s.quantity,
        unit=s.unit,
        properties=StreamProperties.model_validate(s.properties or {}),
    )


def stored_parks(engine: Engine) -> list[dict[str, Any]]:
    """Each stored park with its counts of companies and of supply and demand streams."""
    from sqlalchemy import func

    with Session(engine) as session:
        parks = list(session.scalars(select(ParkRow).order_by(ParkRow.id)))
        counts = dict(
            session.execute(
                select(CompanyRow.park_id, func.count()).group_by(CompanyRow.park_id)
            ).all()
        )
        stream_counts: dict[tuple[str, str], int] = {}
        q = (
            select(CompanyRow.park_id, StreamRow.direction, func.count())
            .join(CompanyRow, StreamRow.company_id == CompanyRow.id)
            .group_by(CompanyRow.park_id, StreamRow.direction)
        )
        for park_id, direction, n in session.execute(q):
            stream_counts[(park_id, direction)] = n
        return [
            {"id": p.id, "name": p.name, "country": p.country, "companies": counts.get(p.id, 0),
             "supplies": stream_counts.get((p.id, "supply"), 0), "demands": stream_counts.get((p.id, "demand"), 0)}
            for p in parks
        ]  # fmt: skip


def replace_company_streams(
    engine: Engine, company_id: str, streams: Sequence[Stream]
) -> dict[str, int]:
    """Make ``streams`` the company's streams, atomically: new ids are added, the company's ids are
    updated, its streams the list no longer holds are removed. An id that belongs to another
    company is refused (nothing is written)."""
    for s in streams:
        if s.company != company_id:
            raise ParkFileError(
                [
                    Issue(
                        "upload",
                        f"streams[{s.id}]",
                        f"belongs to company {s.company!r}",
                        f"streams of {company_id!r} only",
                    )
                ]
            )
    with Session(engine) as session, session.begin():
        lock_registry(session)
        if session.get(CompanyRow, company_id) is None:
            raise ParkFileError([Issue("upload", "company", f"no stored company {company_id!r}")])
        owners: dict[str, str] = {}
        for chunk in _chunks([s.id for s in streams]):
            found = session.execute(
                select(StreamRow.id, StreamRow.company_id).where(StreamRow.id.in_(chunk))
            )
            owners.update({sid: owner for sid, owner in found})
        taken = sorted(sid for sid, owner in owners.items() if owner != company_id)
        if taken:
            raise ParkFileError(
                [
                    Issue(
                        "upload",
                        f"streams[{sid}].id",
                        "is the id of another company's stream",
                        "an id of your own",
                    )
                    for sid in taken
                ]
            )
        current = set(
            session.scalars(select(StreamRow.id).where(StreamRow.company_id == company_id))
        )
        keep = {s.id for s in streams}
        gone = sorted(current - keep)
        for chunk in _chunks(gone):
            session.execute(delete(StreamRow).where(StreamRow.id.in_(chunk)))
        rows = [_stream_row(s, i) for i, s in enumerate(streams)]
        new = [r for r in rows if r["id"] not in current]
        old = [r for r in rows if r["id"] in current]
        if new:
            session.execute(insert(StreamRow), new)
        if old:
            session.execute(update(StreamRow), old)
        log_change(session, streams=sorted(current | keep))
        return {"created": len(new), "updated": len(old), "removed": len(gone)}
