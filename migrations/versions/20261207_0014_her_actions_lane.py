"""her actions' lane

A priority between alerts and replies for what she does for a client (/done, /reply, /paid,
/next, restrictions, a moved call): flows/model.Priority gains ACTION = 1, and the lower
priorities move down one. Rows already queued keep their order relative to each other.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE outbox SET priority = priority + 1 WHERE priority >= 1")


def downgrade() -> None:
    op.execute("UPDATE outbox SET priority = priority - 1 WHERE priority >= 2")
