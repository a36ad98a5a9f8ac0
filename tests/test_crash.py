"""A process killed with SIGKILL in the middle of a large import, or of workflow changes, leaves the
database consistent: the import entirely absent or entirely present, no half-done step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from symbiolink.model.validate import validate_document
from symbiolink.store import make_engine, migrate
from symbiolink.store.models import AuditRow, ImportRow, LinkEventRow, LinkRow, StreamRow
from symbiolink.synthetic import generate_registry


def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with Session(engine) as s:
        out = (
            s.scalar(select(func.count()).select_from(StreamRow)) or 0,
            s.scalar(select(func.count()).select_from(ImportRow)) or 0,
        )
    engine.dispose()
    return out


def _writing(url: str, wal_before: int) -> bool:
    """Is an import writing right now? SQLite (WAL mode): the write-ahead log grows. PostgreSQL: a
    backend of this database is inserting or holds an open transaction."""
    if url.startswith("sqlite"):
        wal = Path(url.removeprefix("sqlite:///") + "-wal")
        return wal.exists() and wal.stat().st_size > wal_before + 256 * 1024
    import psycopg

    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND (query ILIKE 'INSERT%%' OR state = 'idle in transaction')",
            (dbname,),
        ).fetchone()
    return bool(rows and rows[0])


def test_an_import_killed_midway_is_all_or_nothing(database_url: str, tmp_path: Path) -> None:
    doc = generate_registry(60, 100, seed=11)
    park, _ = validate_document(doc, file="r")
    assert park is not None
    total = len(park.streams)
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(doc))
    engine = make_engine(database_url)
    migrate(engine)
    engine.dispose()
    wal = Path(database_url.removeprefix("sqlite:///") + "-wal")
    wal_before = wal.stat().st_size if database_url.startswith("sqlite") and wal.exists() else 0
    cmd = [sys.executable, "-m", "symbiolink.cli", "import", str(path), "--database", database_url]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not _writing(database_url, wal_before):
        assert proc.poll() is None, "the import ended before it was seen writing"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # in the middle of writing
    proc.wait()
    assert _counts(database_url) == (0, 0)  # nothing of it is there
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    assert _counts(database_url) == (total, 1)  # run again, all of it is


_WORKER = r"""
import sys
from sqlalchemy.orm import Session
from symbiolink.matching.engine import Match
from symbiolink.store import make_engine
from symbiolink.store.accounts import add_user
from symbiolink.store.links import act, suggest
from symbiolink.store.models import LinkRow

engine = make_engine(sys.argv[1])
user = add_user(engine, "w@example.org", "a long password", "company_member", company="c1")
with Session(engine) as s, s.begin():
    suggest(s, [Match(f"s{i}", "c1", None, 1, 0.5, "", [], [], None) for i in range(400)])
print("ready", flush=True)
while True:
    with Session(engine) as s, s.begin():
        for link in s.query(LinkRow).filter(LinkRow.status != "ended").limit(50):
            act(s, link, user, "consent" if link.status == "suggested" else "end")
"""


def test_workflow_changes_killed_midway_leave_no_half_step(
    database_url: str, tmp_path: Path
) -> None:
    doc = {"format": "symbiolink-park/1", "parks": [{"id": "p", "name": "P"}],
           "companies": [{"id": "c0", "name": "Giver", "park": "p"}, {"id": "c1", "name": "Taker", "park": "p"}],
           "streams": [{"id": f"s{i}", "company": "c0", "direction": "supply", "kind": "material", "name": "Slag"} for i in range(400)]}  # fmt: skip
    park, _ = validate_document(doc, file="p")
    assert park is not None
    from symbiolink.store import import_park

    engine = make_engine(database_url)
    migrate(engine)
    import_park(engine, park)
    engine.dispose()
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    proc = subprocess.Popen(
        [sys.executable, str(script), database_url], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    engine = make_engine(database_url)
    with Session(engine) as s:
        links = s.scalars(select(LinkRow)).all()
        moved = 0
        for link in links:
            events = s.scalars(
                select(LinkEventRow)
                .where(LinkEventRow.link_id == link.id)
                .order_by(LinkEventRow.id)
            ).all()
            assert events[-1].to_status == link.status, (
                link.id
            )  # the status and its event commit together
            moved += len(events) - 1
        audited = s.scalar(
            select(func.count())
            .select_from(AuditRow)
            .where(AuditRow.action.in_(["consent", "end"]))
        )
        assert audited == moved  # every step has its audit entry, and no entry lacks its step
        assert moved > 0
    engine.dispose()
