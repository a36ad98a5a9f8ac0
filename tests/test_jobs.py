"""Background jobs: evaluations and optimization runs queued by the API, run by the runner, their
progress, results equal to the library's on the requester's view of the park, failures, stale jobs
of a dead process, and who may read what.

The jobs run synchronously here (``run_next``) on an app with no job threads, except in one test of
the threads themselves. Runs on SQLite, and on PostgreSQL when SYMBIOLINK_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from symbiolink.accounting.evaluation import evaluate_park
from symbiolink.accounting.policy import Policy
from symbiolink.errors import SymbiolinkError
from symbiolink.optimization import optimize_park
from symbiolink.store import import_park, make_engine
from symbiolink.store import jobs as store
from symbiolink.store.accounts import add_user, issue_token
from symbiolink.store.links import shared_matcher
from symbiolink.store.models import JobRow, StreamRow
from symbiolink.store.registry import export_park
from symbiolink.web import jobs as runner
from symbiolink.web.access import park_view
from symbiolink.web.app import create_app
from web_park import PASSWORD, platform_park

PRIVATE = {"a1-slag": ["quantity", "price"], "a1-secret": ["identity"]}


@dataclass
class Api:
    client: TestClient
    engine: Engine
    h: dict[str, dict[str, str]]


def _seed(engine: Engine) -> dict[str, dict[str, str]]:
    import_park(engine, platform_park())
    users = {
        "admin": add_user(engine, "admin@example.org", PASSWORD, "admin"),
        "manager": add_user(engine, "manager@example.org", PASSWORD, "park_manager", park="A"),
        "member": add_user(engine, "member@example.org", PASSWORD, "company_member", company="a1"),
        "neighbour": add_user(engine, "neighbour@example.org", PASSWORD, "company_member", company="a2"),
        "facilitator": add_user(engine, "facilitator@example.org", PASSWORD, "facilitator", parks=["A"]),
        "observer": add_user(engine, "observer@example.org", PASSWORD, "observer"),
    }  # fmt: skip
    with Session(engine) as session, session.begin():
        for sid, private in PRIVATE.items():
            row = session.get(StreamRow, sid)
            assert row is not None
            row.private_fields = private
    return {r: {"Authorization": f"Bearer {issue_token(engine, u)}"} for r, u in users.items()}


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    app = create_app(database_url, job_workers=0)
    engine = make_engine(database_url)
    headers = _seed(engine)
    with TestClient(app) as client:
        yield Api(client, engine, headers)
    engine.dispose()


def _start(api: Api, role: str, kind: str, body: dict[str, Any], park: str = "A") -> dict[str, Any]:
    r = api.client.post(f"/api/v1/parks/{park}/{kind}", json=body, headers=api.h[role])
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    assert r.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert job["status"] == "queued" and job["progress"] == 0.0 and "result" not in job
    return job


def _read(api: Api, role: str, job_id: int) -> dict[str, Any]:
    r = api.client.get(f"/api/v1/jobs/{job_id}", headers=api.h[role])
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _run_all(engine: Engine) -> None:
    while runner.run_next(engine, "test-worker"):
        pass


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _evaluation_of(park: Any, top: int = 5, policy: Policy | None = None) -> dict[str, Any]:
    """What the library gives: the park matched and evaluated (as ``evaluate --json``)."""
    matches = shared_matcher().match(park, top=top)
    doc = evaluate_park(park, matches, policy).to_dict()
    before = {(i.supply, i.receiver) for i in evaluate_park(park, matches).viable}
    for link in doc["links"]:
        link["viable_without_policy"] = (link["supply"], link["receiver"]) in before
    doc["totals"]["links_viable_only_with_policy"] = sum(
        1 for link in doc["links"] if link["viable"] and not link["viable_without_policy"]
    )
    return _json(doc)


def _figures(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[Any, ...]]:
    keys = ("quantity", "net_benefit_usd_yr", "co2e_avoided_t_yr", "waste_diverted_t_yr", "viable")
    return {(x["supply"], x["receiver"]): tuple(x.get(k) for k in keys) for x in doc["links"]}


def _view(engine: Engine, view: str) -> Any:
    return park_view(export_park(engine, ["A"]), PRIVATE, view)


# -- a job's life ------------------------------------------------------------------------------------


def test_an_evaluation_runs_with_rising_progress_to_the_library_s_result(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _start(api, "admin", "evaluations", {"policy": {"landfill_tax_usd_t": 20}, "top": 3})
    assert job["params"]["policy"] == {"landfill_tax_usd_t": 20.0} and job["view"] == "full"
    seen: list[tuple[float, str, str]] = []
    write = store.set_progress

    def watched(engine: Engine, job_id: int, **kw: Any) -> bool:
        ok = write(engine, job_id, **kw)
        row = _read(api, "admin", job_id)  # what a client polling the API reads meanwhile
        seen.append((row["progress"], row["status"], row["message"]))
        return ok

    monkeypatch.setattr(store, "set_progress", watched)
    assert runner.run_next(api.engine, "test-worker")
    assert not runner.run_next(api.engine, "test-worker")  # nothing else queued
    fractions = [p for p, _, _ in seen]
    assert len(set(fractions)) >= 4 and fractions == sorted(fractions) and fractions[-1] < 1
    assert {s for _, s, _ in seen} == {"running"}
    assert any("evaluated link" in m for _, _, m in seen)
    done = _read(api, "admin", job["id"])
    assert done["status"] == "succeeded" and done["progress"] == 1.0 and "error" not in done
    assert done["started_at"] and done["finished_at"] >= done["started_at"]
    expected = _evaluation_of(export_park(api.engine, ["A"]), 3, Policy(landfill_tax_usd_t=20))
    assert done["result"] == expected
    assert any(x["net_benefit_usd_yr"] for x in expected["links"])  # numbers, not only gaps


def test_an_optimization_gives_the_library_s_network(api: Api) -> None:
    job = _start(api, "manager", "optimizations", {"objective": "co2", "gap": 0.0})
    _run_all(api.engine)
    done = _read(api, "manager", job["id"])
    assert done["status"] == "succeeded", done
    expected = _json(optimize_park(_view(api.engine, "brokers"), "co2", gap=0.0).to_dict())
    got = done["result"]
    assert got["status"] == expected["status"] == "optimal"
    assert got["objective"]["value"] == pytest.approx(expected["objective"]["value"])
    assert got["flows"] == expected["flows"] and got["totals"] == pytest.approx(expected["totals"])


def test_a_failing_job_is_failed_with_its_message(api: Api) -> None:
    job = _start(api, "admin", "optimizations", {"objective": "freshwater"})
    _run_all(api.engine)
    done = _read(api, "admin", job["id"])
    assert done["status"] == "failed" and "result" not in done
    assert done["error"].startswith("no water demand with a quantity")


def test_an_unexpected_error_is_failed_without_its_traceback(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> dict[str, Any]:
        raise RuntimeError("internal detail /srv/secret.py")

    monkeypatch.setitem(runner.WORK, "evaluation", broken)
    job = _start(api, "admin", "evaluations", {})
    _run_all(api.engine)
    done = _read(api, "admin", job["id"])
    assert done["status"] == "failed"
    assert done["error"] == "the job failed unexpectedly; the server's log has the details"
    assert "secret" not in json.dumps(done)


def test_a_job_failed_while_it_ran_keeps_its_failure(api: Api) -> None:
    job = _start(api, "admin", "evaluations", {})
    claimed = store.claim_job(api.engine, worker="w1")
    assert claimed is not None and claimed["id"] == job["id"] and claimed["status"] == "running"
    assert store.claim_job(api.engine, worker="w2") is None  # claimed once only
    assert store.fail_worker(api.engine, worker="w1", error="the server stopped") == [job["id"]]
    assert not store.set_progress(api.engine, job["id"], worker="w1", progress=0.5, message="x")
    assert not store.finish_job(api.engine, job["id"], worker="w1", result={"late": True})
    done = _read(api, "admin", job["id"])
    assert done["status"] == "failed" and done["error"] == "the server stopped"


def test_on_start_jobs_left_running_by_a_dead_process_are_failed(
    api: Api, database_url: str
) -> None:
    dead = _start(api, "admin", "evaluations", {})
    alive = _start(api, "admin", "evaluations", {})
    queued = _start(api, "admin", "evaluations", {})
    for job, worker in ((dead, "dead-process"), (alive, "live-process")):
        with Session(api.engine) as session, session.begin():
            row = session.get(JobRow, job["id"])
            assert row is not None
            row.status, row.worker, row.started_at = "running", worker, datetime.now(UTC)
            row.heartbeat_at = datetime.now(UTC) - (
                timedelta(minutes=5) if job is dead else timedelta(0)
            )
    # A server starting (the one that queued the jobs is gone) fails the dead process's job and
    # runs the job that stayed queued in the table.
    with TestClient(create_app(database_url, job_workers=1)) as client:
        for _ in range(600):  # not a timing: up to a minute for a loaded machine
            if client.get(f"/api/v1/jobs/{queued['id']}", headers=api.h["admin"]).json()[
                "status"
            ] in ("succeeded", "failed"):
                break
            time.sleep(0.1)
    failed = _read(api, "admin", dead["id"])
    assert failed["status"] == "failed"
    assert failed["error"].startswith("the server process running this job stopped")
    assert _read(api, "admin", alive["id"])["status"] == "running"  # its process is alive
    assert _read(api, "admin", queued["id"])["status"] == "succeeded"


def test_the_runner_s_threads_take_a_queued_job(database_url: str) -> None:
    app = create_app(database_url, job_workers=1)
    engine = make_engine(database_url)
    h = _seed(engine)

    def served(kind: str) -> dict[str, Any]:
        with TestClient(app) as client:
            r = client.post(f"/api/v1/parks/A/{kind}", json={}, headers=h["facilitator"])
            assert r.status_code == 202, r.text
            for _ in range(600):  # not a timing: up to a minute for a loaded machine
                job: dict[str, Any] = client.get(
                    r.headers["location"], headers=h["facilitator"]
                ).json()
                if job["status"] in ("succeeded", "failed"):
                    break
                time.sleep(0.1)
            return job

    first = served("optimizations")
    assert first["status"] == "succeeded", first
    assert first["result"]["objective"]["name"] == "cost"
    again = served("evaluations")  # the same app served again: its threads start afresh
    assert again["status"] == "succeeded" and again["result"]["totals"]["links"] > 0, again
    engine.dispose()


def test_the_number_of_job_threads_is_checked() -> None:
    for bad in ("-1", "two", "17", "1.5"):
        with pytest.raises(SymbiolinkError, match="SYMBIOLINK_JOB_WORKERS"):
            runner.workers_from_env({"SYMBIOLINK_JOB_WORKERS": bad})


# -- who may, and what they see ------------------------------------------------------------------------


def test_bad_requests_name_what_is_wrong(api: Api) -> None:
    c, h = api.client, api.h["admin"]
    cases = [
        ("evaluations", {"policy": {"factors": {"no_such_factor": 1.0}}}, "no_such_factor"),
        ("evaluations", {"policy": {"landfill_tax_usd_t": -5}}, "landfill_tax_usd_t"),
        ("evaluations", {"top": 0}, "top"),
        ("evaluations", {"policy": {"landfill_taxx": 1}}, "landfill_taxx"),
        ("optimizations", {"objective": "profit"}, "objective"),
        ("optimizations", {"no_outside": ["air"]}, "no_outside"),
    ]
    for kind, body, named in cases:
        r = c.post(f"/api/v1/parks/A/{kind}", json=body, headers=h)
        assert r.status_code == 422 and named in r.text, (body, r.text)
    assert c.post("/api/v1/parks/Z/evaluations", json={}, headers=h).status_code == 404
    assert c.get("/api/v1/jobs/999999", headers=h).status_code == 404
    with Session(api.engine) as session:
        assert session.query(JobRow).count() == 0  # nothing queued by a bad request


def test_a_job_is_read_by_those_who_see_the_park_as_it_computed_on_it(api: Api) -> None:
    by = {
        role: _start(api, role, "evaluations", {})["id"] for role in ("admin", "manager", "member")
    }
    other_park = _start(api, "admin", "evaluations", {}, park="B")["id"]
    readers = {
        "admin": {"admin"},
        "manager": {"admin", "manager", "facilitator"},  # the brokers' view is the same
        "member": {"admin", "member"},
    }
    for starter, job_id in by.items():
        for role in api.h:
            status = api.client.get(f"/api/v1/jobs/{job_id}", headers=api.h[role]).status_code
            assert status == (200 if role in readers[starter] else 404), (starter, role)
    for role in ("manager", "member", "facilitator", "observer"):
        r = api.client.get(f"/api/v1/jobs/{other_park}", headers=api.h[role])
        assert r.status_code == 404, role
    assert (
        api.client.post(
            "/api/v1/parks/A/evaluations", json={}, headers=api.h["observer"]
        ).status_code
        == 403
    )
    assert (
        api.client.post(
            "/api/v1/parks/B/optimizations", json={}, headers=api.h["manager"]
        ).status_code
        == 403
    )


def test_private_figures_are_absent_from_the_results_of_those_who_may_not_see_them(
    api: Api,
) -> None:
    ids = {
        role: _start(api, role, "evaluations", {})["id"]
        for role in ("admin", "manager", "member", "neighbour")
    }
    opt = {role: _start(api, role, "optimizations", {})["id"] for role in ("admin", "manager")}
    _run_all(api.engine)
    results = {role: _read(api, role, i)["result"] for role, i in ids.items()}
    full = _figures(results["admin"])
    # a1's slag states 600 t/yr and a price privately; its mill scale hides whose it is.
    assert any(k[0] == "a1-slag" and v[0] == 600 for k, v in full.items())
    assert any(k[0] == "a1-secret" for k in full)
    for role in ("manager", "neighbour"):
        text = json.dumps(results[role])
        assert "a1-secret" not in text, role
        slag = {k: v for k, v in _figures(results[role]).items() if k[0] == "a1-slag"}
        assert slag and all(v[0] is None and not v[3] for v in slag.values()), role  # no quantity
        view = "brokers" if role == "manager" else "company:a2"
        assert results[role] == _evaluation_of(_view(api.engine, view)), role
    assert results["manager"] != results["admin"]
    # The company sees its own figures in full.
    own = _figures(results["member"])
    assert any(k[0] == "a1-slag" and v[0] == 600 for k, v in own.items())
    assert any(k[0] == "a1-secret" for k in own)
    assert results["member"] == _evaluation_of(_view(api.engine, "company:a1"))
    flows = {
        role: {(f["from"], f["to"]): f["quantity"] for f in _read(api, role, i)["result"]["flows"]}
        for role, i in opt.items()
    }
    assert (
        flows["admin"][("a1-slag", "disposal")] == 600
        and ("a1-secret", "disposal") in flows["admin"]
    )
    assert not any("a1-secret" in k or "a1-slag" in k for k in flows["manager"])


# -- the dashboard's buttons and progress bar -----------------------------------------------------------


def _page_client(app: Any, email: str) -> TestClient:
    client = TestClient(app)
    page = client.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf": csrf},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    return client


def test_the_dashboard_starts_a_job_and_polls_its_progress(database_url: str) -> None:
    app = create_app(database_url, secure_cookies=False, job_workers=0)
    engine = make_engine(database_url)
    _seed(engine)
    htmx = {"HX-Request": "true"}
    with _page_client(app, "manager@example.org") as c:
        page = c.get("/park/A")
        assert page.status_code == 200 and "Evaluate the candidate links" in page.text
        assert 'hx-get="/park/A/jobs"' in page.text
        assert "has been run yet" in c.get("/park/A/jobs", headers=htmx).text
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = c.post("/park/A/jobs", data={"kind": "evaluation", "csrf": csrf}, headers=htmx)
        assert r.status_code == 200 and "waiting to start" in r.text
        job_id = int(r.text.split('hx-get="/park/A/jobs/')[1].split('"')[0])
        assert 'hx-trigger="every 2s"' in r.text and 'value="0.0"' in r.text
        assert (
            c.post("/park/A/jobs", data={"kind": "evaluation", "csrf": "forged"}).status_code == 403
        )
        assert c.post("/park/A/jobs", data={"kind": "report", "csrf": csrf}).status_code == 422
        _run_all(engine)
        done = c.get(f"/park/A/jobs/{job_id}", headers=htmx)
        assert "done" in done.text and "hx-trigger" not in done.text  # polling stops
        assert 'value="1.0"' in done.text and "Viable links" in done.text
        assert "keep private from you" in done.text  # computed on the brokers' view
        vi = c.get(f"/park/A/jobs/{job_id}?lang=vi")
        assert "Liên kết khả thi" in vi.text and "hoàn tất" in vi.text
        r = c.post(
            "/park/A/jobs", data={"kind": "optimization", "csrf": csrf}, follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/park/A/jobs/")
    with _page_client(app, "admin@example.org") as c:  # the admin's own view: not the brokers' job
        assert "has been run yet" in c.get("/park/A/jobs", headers=htmx).text
        assert c.get(f"/park/A/jobs/{job_id}").status_code == 200  # admins read every job
        assert c.get(f"/park/B/jobs/{job_id}").status_code == 404  # not a job of park B
    with _page_client(app, "member@example.org") as c:
        assert c.get(f"/park/A/jobs/{job_id}").status_code == 403  # the dashboard is for brokers
    engine.dispose()
