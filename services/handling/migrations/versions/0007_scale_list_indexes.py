"""indexes for the keyset pages of overdue, at-risk and supervision orders

Revision ID: 0007_scale_handling_pages
Revises: 0006_scale_handling_retention
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_scale_handling_pages"
down_revision: str | None = "0006_scale_handling_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_clocks_open_due_key", "clocks", ["due", "request_id", "department", "clock"], "stopped_at IS NULL"),
    (
        "ix_clocks_open_department_due_key",
        "clocks",
        ["department", "due", "request_id", "clock"],
        "stopped_at IS NULL",
    ),
    ("ix_supervision_orders_due_key", "supervision_orders", ["due", "id"], None),
    ("ix_supervision_orders_open_due_key", "supervision_orders", ["due", "id"], "answered_at IS NULL"),
    (
        "ix_supervision_orders_department_due_key",
        "supervision_orders",
        ["department", "due", "id"],
        "answered_at IS NULL",
    ),
)


def upgrade() -> None:
    for name, table, columns, where in _INDEXES:
        op.create_index(name, table, columns, postgresql_where=sa.text(where) if where else None)


def downgrade() -> None:
    for name, table, _, _ in _INDEXES:
        op.drop_index(name, table_name=table)
