"""outbox priority (urgent requests' first events go first)

Revision ID: followup_outbox_priority
Revises: 0a15eb880e12
"""

from collections.abc import Sequence

from shared.migration_ops import add_outbox_priority, drop_outbox_priority

revision: str = "followup_outbox_priority"
down_revision: str | None = "0a15eb880e12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_priority()


def downgrade() -> None:
    drop_outbox_priority()
