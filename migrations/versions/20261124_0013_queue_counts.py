"""queue counts

Open requests per service and day, hour and minute of submission (storage/queue_counts.py): a
position and the queue lengths without counting the whole queue. Filled from the open requests.
And ix_requests_next: the request /next takes, found by index.
Written alongside 0013 and 0012 (which revise 0010): chained after them, so there is one head.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = "('submitted', 'queued', 'in_work')"
# storage/queue_counts.py, as of this revision: level → seconds per bucket; 3 is the one row per
# service of open requests never submitted.
LEVELS = {0: 60, 1: 3600, 2: 86400}
UNSUBMITTED = 3


def upgrade() -> None:
    op.create_table(
        "queue_counts",
        sa.Column("practitioner_id", ID, nullable=False),
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"], ["practitioners.id"], name=op.f("fk_queue_counts_practitioner_id_practitioners")
        ),
        sa.PrimaryKeyConstraint("practitioner_id", "level", "service", "bucket", name=op.f("pk_queue_counts")),
    )
    # Whole seconds since 1970 UTC, the fraction dropped (the service floors too). SQLite keeps
    # UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff' (storage/models.UtcDateTime): its strftime would
    # round .9995 up to the next second, so the fraction is cut off first.
    if op.get_bind().dialect.name == "postgresql":
        epoch = "CAST(floor(extract(epoch FROM submitted_at)) AS BIGINT)"
    else:
        epoch = "CAST(strftime('%s', substr(submitted_at, 1, 19)) AS INTEGER)"
    for level, seconds in LEVELS.items():
        op.execute(
            sa.text(
                "INSERT INTO queue_counts (practitioner_id, level, service, bucket, n) "
                f"SELECT practitioner_id, {level}, service, at / {seconds}, count(*) "
                f"FROM (SELECT practitioner_id, service, {epoch} AS at FROM requests "
                f"WHERE stage IN {OPEN} AND submitted_at IS NOT NULL) AS queued "
                f"GROUP BY practitioner_id, service, at / {seconds}"
            )
        )
    op.execute(
        sa.text(
            "INSERT INTO queue_counts (practitioner_id, level, service, bucket, n) "
            f"SELECT practitioner_id, {UNSUBMITTED}, service, 0, count(*) FROM requests "
            f"WHERE stage IN {OPEN} AND submitted_at IS NULL GROUP BY practitioner_id, service"
        )
    )

    # /next's pick without reading the queue (storage/practice.py `next_queued`).
    op.create_index(
        "ix_requests_next",
        "requests",
        ["practitioner_id", "stage", "is_emergency", "deadline_at", "submitted_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_requests_next", table_name="requests")
    op.drop_table("queue_counts")
