"""Model turns: each turn the language model was asked about, its commands (without values) and its cost.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-05 09:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'model_turns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('stage', sa.String(length=40), nullable=False),
        sa.Column('outcome', sa.String(length=40), nullable=False),
        sa.Column('commands', sa.JSON(), nullable=True),
        sa.Column('model', sa.String(length=120), nullable=True),
        sa.Column('input_tokens', sa.Integer(), nullable=False),
        sa.Column('output_tokens', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('model_turns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_turns_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_turns_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('model_turns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_turns_created_at'))
        batch_op.drop_index(batch_op.f('ix_model_turns_lead_id'))
    op.drop_table('model_turns')
