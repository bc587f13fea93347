"""the matter (事项) on each fact row, for hot spots by matter and by matter at one place

Revision ID: 0008_hot_matter
Revises: 0007_scale_kpi_retention
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_hot_matter"
down_revision: str | None = "0007_scale_kpi_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows folded before have no matter: they add to no matter hot spot, so the counts
    # stay equal to a recount without a backfill.
    op.add_column("facts", sa.Column("matter", sa.String(100)))


def downgrade() -> None:
    op.drop_column("facts", "matter")
