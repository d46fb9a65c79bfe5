"""many practitioners

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('practitioners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('telegram_token', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('telegram_webhook_secret', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('whatsapp_from', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('password_hash', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_practitioners_whatsapp_from'), ['whatsapp_from'])


def downgrade() -> None:
    with op.batch_alter_table('practitioners', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_practitioners_whatsapp_from'), type_='unique')
        batch_op.drop_column('password_hash')
        batch_op.drop_column('timezone')
        batch_op.drop_column('whatsapp_from')
        batch_op.drop_column('telegram_webhook_secret')
        batch_op.drop_column('telegram_token')
