"""The registry: parks, companies, streams and the log of imports.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
    )
    op.create_table(
        "parks",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("imports.id", ondelete="SET NULL")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "companies",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column(
            "park_id", sa.String(128), sa.ForeignKey("parks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("isic", sa.String(16)),
        sa.Column("nace", sa.String(16)),
        sa.Column("vsic", sa.String(16)),
        sa.Column("sector_isic", sa.String(8)),
        sa.Column("description", sa.Text()),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_companies_park_id", "companies", ["park_id"])
    op.create_index("ix_companies_sector_isic", "companies", ["sector_isic"])
    op.create_table(
        "streams",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column(
            "company_id",
            sa.String(128),
            sa.ForeignKey("companies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("ewc", sa.String(16)),
        sa.Column("ewc_code", sa.String(6)),
        sa.Column("hazardous", sa.Boolean(), nullable=False),
        sa.Column("quantity", sa.Float()),
        sa.Column("unit", sa.String(64)),
        sa.Column("quantity_canonical", sa.Float()),
        sa.Column("unit_canonical", sa.String(16)),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_streams_company_id", "streams", ["company_id"])
    op.create_index("ix_streams_ewc_code", "streams", ["ewc_code"])
    op.create_index("ix_streams_kind_direction", "streams", ["kind", "direction"])


def downgrade() -> None:
    op.drop_table("streams")
    op.drop_table("companies")
    op.drop_table("parks")
    op.drop_table("imports")
