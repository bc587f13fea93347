"""one message per recipient: notifications name the staff member they are for

Revision ID: 0007_person_recipient
Revises: intake_outbox_priority
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_person_recipient"
down_revision: str | None = "intake_outbox_priority"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("recipient", sa.String(200), nullable=False, server_default=""))
    op.drop_constraint("uq_notifications_cause", "notifications", type_="unique")
    op.create_unique_constraint(
        "uq_notifications_cause",
        "notifications",
        ["cause_event_id", "request_id", "audience", "channel", "recipient"],
    )
    op.create_table(
        "chases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(36), nullable=False, index=True),
        sa.Column("department", sa.String(50)),
        sa.Column("chased_by", sa.String(200), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("chased_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chases")
    op.drop_constraint("uq_notifications_cause", "notifications", type_="unique")
    op.create_unique_constraint(
        "uq_notifications_cause", "notifications", ["cause_event_id", "request_id", "audience", "channel"]
    )
    op.drop_column("notifications", "recipient")
