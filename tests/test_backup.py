"""Backups: every table comes back the same, on SQLite and PostgreSQL; damaged or misplaced
restores are refused whole."""

from __future__ import annotations

import zipfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from symbiolink.cli import app
from symbiolink.demo import demo_files
from symbiolink.io import read_park
from symbiolink.matching import Matcher
from symbiolink.store import import_park, make_engine, migrate
from symbiolink.store.accounts import add_user, audit
from symbiolink.store.backup import table_digests
from symbiolink.store.links import act, suggest
from symbiolink.store.matches import save_matches
from symbiolink.store.models import LinkRow

runner = CliRunner()


def _fill(url: str) -> dict[str, str]:
    engine = make_engine(url)
    migrate(engine)
    park = read_park(demo_files()[1])
    import_park(engine, park)
    matches = Matcher().match(park, top=2)
    save_matches(engine, matches, parks=[p.id for p in park.parks], params={"top": 2})
    member = add_user(
        engine, "m@example.org", "a long password", "company_member", company=matches[0].receiver
    )
    add_user(engine, "f@example.org", "a long password", "facilitator", parks=[park.parks[0].id])
    with Session(engine) as s, s.begin():
        suggest(s, matches[:5], member)
        link = s.query(LinkRow).filter(LinkRow.receiver_id == member.company_id).first()
        assert link is not None
        act(s, link, member, "consent")
    audit(engine, member, "read", "company:x")
    digests = table_digests(engine)
    engine.dispose()
    return digests


def _empty(url: str) -> None:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _new_url(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.db'}"
    _empty(database_url)
    return database_url


def test_a_backup_round_trip_keeps_every_table(database_url: str, tmp_path: Path) -> None:
    before = _fill(database_url)
    assert {
        "parks",
        "companies",
        "streams",
        "users",
        "links",
        "link_events",
        "audit_log",
        "matches",
    } <= set(before)
    dump = tmp_path / "backup.zip"
    r = runner.invoke(app, ["backup", "-o", str(dump), "--database", database_url])
    assert r.exit_code == 0, r.output
    target = _new_url(database_url, tmp_path)
    r = runner.invoke(app, ["restore", str(dump), "--database", target])
    assert r.exit_code == 0, r.output
    engine = make_engine(target)
    after = table_digests(engine)
    engine.dispose()
    assert after == before
    # Restoring again onto the filled database is refused, and changes nothing.
    r = runner.invoke(app, ["restore", str(dump), "--database", target])
    assert r.exit_code == 1 and "not empty" in r.stderr
    engine = make_engine(target)
    assert table_digests(engine) == before
    engine.dispose()


def test_a_damaged_backup_is_refused(database_url: str, tmp_path: Path) -> None:
    _fill(database_url)
    dump = tmp_path / "backup.zip"
    assert (
        runner.invoke(app, ["backup", "-o", str(dump), "--database", database_url]).exit_code == 0
    )
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(dump) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "streams.jsonl":
                data = data.replace(b"t/yr", b"t/mo", 1)
            dst.writestr(item, data)
    target = _new_url(database_url, tmp_path)
    r = runner.invoke(app, ["restore", str(damaged), "--database", target])
    assert r.exit_code == 1 and "does not match its checksum" in r.stderr
    r = runner.invoke(app, ["restore", str(tmp_path / "nothing.zip"), "--database", target])
    assert r.exit_code == 1 and "not a symbiolink backup" in r.stderr


def test_ids_continue_after_a_restore(database_url: str, tmp_path: Path) -> None:
    """Serial ids (users, audit entries) go on after the restored ones, also on PostgreSQL."""
    from symbiolink.store.accounts import audit_entries

    _fill(database_url)
    dump = tmp_path / "backup.zip"
    assert (
        runner.invoke(app, ["backup", "-o", str(dump), "--database", database_url]).exit_code == 0
    )
    target = _new_url(database_url, tmp_path)
    assert runner.invoke(app, ["restore", str(dump), "--database", target]).exit_code == 0
    engine = make_engine(target)
    assert add_user(engine, "after@example.org", "a long password", "observer").id == 3
    audit(engine, None, "read", "after-restore")
    entries = audit_entries(engine)
    engine.dispose()
    assert entries[0]["object"] == "after-restore" and len(entries) == len(
        {e["at"] + e["object"] for e in entries}
    )
