"""practitioner payments

Each practitioner's own payment keys: a Telegram payment provider token and Stripe's API key and
webhook signing secret (bot/platform/tenants.py builds her Payments from them).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("practitioners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("telegram_payment_token", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("stripe_api_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("stripe_webhook_secret", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("practitioners", schema=None) as batch_op:
        batch_op.drop_column("stripe_webhook_secret")
        batch_op.drop_column("stripe_api_key")
        batch_op.drop_column("telegram_payment_token")
