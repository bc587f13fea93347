"""facts count the first responder's chases (催办)

Revision ID: 0006_person_chases
Revises: kpi_outbox_priority
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_person_chases"
down_revision: str | None = "kpi_outbox_priority"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("facts", sa.Column("chases", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("facts", "chases")
