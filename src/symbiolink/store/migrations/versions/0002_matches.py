"""Stored match results, for the platform.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parks", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
    )
    op.create_table(
        "matches",
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("match_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "supply_id",
            sa.String(128),
            sa.ForeignKey("streams.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("rank", sa.Integer(), primary_key=True),
        sa.Column(
            "receiver_id",
            sa.String(128),
            sa.ForeignKey("companies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("demand_id", sa.String(128), sa.ForeignKey("streams.id", ondelete="SET NULL")),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("use", sa.Text(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("distance_km", sa.Float()),
    )
    op.create_index("ix_matches_receiver_id", "matches", ["receiver_id"])


def downgrade() -> None:
    op.drop_table("matches")
    op.drop_table("match_runs")
