"""The dashboard's background jobs: buttons that start an evaluation or an optimization run of the
park, and the job's progress bar, which htmx polls until the job is done (then its key figures).

The same rules as the API (``web.job_routes``): a job computes on its requester's view of the park,
and a page shows a job only to those with that view, and to admins.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from symbiolink.store import jobs as store
from symbiolink.store.accounts import audit
from symbiolink.web import access
from symbiolink.web.pages import SessionUser, _check_csrf, _csrf, _engine, _render
from symbiolink.web.park_pages import _broker_park, _fragment
from symbiolink.web.schemas import JobId, ParkId

job_pages = APIRouter(include_in_schema=False)
#: What the buttons start: the API's defaults (``EvaluationCreate``, ``OptimizationCreate``).
DEFAULTS: dict[str, dict[str, Any]] = {
    "evaluation": {"policy": {}, "top": 5, "samples": 0, "seed": 0, "kb_exclude": []},
    "optimization": {"objective": "cost", "policy": {}, "no_outside": [], "pareto": 0, "gap": 1e-3},
}
#: How often the progress bar asks again (seconds).
POLL_SECONDS = 2


def _status(request: Request, park: Any, job: dict[str, Any] | None, csrf: str) -> HTMLResponse:
    return _render(request, "job_status.html", park=park, job=job, csrf=csrf, poll=POLL_SECONDS)


@job_pages.post("/park/{park_id}/jobs")
def start_job(
    request: Request,
    park_id: ParkId,
    session: SessionUser,
    kind: Annotated[str, Form(max_length=16)],
    csrf: Annotated[str, Form()],
) -> Response:
    """Start an evaluation or optimization of the park from its dashboard."""
    user, token = session
    _check_csrf(request, token, csrf)
    if kind not in DEFAULTS:
        raise HTTPException(422, f"kind {kind!r} (accepted: {', '.join(DEFAULTS)})")
    engine = _engine(request)
    with Session(engine) as s:
        park = _broker_park(s, user, park_id, "park dashboard")
    job = store.create_job(engine, kind=kind, park=park_id, requested_by=user.id,
                           view=access.job_view(user), params=DEFAULTS[kind])  # fmt: skip
    audit(engine, user, "start", f"job:{job['id']}", kind=kind, park=park_id)
    runner = getattr(request.app.state, "jobs", None)
    if runner is not None:
        runner.wake()
    if not _fragment(request):
        return RedirectResponse(f"/park/{park_id}/jobs/{job['id']}", status_code=303)
    return _status(request, park, job, _csrf(request, token))


@job_pages.get("/park/{park_id}/jobs")
def latest_job(request: Request, park_id: ParkId, session: SessionUser) -> HTMLResponse:
    """The newest job of the park the user may see (the dashboard loads it)."""
    user, token = session
    engine = _engine(request)
    with Session(engine) as s:
        park = _broker_park(s, user, park_id, "park dashboard")
    job = store.latest_job(engine, park=park_id, view=access.job_view(user))
    return _status(request, park, job, _csrf(request, token))


@job_pages.get("/park/{park_id}/jobs/{job_id}")
def job_page(
    request: Request, park_id: ParkId, job_id: JobId, session: SessionUser
) -> HTMLResponse:
    """A job's progress (its fragment for htmx's polls), then its key figures."""
    user, token = session
    engine = _engine(request)
    with Session(engine) as s:
        park = _broker_park(s, user, park_id, "park dashboard")
    job = store.get_job(engine, job_id)
    if job is None or job["park"] != park_id or not access.reads_job(user, park_id, job["view"]):
        raise HTTPException(404, f"no job {job_id}")
    if _fragment(request):
        return _status(request, park, job, _csrf(request, token))
    return _render(request, "job.html", user=user, csrf=_csrf(request, token), park=park, job=job,
                   poll=POLL_SECONDS)  # fmt: skip
