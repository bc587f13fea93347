"""since when the lead department's clocks stand still (a pause while it waits on the
person), so that where a request stands shows it as paused, not counting down

Revision ID: 0005_me_route_paused
Revises: 0004_person_calendar_years
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_me_route_paused"
down_revision: str | None = "0004_person_calendar_years"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("routes", sa.Column("paused_since", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("routes", "paused_since")
