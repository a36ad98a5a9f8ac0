"""Shared fixtures. The database is SQLite by default; set SYMBIOLINK_TEST_DATABASE_URL to run the
same tests on PostgreSQL (``.ci/run`` does both)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from symbiolink.store import make_engine, migrate

DATA = Path(__file__).parent / "data"
TEST_DB_ENV = "SYMBIOLINK_TEST_DATABASE_URL"


def _reset(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: PostgreSQL if SYMBIOLINK_TEST_DATABASE_URL is set, else SQLite."""
    url = os.environ.get(TEST_DB_ENV)
    if url:
        engine = make_engine(url)
        _reset(engine)
        engine.dispose()
        yield url
    else:
        yield f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def _isolated_database(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    """The CLI and demo never touch the user's real database during tests."""
    monkeypatch.setenv("SYMBIOLINK_DATABASE_URL", database_url)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def small_park_path() -> Path:
    return DATA / "good" / "small-park.json"
