"""Parks get a province (for national totals).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("parks") as batch:
        batch.add_column(sa.Column("province", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("parks") as batch:
        batch.drop_column("province")
