"""Database tables of the registry (SQLAlchemy 2 declarative models).

The schema is owned by the Alembic migrations in ``store/migrations``; these models describe it for
queries. Parks, companies and streams keep the park file's ids as primary keys, so re-importing a
park updates it in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class ParkRow(Base):
    __tablename__ = "parks"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    province: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer, default=0)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    companies: Mapped[list[CompanyRow]] = relationship(
        back_populates="park_row", passive_deletes=True
    )


class CompanyRow(Base):
    __tablename__ = "companies"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    park_id: Mapped[str] = mapped_column(ForeignKey("parks.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    isic: Mapped[str | None] = mapped_column(String(16))
    nace: Mapped[str | None] = mapped_column(String(16))
    vsic: Mapped[str | None] = mapped_column(String(16))
    sector_isic: Mapped[str | None] = mapped_column(String(8), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer, default=0)

    park_row: Mapped[ParkRow] = relationship(back_populates="companies")


class StreamRow(Base):
    __tablename__ = "streams"
    __table_args__ = (Index("ix_streams_kind_direction", "kind", "direction"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    ewc: Mapped[str | None] = mapped_column(String(16))
    """As the user wrote it; ``ewc_code`` is the six digits."""
    ewc_code: Mapped[str | None] = mapped_column(String(6), index=True)
    hazardous: Mapped[bool] = mapped_column(Boolean, default=False)
    quantity: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(64))
    quantity_canonical: Mapped[float | None] = mapped_column(Float)
    unit_canonical: Mapped[str | None] = mapped_column(String(16))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    private_fields: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    """What the company keeps from others until an introduction: quantity, price, disposal_cost,
    identity."""


class ImportRow(Base):
    """One import of a park file: what, when, and what it changed."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MatchRunRow(Base):
    """One run of the matcher over some parks, with its parameters."""

    __tablename__ = "match_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    parks: Mapped[list[str]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)


class MatchRow(Base):
    __tablename__ = "matches"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("match_runs.id", ondelete="CASCADE"), primary_key=True
    )
    supply_id: Mapped[str] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    receiver_id: Mapped[str] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    demand_id: Mapped[str | None] = mapped_column(ForeignKey("streams.id", ondelete="SET NULL"))
    score: Mapped[float] = mapped_column(Float)
    use: Mapped[str] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    sources: Mapped[list[str]] = mapped_column(JSON)
    distance_km: Mapped[float | None] = mapped_column(Float)


class OptimizationRunRow(Base):
    """One solved network: the objective, its value and the whole result (flows, totals, reasons)."""

    __tablename__ = "optimization_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    parks: Mapped[list[str]] = mapped_column(JSON)
    objective: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    park_id: Mapped[str | None] = mapped_column(ForeignKey("parks.id", ondelete="SET NULL"))
    company_id: Mapped[str | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FacilitatorParkRow(Base):
    __tablename__ = "facilitator_parks"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    park_id: Mapped[str] = mapped_column(
        ForeignKey("parks.id", ondelete="CASCADE"), primary_key=True
    )


class ApiTokenRow(Base):
    """A bearer token, stored as its SHA-256 (the token itself is shown once)."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """Who read or changed confidential data, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    object: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LinkRow(Base):
    """A proposed or real exchange between a supply and a receiving company, with its workflow."""

    __tablename__ = "links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    supply_id: Mapped[str] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    receiver_id: Mapped[str] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    demand_id: Mapped[str | None] = mapped_column(ForeignKey("streams.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    use: Mapped[str] = mapped_column(Text, default="")
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    distance_km: Mapped[float | None] = mapped_column(Float)
    supplier_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    receiver_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LinkEventRow(Base):
    __tablename__ = "link_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))


class LinkMeasurementRow(Base):
    __tablename__ = "link_measurements"

    link_id: Mapped[int] = mapped_column(
        ForeignKey("links.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class JobRow(Base):
    """An evaluation or optimization run requested on the platform, run in the background.

    ``view`` is whose view of the park the job computes on (``full``, ``brokers`` or
    ``company:<id>``), so its result shows no figure its readers may not see."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    park_id: Mapped[str] = mapped_column(ForeignKey("parks.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    view: Mapped[str] = mapped_column(String(160))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str | None] = mapped_column(String(128))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class LiveStateRow(Base):
    """One row: the version of the registry (each change adds one) and the version the live
    matches were last written for."""

    __tablename__ = "live_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    table_version: Mapped[int] = mapped_column(Integer)


class LiveChangeRow(Base):
    """What one change of the registry touched (ids of parks, companies, streams)."""

    __tablename__ = "live_changes"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    parks: Mapped[list[str]] = mapped_column(JSON)
    companies: Mapped[list[str]] = mapped_column(JSON)
    streams: Mapped[list[str]] = mapped_column(JSON)


class LiveMatchRow(Base):
    """A current match of a stream: for a supply, a receiving company (and its demand that
    fits); for a demand, a supply (and its company) that could meet it."""

    __tablename__ = "live_matches"

    stream_id: Mapped[str] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))
    company_id: Mapped[str] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    """The other side: the receiver of a supply, the supplier of a demand."""
    other_stream_id: Mapped[str | None] = mapped_column(
        ForeignKey("streams.id", ondelete="SET NULL")
    )
    """The receiver's demand that fits (or none), or the supply that meets the demand."""
    score: Mapped[float] = mapped_column(Float)
    use: Mapped[str] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    sources: Mapped[list[str]] = mapped_column(JSON)
    distance_km: Mapped[float | None] = mapped_column(Float)
