"""Storing optimization results, so the platform can show a park's network without solving again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from symbiolink.store.models import OptimizationRunRow


def save_optimization(
    engine: Engine, result: dict[str, Any], *, parks: Sequence[str], params: dict[str, Any]
) -> int:
    """Store one solved network (``Result.to_dict()``); returns the run id."""
    with Session(engine) as session, session.begin():
        row = OptimizationRunRow(
            created_at=datetime.now(UTC), parks=list(parks), objective=result["objective"]["name"],
            status=result["status"], value=float(result["objective"]["value"]),
            unit=result["objective"]["unit"], params=params, result=result,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def load_optimization(
    engine: Engine, run_id: int | None = None, *, park: str | None = None
) -> dict[str, Any] | None:
    """A stored result (default: the latest, or the latest that covers ``park``)."""
    with Session(engine) as session:
        query = select(OptimizationRunRow).order_by(OptimizationRunRow.id.desc())
        if run_id is not None:
            query = query.where(OptimizationRunRow.id == run_id)
        for row in session.scalars(query):
            if park is None or park in row.parks:
                return {"id": row.id, "created_at": row.created_at.isoformat(), "parks": row.parks,
                        "params": row.params, **row.result}  # fmt: skip
        return None
