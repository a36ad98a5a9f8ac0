"""Background jobs in the database: queued, claimed by one worker, its progress and heartbeat
written as it runs, then its result or its error.

The table is the queue, so a job outlives the process that queued it; a job left ``running`` by a
process that died stops getting heartbeats and is failed by :func:`fail_stale`. Every write of a
worker names the worker and applies only while the job is still running under it: a job failed
meanwhile (stale, or its server stopping) is never overwritten by a late result.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import CursorResult, Engine, Update, select, update
from sqlalchemy.orm import Session

from symbiolink.store.models import JobRow

Kind = Literal["evaluation", "optimization"]
KINDS: tuple[str, ...] = get_args(Kind)
JobStatus = Literal["queued", "running", "succeeded", "failed"]
STATUSES: tuple[str, ...] = get_args(JobStatus)


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def job_dict(row: JobRow) -> dict[str, Any]:
    """A job as a plain dictionary (timestamps in ISO 8601, UTC); ``result`` only when it
    succeeded, ``error`` only when it failed."""
    doc: dict[str, Any] = {
        "id": row.id, "kind": row.kind, "park": row.park_id, "requested_by": row.requested_by,
        "view": row.view, "params": row.params, "status": row.status, "progress": row.progress,
        "message": row.message, "created_at": _iso(row.created_at), "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at), "heartbeat_at": _iso(row.heartbeat_at),
    }  # fmt: skip
    if row.status == "succeeded":
        doc["result"] = row.result
    if row.status == "failed":
        doc["error"] = row.error or "the job failed"
    return doc


def create_job(
    engine: Engine,
    *,
    kind: str,
    park: str,
    requested_by: int | None,
    view: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    """Queue a job; returns it."""
    if kind not in KINDS:
        raise ValueError(f"job kind {kind!r} (accepted: {', '.join(KINDS)})")
    with Session(engine) as session, session.begin():
        row = JobRow(kind=kind, park_id=park, requested_by=requested_by, view=view, params=params,
                     status="queued", progress=0.0, message="queued", created_at=datetime.now(UTC))  # fmt: skip
        session.add(row)
        session.flush()
        return job_dict(row)


def get_job(engine: Engine, job_id: int) -> dict[str, Any] | None:
    with Session(engine) as session:
        row = session.get(JobRow, job_id)
        return job_dict(row) if row is not None else None


def claim_job(engine: Engine, *, worker: str) -> dict[str, Any] | None:
    """The oldest queued job, now running under ``worker``; None if none is queued. Two workers
    never claim the same job: the claim is a conditional update that only one of them wins."""
    while True:
        with Session(engine) as session, session.begin():
            job_id = session.scalar(
                select(JobRow.id).where(JobRow.status == "queued").order_by(JobRow.id).limit(1)
            )
            if job_id is None:
                return None
            now = datetime.now(UTC)
            won = _count(
                session,
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == "queued")
                .values(
                    status="running",
                    started_at=now,
                    heartbeat_at=now,
                    worker=worker,
                    message="started",
                ),
            )
            if won:
                row = session.get(JobRow, job_id)
                assert row is not None
                session.refresh(row)
                return job_dict(row)


def _count(session: Session, statement: Update) -> int:
    """How many rows an update changed."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _mine(job_id: int, worker: str) -> Any:
    return (JobRow.id == job_id) & (JobRow.status == "running") & (JobRow.worker == worker)


def set_progress(
    engine: Engine, job_id: int, *, worker: str, progress: float, message: str
) -> bool:
    """Record how far a running job is (0..1) and what it does; False if the job no longer runs
    under ``worker`` (it was failed meanwhile), so the work can stop."""
    with Session(engine) as session, session.begin():
        return bool(
            _count(
                session,
                update(JobRow)
                .where(_mine(job_id, worker))
                .values(
                    progress=min(max(progress, 0.0), 1.0),
                    message=message[:500],
                    heartbeat_at=datetime.now(UTC),
                ),
            )
        )


def beat(engine: Engine, *, worker: str) -> int:
    """The heartbeat of every job running under ``worker``; how many there are."""
    with Session(engine) as session, session.begin():
        return _count(
            session,
            update(JobRow)
            .where(JobRow.status == "running", JobRow.worker == worker)
            .values(heartbeat_at=datetime.now(UTC)),
        )


def finish_job(engine: Engine, job_id: int, *, worker: str, result: dict[str, Any]) -> bool:
    """The job succeeded with ``result``; False if it no longer ran under ``worker``."""
    with Session(engine) as session, session.begin():
        return bool(
            _count(
                session,
                update(JobRow)
                .where(_mine(job_id, worker))
                .values(
                    status="succeeded",
                    progress=1.0,
                    message="done",
                    result=result,
                    finished_at=datetime.now(UTC),
                ),
            )
        )


def fail_job(engine: Engine, job_id: int, *, worker: str, error: str) -> bool:
    """The job failed with ``error`` (a sentence for the user); False if it no longer ran under
    ``worker``."""
    with Session(engine) as session, session.begin():
        return bool(
            _count(
                session,
                update(JobRow)
                .where(_mine(job_id, worker))
                .values(
                    status="failed",
                    message="failed",
                    error=error[:2000],
                    finished_at=datetime.now(UTC),
                ),
            )
        )


def fail_stale(engine: Engine, *, older_than: timedelta, now: datetime | None = None) -> list[int]:
    """Fail every running job whose last heartbeat is older than ``older_than``: the process that
    ran it is gone. Returns their ids."""
    now = now or datetime.now(UTC)
    limit = now - older_than
    with Session(engine) as session, session.begin():
        rows = list(
            session.scalars(
                select(JobRow).where(
                    JobRow.status == "running",
                    (JobRow.heartbeat_at < limit) | JobRow.heartbeat_at.is_(None),
                )
            )
        )
        for row in rows:
            row.status = "failed"
            row.message = "failed"
            row.finished_at = now
            row.error = (
                "the server process running this job stopped (no heartbeat since "
                f"{_iso(row.heartbeat_at) or 'it started'}); start the job again"
            )
        return [r.id for r in rows]


def fail_worker(engine: Engine, *, worker: str, error: str) -> list[int]:
    """Fail the jobs still running under ``worker`` (its server is stopping)."""
    with Session(engine) as session, session.begin():
        rows = list(
            session.scalars(
                select(JobRow).where(JobRow.status == "running", JobRow.worker == worker)
            )
        )
        for row in rows:
            row.status, row.message, row.error = "failed", "failed", error
            row.finished_at = datetime.now(UTC)
        return [r.id for r in rows]


def latest_job(engine: Engine, *, park: str, view: str) -> dict[str, Any] | None:
    """The newest job of ``park`` computed on ``view``."""
    with Session(engine) as session:
        row = session.scalars(
            select(JobRow)
            .where(JobRow.park_id == park, JobRow.view == view)
            .order_by(JobRow.id.desc())
            .limit(1)
        ).first()
        return job_dict(row) if row is not None else None
