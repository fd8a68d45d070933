"""documents in the store that cannot be synced, listed for document controllers

Revision ID: 0010_store_problems
Revises: 0009_meeting_minutes_html
"""
import sqlalchemy as sa
from alembic import op

import webapp.db

revision = '0010_store_problems'
down_revision = '0009_meeting_minutes_html'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('store_problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=60), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('commit', sa.String(length=40), nullable=False),
    sa.Column('blob', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('author_email', sa.String(length=200), nullable=False),
    sa.Column('committed_at', webapp.db.UTCDateTime(), nullable=True),
    sa.Column('found_at', webapp.db.UTCDateTime(), nullable=False),
    sa.Column('resolved_at', webapp.db.UTCDateTime(), nullable=True),
    sa.Column('resolved_by', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_problems')),
    sa.UniqueConstraint('path', 'commit', name='uq_store_problems_path_commit')
    )
    with op.batch_alter_table('store_problems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_store_problems_code'), ['code'], unique=False)
    # Re-check every version already mirrored against the new rules (date range, clean text,
    # no YAML aliases): forgetting the synced head makes the next sync a full rebuild, which
    # records the versions that break them here instead of keeping them in the catalogue.
    store_state = sa.table('store_state', sa.column('key', sa.String()))
    op.execute(store_state.delete().where(store_state.c.key.in_(['main.head', 'main.length'])))


def downgrade():
    with op.batch_alter_table('store_problems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_store_problems_code'))

    op.drop_table('store_problems')
