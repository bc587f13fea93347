"""index for Open311 requests.json (a channel's requests by submission time)

Revision ID: 0008_scale_intake_pages
Revises: 0007_scale_intake_retention
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_scale_intake_pages"
down_revision: str | None = "0007_scale_intake_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_requests_channel_submitted", "requests", ["channel", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_requests_channel_submitted", table_name="requests")
