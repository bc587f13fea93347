"""indexes for the keyset pages of the dispatch queue (per state, urgent first, oldest
first) and of the staff directory (by department or role, then id)

Revision ID: 0006_me_list_indexes
Revises: 0005_me_route_paused
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_me_list_indexes"
down_revision: str | None = "0005_me_route_paused"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "dispatch_queue_by_state_in_order",
        "dispatch_queue",
        ["state", sa.text("(NOT urgent)"), "queued_at", "request_id"],
    )
    op.create_index("staff_by_department", "staff", ["department", "id"])
    op.create_index("staff_by_role", "staff", ["role", "id"])


def downgrade() -> None:
    op.drop_index("staff_by_role", "staff")
    op.drop_index("staff_by_department", "staff")
    op.drop_index("dispatch_queue_by_state_in_order", "dispatch_queue")
