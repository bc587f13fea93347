"""indexes for the keyset pages of the knowledge base's lists (newest first)

Revision ID: 0010_me_kb_pages
Revises: 0009_dup_matter
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_me_kb_pages"
down_revision: str | None = "0009_dup_matter"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_kb_articles_recent", ["updated_at", "id"]),
    ("ix_kb_articles_status_recent", ["status", "updated_at", "id"]),
)


def upgrade() -> None:
    for name, columns in _INDEXES:
        op.create_index(name, "kb_articles", columns)


def downgrade() -> None:
    for name, _ in _INDEXES:
        op.drop_index(name, table_name="kb_articles")
