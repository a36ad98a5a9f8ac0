"""The database behind symbiolink: SQLite by default, PostgreSQL in production.

The domain core never imports this package; it sits on top of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from symbiolink.store.database import default_url, make_engine, migrate
from symbiolink.store.registry import ImportSummary, export_park, import_park, stored_parks

__all__ = [
    "ImportSummary", "default_url", "export_park", "import_park", "make_engine", "migrate", "open_store",
    "stored_parks", "using_store",
]  # fmt: skip


def open_store(url: str | None = None) -> Engine:
    """An engine on ``url`` (default: ``SYMBIOLINK_DATABASE_URL`` or the user's SQLite file), with
    the schema migrated to the latest revision."""
    engine = make_engine(url)
    migrate(engine)
    return engine


@contextmanager
def using_store(url: str | None = None) -> Iterator[Engine]:
    """:func:`open_store` for one piece of work; the connections are closed afterwards."""
    engine = open_store(url)
    try:
        yield engine
    finally:
        engine.dispose()
