"""Bookings: meetings booked by qualified leads, one active booking per slot.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 02:46:48.127292

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('token', sa.String(length=43), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookings_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index('uq_bookings_active_start', ['start_at'], unique=True, postgresql_where=sa.text("status = 'booked'"), sqlite_where=sa.text("status = 'booked'"))



def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('uq_bookings_active_start', postgresql_where=sa.text("status = 'booked'"), sqlite_where=sa.text("status = 'booked'"))
        batch_op.drop_index(batch_op.f('ix_bookings_lead_id'))

    op.drop_table('bookings')
