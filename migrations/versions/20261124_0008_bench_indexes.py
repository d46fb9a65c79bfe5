"""bench indexes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 08:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Found by bench/bigqueue.py at 40,000 open requests: see storage/models.py Request.
INDEXES = {
    "ix_requests_open": ["practitioner_id", "stage", "service", "is_emergency"],
    "ix_requests_lane": ["practitioner_id", "service", "is_emergency", "stage", "submitted_at", "id"],
    "ix_requests_done": ["practitioner_id", "service", "done_at"],
}
BOOKINGS = {"ix_bookings_client": ["client_id"]}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "requests", columns, unique=False)
    for name, columns in BOOKINGS.items():
        op.create_index(name, "bookings", columns, unique=False)


def downgrade() -> None:
    for name in BOOKINGS:
        op.drop_index(name, table_name="bookings")
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="requests")
