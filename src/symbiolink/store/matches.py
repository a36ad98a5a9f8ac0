"""Storing match results, so the platform can show them without matching again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from symbiolink.matching.engine import Match
from symbiolink.store.models import MatchRow, MatchRunRow


def save_matches(
    engine: Engine, matches: Sequence[Match], *, parks: Sequence[str], params: dict[str, Any]
) -> int:
    """Store one run's matches (the park must be stored already); returns the run id."""
    with Session(engine) as session, session.begin():
        run = MatchRunRow(created_at=datetime.now(UTC), parks=list(parks), params=params)
        session.add(run)
        session.flush()
        rows = [
            {"run_id": run.id, "supply_id": m.supply, "rank": m.rank, "receiver_id": m.receiver, "demand_id": m.demand,
             "score": m.score, "use": m.use, "reasons": m.reasons, "sources": m.sources, "distance_km": m.distance_km}
            for m in matches
        ]  # fmt: skip
        for start in range(0, len(rows), 5000):
            session.execute(insert(MatchRow), rows[start : start + 5000])
        return run.id


def load_matches(engine: Engine, run_id: int | None = None) -> list[Match]:
    """The matches of a run (default: the latest), ordered by supply and rank."""
    with Session(engine) as session:
        if run_id is None:
            run_id = session.scalar(select(MatchRunRow.id).order_by(MatchRunRow.id.desc()).limit(1))
            if run_id is None:
                return []
        rows = session.scalars(
            select(MatchRow)
            .where(MatchRow.run_id == run_id)
            .order_by(MatchRow.supply_id, MatchRow.rank)
        )
        return [
            Match(
                r.supply_id,
                r.receiver_id,
                r.demand_id,
                r.rank,
                r.score,
                r.use,
                list(r.reasons),
                list(r.sources),
                r.distance_km,
            )
            for r in rows
        ]
