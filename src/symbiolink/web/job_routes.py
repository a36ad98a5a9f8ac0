"""The API of background jobs: start an evaluation or an optimization run of a park (202 and the
job's address), then read its status, progress and result.

Who may start one: the park's manager and facilitators, its company members and admins; each job
computes on its requester's view of the park (``web.access.park_view``), and only those with that
same view (and admins) may read it, so a result never shows a figure its reader may not see. A job
of a park the user does not see, or of another view, is answered 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy.orm import Session

from symbiolink.errors import SymbiolinkError
from symbiolink.store import jobs as store
from symbiolink.store.accounts import User, audit
from symbiolink.web import access
from symbiolink.web.app import CurrentUser, EngineDep, _park_or_403
from symbiolink.web.schemas import (
    EvaluationCreate,
    JobId,
    JobPublic,
    OptimizationCreate,
    ParkId,
    PolicyCreate,
    answers,
    errors,
)

jobs_api = APIRouter(prefix="/api/v1", responses=errors(401, 429))

_STARTED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "The job is queued; ``Location`` is where to read it.",
        "headers": {
            "Location": {"description": "The job's address.", "schema": {"type": "string"}}
        },
    }
}

_STARTS: dict[str, Any] = {
    **answers(JobPublic),
    "responses": {**errors(400, 403, 404, 422), **_STARTED},
}


def _checked_policy(policy: PolicyCreate) -> dict[str, Any]:
    """The policy as the job stores it, with its factor overrides checked against the library."""
    from symbiolink.accounting.factors import default_factors
    from symbiolink.accounting.roles import Roles

    doc = policy.model_dump(mode="json", exclude_defaults=True)
    if policy.factors:
        try:
            Roles(default_factors(), None, dict(policy.factors))
        except SymbiolinkError as exc:
            raise HTTPException(422, f"policy.factors: {exc}") from None
    return doc


def _start(
    request: Request, response: Response, user: User, engine: Any, park_id: str, kind: str,
    params: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    with Session(engine) as session:
        _park_or_403(session, user, park_id)
    if user.role not in access.JOB_ROLES:
        raise HTTPException(
            403, f"{kind}s are started by the park's manager, facilitators, companies or an admin"
        )
    job = store.create_job(engine, kind=kind, park=park_id, requested_by=user.id,
                           view=access.job_view(user), params=params)  # fmt: skip
    audit(engine, user, "start", f"job:{job['id']}", kind=kind, park=park_id)
    runner = getattr(request.app.state, "jobs", None)
    if runner is not None:
        runner.wake()
    response.headers["Location"] = f"/api/v1/jobs/{job['id']}"
    return job


@jobs_api.post(
    "/parks/{park_id}/evaluations",
    status_code=202,
    tags=["jobs"],
    **_STARTS,
)
def start_evaluation(
    park_id: ParkId,
    body: EvaluationCreate,
    request: Request,
    response: Response,
    user: CurrentUser,
    engine: EngineDep,
) -> dict[str, Any]:
    """Evaluate every candidate link of the park in the background (what ``symbiolink evaluate
    --json`` prints), on the requester's view of the park."""
    params = {**body.model_dump(mode="json"), "policy": _checked_policy(body.policy)}
    return _start(request, response, user, engine, park_id, "evaluation", params)


@jobs_api.post(
    "/parks/{park_id}/optimizations",
    status_code=202,
    tags=["jobs"],
    **_STARTS,
)
def start_optimization(
    park_id: ParkId,
    body: OptimizationCreate,
    request: Request,
    response: Response,
    user: CurrentUser,
    engine: EngineDep,
) -> dict[str, Any]:
    """Optimize the park's exchange network in the background (what ``symbiolink optimize
    --json`` prints), on the requester's view of the park."""
    params = {**body.model_dump(mode="json"), "policy": _checked_policy(body.policy)}
    return _start(request, response, user, engine, park_id, "optimization", params)


@jobs_api.get("/jobs/{job_id}", tags=["jobs"], **answers(JobPublic, 404, 422))
def read_job(job_id: JobId, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """A job's status and progress (0..1, with what it is doing), its result once it succeeded,
    its error once it failed."""
    job = store.get_job(engine, job_id)
    if job is None or not access.reads_job(user, job["park"], job["view"]):
        raise HTTPException(404, f"no job {job_id}")
    return job
