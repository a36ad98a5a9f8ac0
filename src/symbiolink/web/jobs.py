"""The background job runner of the server process: a few threads that take queued evaluations and
optimization runs from the ``jobs`` table, run them on the requester's view of the park and write
their progress, heartbeat and result back (``symbiolink.store.jobs``).

``SYMBIOLINK_JOB_WORKERS`` threads (default 1; 0 runs no job in this process, e.g. when another
process runs them) each poll the table, and are woken at once when a job is queued. A heartbeat
thread refreshes the running jobs' heartbeats every :data:`HEARTBEAT_SECONDS` (a solve writes no
progress for a while). On start, and every minute, running jobs whose heartbeat is older than
:data:`STALE_AFTER` are failed: the process that ran them died. A job that raises is failed with a
sentence for the user (a domain error's message; anything else is logged with its traceback and the
user reads that the job failed unexpectedly).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from symbiolink.errors import SymbiolinkError
from symbiolink.model.park import ParkFile
from symbiolink.store import jobs as store
from symbiolink.store.models import CompanyRow, StreamRow
from symbiolink.web.access import park_view

log = logging.getLogger(__name__)

ENV_WORKERS = "SYMBIOLINK_JOB_WORKERS"
MAX_WORKERS = 16
#: How often a worker's running jobs get a heartbeat (seconds).
HEARTBEAT_SECONDS = 10.0
#: A running job without a heartbeat for this long belongs to a process that died.
STALE_AFTER = timedelta(seconds=60)
#: How often an idle worker looks for queued jobs queued by another process (seconds).
POLL_SECONDS = 2.0
#: Progress is written when it advanced by this much, or the phase changed.
PROGRESS_STEP = 0.01

#: ``report(phase, fraction, message)``: how far a job is.
Report = Callable[[str, float, str], None]


def workers_from_env(environ: Mapping[str, str] | None = None) -> int:
    """The number of job threads: ``SYMBIOLINK_JOB_WORKERS`` (default 1).

    Examples
    --------
    >>> workers_from_env({}), workers_from_env({"SYMBIOLINK_JOB_WORKERS": "0"})
    (1, 0)
    """
    text = (os.environ if environ is None else environ).get(ENV_WORKERS, "").strip()
    if not text:
        return 1
    if not text.isdigit() or int(text) > MAX_WORKERS:
        raise SymbiolinkError(
            f"{ENV_WORKERS}={text!r} is not a whole number of job threads from 0 to {MAX_WORKERS}"
        )
    return int(text)


class Cancelled(Exception):
    """The job was failed while it ran (its server stopping, or taken for stale): stop working."""


class Progress:
    """Writes a running job's progress to the table: when the phase changes or the fraction moved
    by :data:`PROGRESS_STEP`, so a job of many links writes at most about a hundred times a phase."""

    def __init__(self, engine: Engine, job_id: int, worker: str) -> None:
        self.engine, self.job_id, self.worker = engine, job_id, worker
        self.phase: str | None = None
        self.written = -1.0

    def __call__(self, phase: str, fraction: float, message: str) -> None:
        if phase == self.phase and fraction < self.written + PROGRESS_STEP:
            return
        self.phase, self.written = phase, fraction
        if not store.set_progress(
            self.engine, self.job_id, worker=self.worker, progress=fraction, message=message
        ):
            raise Cancelled


def _between(report: Report, phase: str, start: float, end: float, words: str) -> Any:
    """A ``progress(done, total)`` callback of the library mapped onto ``start..end``."""

    def advance(done: int, total: int) -> None:
        share = done / total if total else 1.0
        report(phase, start + (end - start) * share, words.format(done=done, total=total))

    return advance


# -- the work -------------------------------------------------------------------------------------------


def run_evaluation(park: ParkFile, params: dict[str, Any], report: Report) -> dict[str, Any]:
    """Match the park and evaluate every candidate link, as ``symbiolink evaluate --json`` does
    (with ``viable_without_policy`` per link when a policy is given)."""
    from symbiolink.accounting.evaluation import evaluate_park
    from symbiolink.accounting.policy import policy_from_mapping
    from symbiolink.knowledge import default_knowledge
    from symbiolink.matching import Matcher
    from symbiolink.store.links import _MATCHER_LOCK, shared_matcher

    policy = policy_from_mapping(params.get("policy") or {}, "policy")
    top, samples, seed = int(params["top"]), int(params["samples"]), int(params["seed"])
    exclude = list(params.get("kb_exclude") or [])
    report("matching", 0.0, "matching supplies to receivers")
    matching = _between(report, "matching", 0.0, 0.2, "matched {done} of {total} supplies")
    if exclude:
        matches = Matcher(knowledge=default_knowledge().exclude(exclude)).match(
            park, top=top, progress=matching
        )
    else:
        with _MATCHER_LOCK:
            matches = shared_matcher().match(park, top=top, progress=matching)
    with_policy = bool(params.get("policy"))
    end = 0.6 if with_policy else 0.95
    report("evaluating", 0.2, f"evaluating {len(matches)} links")
    result = evaluate_park(
        park, matches, policy, samples=samples, seed=seed,
        progress=_between(report, "evaluating", 0.2, end, "evaluated link {done} of {total}"),
    )  # fmt: skip
    baseline = result
    if with_policy:
        report("baseline", end, "evaluating the links without the policy")
        baseline = evaluate_park(
            park, matches,
            progress=_between(report, "baseline", end, 0.95, "evaluated link {done} of {total} without the policy"),
        )  # fmt: skip
    report("writing", 0.95, "writing the result")
    before = {(i.supply, i.receiver) for i in baseline.viable}
    doc = result.to_dict()
    for link in doc["links"]:
        link["viable_without_policy"] = (link["supply"], link["receiver"]) in before
    doc["totals"]["links_viable_only_with_policy"] = sum(
        1 for i in result.viable if (i.supply, i.receiver) not in before
    )
    return doc


def run_optimization(park: ParkFile, params: dict[str, Any], report: Report) -> dict[str, Any]:
    """The park's best exchange network, as ``symbiolink optimize --json`` gives it, in the
    optimizer's phases: build the network and the model, solve, write back."""
    from symbiolink.accounting.policy import policy_from_mapping
    from symbiolink.optimization import build_model, build_network, pareto, solve

    policy = policy_from_mapping(params.get("policy") or {}, "policy")
    gap, points = float(params["gap"]), int(params["pareto"])
    report("network", 0.0, "building the network of possible exchanges")
    net = build_network(park, policy=policy)
    report("model", 0.2, f"building the model ({len(net.arcs)} possible exchanges)")
    built = build_model(net, policy=policy, no_outside=frozenset(params.get("no_outside") or []))
    report("solving", 0.4, f"solving for {params['objective']}")
    result = solve(built, params["objective"], gap=gap)
    if points:
        report("pareto", 0.7, f"tracing the cost-CO2e front ({points} points)")
        result.pareto = pareto(built, points, gap=gap)
    report("writing", 0.95, "writing the result")
    return result.to_dict()


