"""counts per department x measure x day, and the indexes the figures' queries use

Revision ID: 0006_scale_counts
Revises: kpi_outbox_priority
"""

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_scale_counts"
down_revision: str | None = "0006_person_chases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMES = (
    "received_at",
    "routed_at",
    "accept_due",
    "accepted_at",
    "first_contact_due",
    "contacted_at",
    "resolve_due",
    "resolve_due_original",
    "resolved_at",
    "feedback_due",
    "feedback_at",
    "rated_at",
    "closed_at",
    "last_event_at",
)
_OPEN = (
    ("ix_facts_open_accept", "accept_due", "accepted_at IS NULL AND excluded IS NULL"),
    ("ix_facts_open_resolve", "resolve_due", "resolved_at IS NULL AND excluded IS NULL"),
    (
        "ix_facts_open_feedback",
        "feedback_due",
        "feedback_at IS NULL AND resolved_at IS NOT NULL AND excluded IS NULL",
    ),
)


def upgrade() -> None:
    op.create_table(
        "counts",
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("measure", sa.String(length=250), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("department", "measure", "day", name=op.f("pk_counts")),
    )
    op.create_index("ix_counts_day", "counts", ["day", "department", "measure"], postgresql_include=["n"])
    op.create_table(
        "repeats",
        sa.Column("bucket", sa.String(length=10), nullable=False),
        sa.Column("requester_ref", sa.String(length=100), nullable=False),
        sa.Column("topic_key", sa.String(length=100), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "requester_ref", "topic_key", name=op.f("pk_repeats")),
    )
    op.create_index(
        "ix_repeats_bucket_n", "repeats", ["bucket", sa.text("n DESC")], postgresql_where=sa.text("n > 1")
    )
    op.create_index(
        "ix_facts_received_requester",
        "facts",
        ["received_at"],
        postgresql_include=["requester_ref", "topic", "category"],
    )
    for name, column, where in _OPEN:
        op.create_index(
            name, "facts", [column], postgresql_include=["lead_department"], postgresql_where=sa.text(where)
        )
    for column in _TIMES:
        op.create_index(
            f"ix_facts_excluded_{column}", "facts", [column], postgresql_where=sa.text("excluded IS NOT NULL")
        )
    _backfill()


def _backfill() -> None:
    """Count the fact rows already there (the same code the write path uses)."""
    from services.kpi import store

    bind = op.get_bind()
    total: Counter[tuple[str, str, object]] = Counter()
    # The table as it is at this revision (the model may have gained columns since), read
    # in key order a part at a time (a server-side cursor would hold the table against
    # the ALTERs of later revisions in the same transaction).
    facts = sa.Table("facts", sa.MetaData(), autoload_with=bind)
    after = ""
    while True:
        part = (
            bind.execute(
                sa.select(facts).where(facts.c.request_id > after).order_by(facts.c.request_id).limit(5000)
            )
            .mappings()
            .all()
        )
        if not part:
            break
        counted, _ = store.count_all(dict(r) for r in part)
        total.update(counted)
        after = part[-1]["request_id"]
    rows = [
        {"department": d, "measure": m, "day": day, "n": n} for (d, m, day), n in sorted(total.items()) if n
    ]
    for start in range(0, len(rows), 5000):
        bind.execute(postgresql.insert(store.counts), rows[start : start + 5000])


def downgrade() -> None:
    for column in _TIMES:
        op.drop_index(f"ix_facts_excluded_{column}", table_name="facts")
    for name, _, _ in _OPEN:
        op.drop_index(name, table_name="facts")
    op.drop_index("ix_facts_received_requester", table_name="facts")
    op.drop_index("ix_repeats_bucket_n", table_name="repeats")
    op.drop_table("repeats")
    op.drop_index("ix_counts_day", table_name="counts")
    op.drop_table("counts")
