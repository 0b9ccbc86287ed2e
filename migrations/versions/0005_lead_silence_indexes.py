"""Indexes for the sweep: leads by last inbound message, and open threads by last inbound message.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OPEN_THREAD = sa.text('current_thread_id IS NOT NULL')


def upgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index('ix_leads_last_inbound_at', ['last_inbound_at'], unique=False)
        batch_op.create_index('ix_leads_open_thread_inbound', ['last_inbound_at'], unique=False,
                              postgresql_where=OPEN_THREAD, sqlite_where=OPEN_THREAD)


def downgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('ix_leads_open_thread_inbound')
        batch_op.drop_index('ix_leads_last_inbound_at')
