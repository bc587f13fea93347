"""requests: indexes for the agent's caller lookup (by phone, by pseudonym)

Revision ID: 0007_console_requester_lookup
Revises: intake_outbox_priority
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_console_requester_lookup"
down_revision: str | None = "0007_person_recipient"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_requests_requester_ref", "requests", ["requester_ref"])
    op.create_index("ix_requests_requester_phone", "requests", [sa.text("(requester ->> 'phone')")])


def downgrade() -> None:
    op.drop_index("ix_requests_requester_phone", table_name="requests")
    op.drop_index("ix_requests_requester_ref", table_name="requests")
