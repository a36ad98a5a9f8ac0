"""Where the registry lives: the database URL, the engine and the schema migrations."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from symbiolink.errors import SymbiolinkError

ENV_URL = "SYMBIOLINK_DATABASE_URL"


def _no_rows(record: logging.LogRecord) -> bool:
    """SQLAlchemy logs the rows a query returns at DEBUG: they hold private figures, password
    hashes and token digests, so no log gets them (statements still are logged at INFO, without
    their parameters: ``hide_parameters``)."""
    return record.levelno >= logging.INFO


logging.getLogger("sqlalchemy.engine.Engine").addFilter(_no_rows)


def default_url() -> str:
    """``SYMBIOLINK_DATABASE_URL`` if set, else an SQLite file in the user's data folder."""
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        return url
    from platformdirs import user_data_path

    folder = user_data_path("symbiolink", appauthor=False, ensure_exists=True)
    return f"sqlite:///{folder / 'symbiolink.db'}"


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs.

    Examples
    --------
    >>> normalise_url("postgresql://postgres@127.0.0.1:5432/test")
    'postgresql+psycopg://postgres@127.0.0.1:5432/test'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: :func:`default_url`), with foreign keys enforced on SQLite."""
    text = normalise_url(url or default_url())
    try:
        parsed = make_url(text)
    except Exception as exc:
        raise SymbiolinkError(
            f"{ENV_URL}: {text!r} is not a database URL (accepted: sqlite:///path or postgresql://user@host/db)"
        ) from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # The parameters of statements are private figures and digests: never in logs or error texts.
    kwargs.setdefault("hide_parameters", True)
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` with the shipped Alembic migrations."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    except Exception as exc:
        if exc.__class__.__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
            raise SymbiolinkError(
                f"cannot open the database {engine.url.render_as_string(hide_password=True)}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
            ) from exc
        raise
