"""indexes for the keyset pages of revisits and rectifications

Revision ID: 0007_scale_followup_pages
Revises: 0006_scale_followup_retention
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_scale_followup_pages"
down_revision: str | None = "0006_scale_followup_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_revisits_state_due_key", "revisits", ["state", "due", "id"], None),
    ("ix_rectifications_due_key", "rectifications", ["due", "id"], None),
    ("ix_rectifications_open_due_key", "rectifications", ["due", "id"], "outcome IS NULL"),
    ("ix_rectifications_department_due_key", "rectifications", ["department", "due", "id"], None),
)


def upgrade() -> None:
    for name, table, columns, where in _INDEXES:
        op.create_index(name, table, columns, postgresql_where=sa.text(where) if where else None)


def downgrade() -> None:
    for name, table, _, _ in _INDEXES:
        op.drop_index(name, table_name=table)
