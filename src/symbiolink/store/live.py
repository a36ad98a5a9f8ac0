"""Stored current matches, kept with every change of the registry.

Every change of parks, companies or streams adds a row to ``live_changes`` (the ids it touched)
and one to ``live_state.version``, in the change's own transaction (:func:`log_change`). A server
process keeps a :class:`~symbiolink.matching.index.LiveIndex` of the whole registry
(:class:`LiveMatches`, built on first use) and the version it reflects. Before it writes a change
of its own it brings the index up to the latest version (reading the current rows of the ids
logged since), then applies the change and writes, in the same transaction, the ``live_matches``
rows of the streams whose matches changed; ``live_state.table_version`` is the version those rows
reflect. The ``live_state`` row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite takes
the database's write lock) from the version's increment to the commit, so changes are numbered
in the order they commit and the rows are written by one process at a time.

A change made without a server (``symbiolink match --save``, an import from the command line)
leaves ``table_version`` behind ``version``; the next server process that syncs (any read or
write of matches) catches up and writes the rows that changed (all rows, if its index did not
reflect the table's version). So matches are never stale after an acknowledged write through
the server, and never read stale by it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from symbiolink.matching.engine import Matcher
from symbiolink.matching.index import Changes, LiveIndex
from symbiolink.model.park import Company, Park
from symbiolink.store.models import (
    CompanyRow,
    LiveChangeRow,
    LiveMatchRow,
    LiveStateRow,
    ParkRow,
    StreamRow,
)

_CHUNK = 5000
#: One lock for the indexes of a process: they share one matcher, whose caches are not for
#: several threads at once.
_LOCK = threading.RLock()


@cache
def live_matcher() -> Matcher:
    """The matcher of the live indexes of this process (building one takes seconds)."""
    return Matcher()


def _state(session: Session, *, lock: bool) -> LiveStateRow:
    q = select(LiveStateRow).where(LiveStateRow.id == 1)
    if lock:
        q = q.with_for_update()
    state = session.scalars(q).one_or_none()
    if state is None:  # the first change of the database makes the row (once, if two race)
        try:
            with session.begin_nested():
                session.add(LiveStateRow(id=1, version=0, table_version=-1))
        except IntegrityError:
            pass
        state = session.scalars(q).one()
    return state


def lock_registry(session: Session) -> None:
    """Take the registry's write lock (the ``live_state`` row, until the transaction ends) before
    a transaction changes any park, company or stream. Every writer takes it first, so writers
    queue in one order: taken only when the change was logged, after the change's own rows, two
    writers deadlocked on PostgreSQL (one's deleted stream cascading into ``live_matches`` rows
    the other was rewriting; found by ``benchmarks/soak.py``)."""
    _state(session, lock=True)


def log_change(
    session: Session,
    *,
    parks: Iterable[str] = (),
    companies: Iterable[str] = (),
    streams: Iterable[str] = (),
) -> int:
    """Record, in the change's transaction, that it touched these ids; returns its version.
    Locks the ``live_state`` row until the transaction ends."""
    state = _state(session, lock=True)
    state.version += 1
    session.add(
        LiveChangeRow(
            version=state.version,
            at=datetime.now(UTC),
            parks=sorted(set(parks)),
            companies=sorted(set(companies)),
            streams=sorted(set(streams)),
        )
    )
    session.flush()
    return state.version


def _park(p: ParkRow) -> Park:
    return Park(id=p.id, name=p.name, country=p.country, province=p.province, lat=p.lat, lon=p.lon)


def _company(c: CompanyRow) -> Company:
    return Company(id=c.id, name=c.name, park=c.park_id, isic=c.isic, nace=c.nace, vsic=c.vsic,
                   description=c.description, lat=c.lat, lon=c.lon)  # fmt: skip


class LiveMatches:
    """A process's index of the stored registry and the writing of ``live_matches``."""

    def __init__(self, engine: Engine, *, top: int = 5, matcher: Matcher | None = None) -> None:
        self.engine = engine
        self.top = top
        self._matcher = matcher
        self._lock = _LOCK
        self.index: LiveIndex | None = None
        self.version = -1
        self.build_seconds: float | None = None
        self._suspect: set[tuple[str, str]] = set()

    # -- the index ---------------------------------------------------------------------------

    def ensure(self) -> LiveIndex:
        """The index, built from the database on first use."""
        with self._lock:
            if self.index is None:
                from symbiolink.store.registry import export_park

                start = time.perf_counter()
                with Session(self.engine) as session:
                    version = _state(session, lock=False).version
                    session.commit()
                registry = export_park(self.engine)
                self.index = LiveIndex(
                    registry, matcher=self._matcher or live_matcher(), top=self.top
                )
                self.version = version
                self.build_seconds = time.perf_counter() - start
            return self.index

    def _load(self, session: Session, ids: set[tuple[str, str]]) -> Changes:
        """Apply the stored state of these (kind, id) to the index."""
        index = self.ensure()
        want = {k: sorted(i for kind, i in ids if kind == k) for k in ("park", "company", "stream")}
        parks = _rows(session, ParkRow, want["park"])
        companies = _rows(session, CompanyRow, want["company"])
        streams = _rows(session, StreamRow, want["stream"])
        from symbiolink.store.registry import stream_from_row

        # A stream's company that the index lacks comes too (an import names it; be safe).
        missing = {s.company_id for s in streams} - set(index.companies) - {c.id for c in companies}
        companies += _rows(session, CompanyRow, sorted(missing))
        missing_parks = {c.park_id for c in companies} - set(index.parks) - {p.id for p in parks}
        parks += _rows(session, ParkRow, sorted(missing_parks))
        found_s = {s.id for s in streams}
        found_c = {c.id for c in companies}
        return index.apply(
            parks=[_park(p) for p in parks],
            companies=[_company(c) for c in companies],
            streams=[stream_from_row(s) for s in streams],
            removed_streams=[i for i in want["stream"] if i not in found_s],
            removed_companies=[i for i in want["company"] if i not in found_c],
        )

    def _catch_up(self, session: Session, state: LiveStateRow) -> tuple[Changes | None, bool]:
        """Bring the index to ``state.version`` (under the lock); returns what changed (None
        when nothing did) and whether the index was built afresh."""
        ids = set(self._suspect)
        if self.version < state.version:
            for row in session.scalars(
                select(LiveChangeRow)
                .where(LiveChangeRow.version > self.version)
                .order_by(LiveChangeRow.version)
            ):
                ids |= {("park", x) for x in row.parks}
                ids |= {("company", x) for x in row.companies}
                ids |= {("stream", x) for x in row.streams}
        self._suspect = set()
        index = self.ensure()
        if not ids:
            self.version = state.version
            return None, False
        if len(ids) > max(1000, (len(index.streams) + len(index.companies)) // 4):
            # Most of the registry changed (a large import): building afresh is quicker.
            from symbiolink.store.registry import export_park

            self.index = LiveIndex(export_park(self.engine), matcher=index.matcher, top=self.top)
            self.version = state.version
            return None, True
        changes = self._load(session, ids)
        self.version = state.version
        return changes, False

    def sync(self) -> None:
        """Bring the index and the stored matches up to the registry's latest version."""
        self.ensure()
        if not self._suspect:
            with Session(self.engine) as session:
                state = _state(session, lock=False)
                if state.version == self.version and state.table_version == state.version:
                    return
        with self._lock, Session(self.engine) as session, session.begin():
            self._sync(session, _state(session, lock=True))

    def _sync(self, session: Session, state: LiveStateRow) -> None:
        table_was, mine_was = state.table_version, self.version
        changes, rebuilt = self._catch_up(session, state)
        if table_was == state.version:
            return  # the rows are right already (written with each change)
        if table_was == mine_was and not rebuilt:
            if changes is not None:
                self._write(session, changes.streams)
        else:
            self._write_all(session)
        state.table_version = state.version

    @contextmanager
    def writing(self) -> Iterator[_Change]:
        """Around a write and its transaction: ``with live.writing() as w, Session(...) as
        session, session.begin(): ...; w.touch(session, streams=[...])`` logs the change,
        applies it to the index and writes the changed matches in the transaction. If the
        transaction does not commit, the index reads those ids again at the next sync."""
        self.ensure()
        with self._lock:
            c = _Change(self)
            try:
                yield c
            except BaseException:
                self._forget(c)
                raise

    def _forget(self, c: _Change) -> None:
        """A change that did not commit: its version is not the index's, and its ids are read
        again from the database next time."""
        self._suspect |= c.ids
        if c.version_before is not None:
            self.version = min(self.version, c.version_before)

    # -- the rows ----------------------------------------------------------------------------

    def _rows_of(self, stream_ids: Iterable[str]) -> list[dict[str, Any]]:
        index = self.ensure()
        rows: list[dict[str, Any]] = []
        for sid in stream_ids:
            s = index.streams.get(sid)
            if s is None:
                continue
            if s.direction == "supply":
                rows += [
                    {"stream_id": sid, "rank": m.rank, "direction": "supply",
                     "company_id": m.receiver, "other_stream_id": m.demand, "score": m.score,
                     "use": m.use, "reasons": m.reasons, "sources": m.sources,
                     "distance_km": m.distance_km}
                    for m in index.matches_of(sid)
                ]  # fmt: skip
            else:
                rows += [
                    {"stream_id": sid, "rank": m.rank, "direction": "demand",
                     "company_id": m.supplier, "other_stream_id": m.supply, "score": m.score,
                     "use": "", "reasons": m.reasons, "sources": m.sources,
                     "distance_km": m.distance_km}
                    for m in index.demand_matches_of(sid)
                ]  # fmt: skip
        return rows

    def _write(self, session: Session, stream_ids: set[str]) -> None:
        ids = sorted(stream_ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            session.execute(delete(LiveMatchRow).where(LiveMatchRow.stream_id.in_(chunk)))
        rows = self._rows_of(ids)
        for start in range(0, len(rows), _CHUNK):
            session.execute(insert(LiveMatchRow), rows[start : start + _CHUNK])

    def _write_all(self, session: Session) -> None:
        session.execute(delete(LiveMatchRow))
        rows = self._rows_of(self.ensure().streams)
        for start in range(0, len(rows), _CHUNK):
            session.execute(insert(LiveMatchRow), rows[start : start + _CHUNK])


class _Change:
    """The ids one write touches (see :meth:`LiveMatches.writing`)."""

    def __init__(self, live: LiveMatches) -> None:
        self.live = live
        self.ids: set[tuple[str, str]] = set()
        self.version_before: int | None = None

    def touch(
        self,
        session: Session,
        *,
        parks: Iterable[str] = (),
        companies: Iterable[str] = (),
        streams: Iterable[str] = (),
    ) -> None:
        """Log the change (in ``session``'s transaction, once written), apply it to the index and
        write the matches that changed."""
        ids = {("park", x) for x in parks} | {("company", x) for x in companies}
        ids |= {("stream", x) for x in streams}
        self.ids |= ids
        live = self.live
        session.flush()
        state = _state(session, lock=True)
        # Up to date with the others' changes first (their rows are written), then ours.
        live._sync(session, state)
        if self.version_before is None:
            self.version_before = state.version
        log_change(
            session,
            parks=[i for k, i in ids if k == "park"],
            companies=[i for k, i in ids if k == "company"],
            streams=[i for k, i in ids if k == "stream"],
        )
        changes = live._load(session, ids)
        live._write(session, changes.streams)
        live.version = state.version
        state.table_version = state.version


def _rows(session: Session, model: Any, ids: Sequence[str]) -> list[Any]:
    out: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        out += list(session.scalars(select(model).where(model.id.in_(ids[start : start + _CHUNK]))))
    return out


def view(session: Session, user: Any, rows: Sequence[LiveMatchRow]) -> list[dict[str, Any]]:
    """Stored matches as ``user`` may see them (``user`` may read the matched streams): the
    other side named only to the park's brokers and admins, and not where its stream keeps the
    owner's identity private (only admins see those); otherwise a sector and a distance, with its
    name, id and stream ids taken out of the reasons (as :func:`links.view` does)."""
    from symbiolink.store.links import _hidden_tokens, _redact, brokers_park

    companies = {c.id: c for c in _rows(session, CompanyRow, sorted({r.company_id for r in rows}))}
    others = {
        s.id: s
        for s in _rows(
            session, StreamRow, sorted({r.other_stream_id for r in rows if r.other_stream_id})
        )
    }
    out: list[dict[str, Any]] = []
    tokens: dict[str, list[str]] = {}
    for r in rows:
        company = companies[r.company_id]
        other = others.get(r.other_stream_id or "")
        hides = other is not None and "identity" in (other.private_fields or ())
        broker = brokers_park(user, company.park_id)
        shown = user.role == "admin" or (broker and not hides)
        if shown:
            side: dict[str, Any] = {"company": company.id, "name": company.name,
                                    "sector_isic": company.sector_isic}  # fmt: skip
            reasons = list(r.reasons)
        else:
            side = {"company": None, "name": None, "sector_isic": company.sector_isic,
                    "description": f"a company of sector {company.sector_isic or 'unknown'}"
                    + (f", {r.distance_km:.1f} km away" if r.distance_km is not None else "")}  # fmt: skip
            if company.id not in tokens:
                tokens[company.id] = _hidden_tokens(session, [company])
            reasons = [_redact(x, tokens[company.id]) for x in r.reasons]
        out.append(
            {
                "stream": r.stream_id,
                "direction": r.direction,
                "rank": r.rank,
                "score": r.score,
                "use": r.use,
                "reasons": reasons,
                "sources": list(r.sources),
                "distance_km": r.distance_km,
                "other": side,
                "other_stream": r.other_stream_id if shown else None,
            }
        )
    return out


def rows_of(session: Session, stream_ids: Sequence[str]) -> list[LiveMatchRow]:
    """The stored matches of these streams, by stream (in the given order) and rank."""
    found: list[LiveMatchRow] = []
    for start in range(0, len(stream_ids), _CHUNK):
        found += session.scalars(
            select(LiveMatchRow).where(
                LiveMatchRow.stream_id.in_(stream_ids[start : start + _CHUNK])
            )
        )
    order = {sid: i for i, sid in enumerate(stream_ids)}
    return sorted(found, key=lambda r: (order[r.stream_id], r.rank))
