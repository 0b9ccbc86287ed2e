"""Stage stays: each stage event records how long the lead had been at the stage it left.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# The stay that an event ends began at the lead's previous stage event.
_SECONDS = {
    "postgresql": "EXTRACT(EPOCH FROM (stage_events.at - previous.entered_at))",
    "sqlite": "(julianday(stage_events.at) - julianday(previous.entered_at)) * 86400.0",
}
_BACKFILL = """
UPDATE stage_events SET stay_seconds = {seconds}
FROM (SELECT id, lag(at) OVER (PARTITION BY lead_id ORDER BY at, id) AS entered_at FROM stage_events) AS previous
WHERE previous.id = stage_events.id AND previous.entered_at IS NOT NULL
"""


def upgrade():
    with op.batch_alter_table('stage_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stay_seconds', sa.Float(), nullable=True))
        batch_op.create_index('ix_stage_events_at_from_stay', ['at', 'from_stage', 'stay_seconds'], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect in _SECONDS:
        op.execute(_BACKFILL.format(seconds=_SECONDS[dialect]))


def downgrade():
    with op.batch_alter_table('stage_events', schema=None) as batch_op:
        batch_op.drop_index('ix_stage_events_at_from_stay')
        batch_op.drop_column('stay_seconds')