WORK: dict[str, Callable[[ParkFile, dict[str, Any], Report], dict[str, Any]]] = {
    "evaluation": run_evaluation,
    "optimization": run_optimization,
}


def stored_view(engine: Engine, park_id: str, view: str) -> ParkFile:
    """The stored park as ``view`` sees it (:func:`symbiolink.web.access.park_view`), with the
    privacy settings as they are now."""
    from symbiolink.store.registry import export_park

    park = export_park(engine, [park_id])
    with Session(engine) as session:
        private = {
            sid: fields
            for sid, fields in session.execute(
                select(StreamRow.id, StreamRow.private_fields)
                .join(CompanyRow, StreamRow.company_id == CompanyRow.id)
                .where(CompanyRow.park_id == park_id)
            )
            if fields
        }
    return park_view(park, private, view)


def run_job(engine: Engine, job: dict[str, Any], worker: str) -> None:
    """Run a claimed job to its end: succeeded with its result, or failed with a message."""
    report = Progress(engine, job["id"], worker)
    try:
        park = stored_view(engine, job["park"], job["view"])
        result = WORK[job["kind"]](park, job["params"], report)
        try:
            json.dumps(result, allow_nan=False)
        except ValueError:
            raise SymbiolinkError(
                "the result has numbers too large to hold (infinite): are the policy's values right?"
            ) from None
    except Cancelled:
        log.info("job %s was failed while it ran; its work stopped", job["id"])
        return
    except SymbiolinkError as exc:
        store.fail_job(engine, job["id"], worker=worker, error=str(exc))
        return
    except Exception:
        log.exception("job %s (%s of park %s) failed", job["id"], job["kind"], job["park"])
        store.fail_job(engine, job["id"], worker=worker,
                       error="the job failed unexpectedly; the server's log has the details")  # fmt: skip
        return
    store.finish_job(engine, job["id"], worker=worker, result=result)


def run_next(engine: Engine, worker: str) -> bool:
    """Claim the oldest queued job and run it; False if none was queued."""
    job = store.claim_job(engine, worker=worker)
    if job is None:
        return False
    run_job(engine, job, worker)
    return True


class JobRunner:
    """``workers`` threads running queued jobs, and a heartbeat thread (see the module's text)."""

    def __init__(self, engine: Engine, workers: int) -> None:
        self.engine, self.workers = engine, workers
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:128]
        self._wake = threading.Condition()
        self._queued = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Fail the stale jobs of dead processes, then start the threads (none for 0 workers). An
        app served again after :meth:`stop` starts afresh."""
        failed = store.fail_stale(self.engine, older_than=STALE_AFTER)
        if failed:
            log.warning("jobs %s were left running by a stopped process: failed", failed)
        self._stop.clear()
        self._threads = []
        self._queued = 0
        if not self.workers:
            return
        for n in range(self.workers):
            t = threading.Thread(target=self._work, name=f"symbiolink-job-{n}", daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._beat, name="symbiolink-job-heartbeat", daemon=True)
        t.start()
        self._threads.append(t)

    def wake(self) -> None:
        """A job was queued: an idle worker takes it now rather than at its next poll."""
        with self._wake:
            self._queued += 1
            self._wake.notify()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads; a job still running after ``timeout`` seconds is failed (its thread
        cannot be interrupted mid-solve, and what it writes later is ignored)."""
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for t in self._threads:
            t.join(timeout)
        store.fail_worker(self.engine, worker=self.worker,
                          error="the server stopped while this job ran; start the job again")  # fmt: skip

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                ran = run_next(self.engine, self.worker)
            except Exception:  # the database away for a moment: try again at the next poll
                log.exception("the job runner could not take a job")
                ran = False
            if ran:
                continue
            with self._wake:
                if not self._queued and not self._stop.is_set():
                    self._wake.wait(POLL_SECONDS)
                self._queued = max(0, self._queued - 1)

    def _beat(self) -> None:
        beats = 0
        while not self._stop.wait(HEARTBEAT_SECONDS):
            beats += 1
            try:
                store.beat(self.engine, worker=self.worker)
                if beats % 6 == 0:  # about every minute: jobs of processes that died since
                    store.fail_stale(self.engine, older_than=STALE_AFTER)
            except Exception:
                log.exception("the job heartbeat could not be written")
