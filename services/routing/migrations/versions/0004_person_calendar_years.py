"""calendar years (provisional until the State Council notice is entered) and when each
route's clocks started (to recompute due times when the calendar changes)

Revision ID: 0004_person_calendar_years
Revises: routing_outbox_priority
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_person_calendar_years"
down_revision: str | None = "0004_dispatch_matters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("source", sa.String(30), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("notice", sa.String(500)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.add_column("routes", sa.Column("clocks_started_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("routes", "clocks_started_at")
    op.drop_table("calendar_years")
