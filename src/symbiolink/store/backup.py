"""Backups of the whole database, the same for SQLite and PostgreSQL.

``backup`` writes one ZIP file: ``manifest.json`` (format, schema revision, table order, row counts,
a SHA-256 of each table's data) and one JSON-lines file per table, rows in primary-key order, read in
one repeatable transaction. ``restore`` refuses a file whose hashes do not match, needs an empty
database at the same schema revision, and inserts every table in one transaction, parents before
children: either the whole backup is in, or nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, func, insert, select, text
from sqlalchemy.engine import Connection

from symbiolink.errors import SymbiolinkError
from symbiolink.store.database import migrate

FORMAT = "symbiolink-backup/1"


def _tables(engine: Engine) -> MetaData:
    meta = MetaData()
    meta.reflect(bind=engine)
    return meta


def _revision(conn: Connection) -> str | None:
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no alembic_version table: not a symbiolink database
        return None


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return {"$dt": value.isoformat()}
    return value


def _back(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$dt"}:
        return dt.datetime.fromisoformat(value["$dt"])
    return value


def backup(engine: Engine, path: str | Path) -> dict[str, int]:
    """Write every table of the database to ``path``; returns the rows per table."""
    meta = _tables(engine)
    order = [t.name for t in meta.sorted_tables if t.name != "alembic_version"]
    counts: dict[str, int] = {}
    hashes: dict[str, str] = {}
    out = Path(path)
    tmp = out.with_suffix(out.suffix + ".part")
    with (
        engine.connect() as conn,
        conn.begin(),
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf,
    ):
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        revision = _revision(conn)
        for name in order:
            table = meta.tables[name]
            pk = list(table.primary_key.columns) or list(table.columns)
            digest = hashlib.sha256()
            lines = []
            for row in conn.execute(select(table).order_by(*pk)).mappings():
                line = json.dumps(
                    {k: _plain(v) for k, v in row.items()}, ensure_ascii=False, sort_keys=True
                )
                digest.update(line.encode())
                lines.append(line)
            zf.writestr(f"{name}.jsonl", "\n".join(lines) + ("\n" if lines else ""))
            counts[name] = len(lines)
            hashes[name] = digest.hexdigest()
        zf.writestr("manifest.json", json.dumps(
            {"format": FORMAT, "revision": revision, "tables": order, "rows": counts, "sha256": hashes}, indent=1))  # fmt: skip
    tmp.replace(out)  # a half-written backup never takes the final name
    return counts


def restore(engine: Engine, path: str | Path) -> dict[str, int]:
    """Load a backup into an empty database (migrated here to the latest schema)."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise SymbiolinkError(f"{path}: not a symbiolink backup ({exc})") from None
    with zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except (KeyError, ValueError):
            raise SymbiolinkError(f"{path}: no readable manifest.json") from None
        if manifest.get("format") != FORMAT:
            raise SymbiolinkError(f"{path}: format {manifest.get('format')!r} (accepted: {FORMAT})")
        data: dict[str, list[dict[str, Any]]] = {}
        for name in manifest["tables"]:
            raw = zf.read(f"{name}.jsonl").decode("utf-8")
            lines = [line for line in raw.split("\n") if line]
            digest = hashlib.sha256("".join(lines).encode()).hexdigest()
            if digest != manifest["sha256"][name]:
                raise SymbiolinkError(
                    f"{path}: table {name} does not match its checksum: the file is damaged"
                )
            data[name] = [{k: _back(v) for k, v in json.loads(line).items()} for line in lines]
    migrate(engine)
    meta = _tables(engine)
    with engine.begin() as conn:
        if _revision(conn) != manifest["revision"]:
            raise SymbiolinkError(
                f"the backup is of schema {manifest['revision']}, the database of {_revision(conn)}: "
                "restore with the symbiolink version that made it"
            )
        for name in manifest["tables"]:
            if conn.execute(select(func.count()).select_from(meta.tables[name])).scalar():
                raise SymbiolinkError(
                    f"the database is not empty (table {name} has rows): restore into an empty one"
                )
        for name in manifest["tables"]:
            if data[name]:
                conn.execute(insert(meta.tables[name]), data[name])
        if engine.dialect.name == "postgresql":  # serial columns continue after the restored ids
            for table in meta.sorted_tables:
                for col in table.primary_key.columns:
                    if col.autoincrement is True or (
                        col.autoincrement == "auto" and col.type.python_type is int
                    ):
                        seq = conn.execute(
                            text("SELECT pg_get_serial_sequence(:t, :c)"),
                            {"t": table.name, "c": col.name},
                        ).scalar()
                        if seq:
                            conn.execute(
                                text(
                                    f"SELECT setval('{seq}', COALESCE((SELECT MAX({col.name}) FROM {table.name}), 0) + 1, false)"
                                )
                            )
    return {name: len(rows) for name, rows in data.items()}


def table_digests(engine: Engine) -> dict[str, str]:
    """A SHA-256 of every table's rows, as the backup computes them (to compare two databases)."""
    meta = _tables(engine)
    out: dict[str, str] = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            pk = list(table.primary_key.columns) or list(table.columns)
            digest = hashlib.sha256()
            for row in conn.execute(select(table).order_by(*pk)).mappings():
                digest.update(
                    json.dumps(
                        {k: _plain(v) for k, v in row.items()}, ensure_ascii=False, sort_keys=True
                    ).encode()
                )
            out[table.name] = digest.hexdigest()
    return out
