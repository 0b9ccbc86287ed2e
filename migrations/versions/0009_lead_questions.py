"""Lead questions: what leads asked, answered from the knowledge or noted for the specialist.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 08:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lead_questions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=False),
        sa.Column('stage', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('text', sa.String(length=200), nullable=False),
        sa.Column('folded', sa.String(length=200), nullable=False),
        sa.Column('answered', sa.Boolean(), nullable=False),
        sa.Column('topic', sa.String(length=60), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('lead_questions', schema=None) as batch_op:
        batch_op.create_index('ix_lead_questions_answered_folded', ['answered', 'folded'], unique=False)
        batch_op.create_index(batch_op.f('ix_lead_questions_lead_id'), ['lead_id'], unique=False)


def downgrade():
    with op.batch_alter_table('lead_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_questions_lead_id'))
        batch_op.drop_index('ix_lead_questions_answered_folded')
    op.drop_table('lead_questions')
