"""Migration steps every service's first revision shares: the outbox and inbox tables
(version 1 of their shape, written out here once so later changes get revisions of their own)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


def create_messaging_tables() -> None:
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )


def drop_messaging_tables() -> None:
    op.drop_index(
        "ix_outbox_unpublished", table_name="outbox", postgresql_where=sa.text("published_at IS NULL")
    )
    op.drop_table("outbox")
    op.drop_table("inbox")


def add_outbox_priority() -> None:
    """Version 2 of the outbox: a priority for urgent requests' first events."""
    op.add_column("outbox", sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False))
    op.create_index(
        "ix_outbox_unpublished_urgent",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL AND priority > 0"),
    )


def drop_outbox_priority() -> None:
    op.drop_index(
        "ix_outbox_unpublished_urgent",
        table_name="outbox",
        postgresql_where=sa.text("published_at IS NULL AND priority > 0"),
    )
    op.drop_column("outbox", "priority")


def add_delivery_retention_indexes() -> None:
    """Version 3 of the outbox and inbox: indexes for pruning them by age (shared/retention.py)."""
    op.create_index(
        "ix_outbox_published",
        "outbox",
        ["published_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.create_index("ix_inbox_applied_at", "inbox", ["applied_at"], unique=False)


def drop_delivery_retention_indexes() -> None:
    op.drop_index("ix_inbox_applied_at", table_name="inbox")
    op.drop_index("ix_outbox_published", table_name="outbox")
