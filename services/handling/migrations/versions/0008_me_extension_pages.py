"""indexes for the keyset pages of extension requests

Revision ID: 0008_me_extension_pages
Revises: 0007_scale_handling_pages
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_me_extension_pages"
down_revision: str | None = "0007_scale_handling_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_extensions_state_key", ["state", "requested_at", "id"]),
    ("ix_extensions_department_state_key", ["department", "state", "requested_at", "id"]),
    ("ix_extensions_key", ["requested_at", "id"]),
)


def upgrade() -> None:
    for name, columns in _INDEXES:
        op.create_index(name, "extensions", columns)


def downgrade() -> None:
    for name, _ in _INDEXES:
        op.drop_index(name, table_name="extensions")
