"""management reviews: one record per year (the meeting, its decisions, the approval)

Revision ID: 0016_management_reviews
Revises: 0015_rating_scales
"""
import sqlalchemy as sa
from alembic import op

import webapp.db

revision = '0016_management_reviews'
down_revision = '0015_rating_scales'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('management_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=True),
    sa.Column('attendees', sa.Text(), nullable=False),
    sa.Column('conclusions', sa.Text(), nullable=False),
    sa.Column('follow_up', sa.JSON(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_name', sa.String(length=120), nullable=False),
    sa.Column('approved_at', webapp.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', webapp.db.UTCDateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_management_reviews_approved_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_management_reviews_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_management_reviews_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_reviews')),
    sa.UniqueConstraint('year', name=op.f('uq_management_reviews_year'))
    )
    op.create_table('management_review_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('responsible', sa.String(length=120), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['corrective_actions.id'],
                            name=op.f('fk_management_review_items_action_id_corrective_actions')),
    sa.ForeignKeyConstraint(['review_id'], ['management_reviews.id'],
                            name=op.f('fk_management_review_items_review_id_management_reviews')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_review_items'))
    )
    with op.batch_alter_table('management_review_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_management_review_items_review_id'), ['review_id'], unique=False)


def downgrade():
    with op.batch_alter_table('management_review_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_management_review_items_review_id'))

    op.drop_table('management_review_items')
    op.drop_table('management_reviews')
