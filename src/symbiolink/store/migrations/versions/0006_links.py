"""Links between companies and their workflow: suggested to operating, each step timestamped and
attributed; measured monthly quantities of operating links.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "supply_id",
            sa.String(128),
            sa.ForeignKey("streams.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "receiver_id",
            sa.String(128),
            sa.ForeignKey("companies.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("demand_id", sa.String(128), sa.ForeignKey("streams.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float()),
        sa.Column("use", sa.Text(), nullable=False, server_default=""),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("distance_km", sa.Float()),
        sa.Column("supplier_consent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("receiver_consent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("supply_id", "receiver_id", name="uq_links_supply_receiver"),
    )
    op.create_table(
        "link_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "link_id",
            sa.Integer(),
            sa.ForeignKey("links.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
    )
    op.create_table(
        "link_measurements",
        sa.Column(
            "link_id", sa.Integer(), sa.ForeignKey("links.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
    )


def downgrade() -> None:
    op.drop_table("link_measurements")
    op.drop_table("link_events")
    op.drop_table("links")
