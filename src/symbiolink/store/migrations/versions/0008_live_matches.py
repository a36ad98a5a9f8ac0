"""Live matches: the current matches of every stream (both ways), kept with each change of the
registry, and the log of changes that lets every server process bring its index up to date.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("table_version", sa.Integer(), nullable=False),
    )
    # Its one row is made by the first change (an empty database stays empty for restores).
    op.create_table(
        "live_changes",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parks", sa.JSON(), nullable=False),
        sa.Column("companies", sa.JSON(), nullable=False),
        sa.Column("streams", sa.JSON(), nullable=False),
    )
    op.create_table(
        "live_matches",
        sa.Column(
            "stream_id",
            sa.String(128),
            sa.ForeignKey("streams.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("rank", sa.Integer(), primary_key=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column(
            "company_id",
            sa.String(128),
            sa.ForeignKey("companies.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "other_stream_id", sa.String(128), sa.ForeignKey("streams.id", ondelete="SET NULL")
        ),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("use", sa.Text(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("distance_km", sa.Float()),
    )


def downgrade() -> None:
    op.drop_table("live_matches")
    op.drop_table("live_changes")
    op.drop_table("live_state")
