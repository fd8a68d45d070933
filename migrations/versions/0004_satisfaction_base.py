"""satisfaction base: service categories and settings

Revision ID: 0004_satisfaction_base
Revises: 0003_acknowledgements
"""
from alembic import op
import sqlalchemy as sa

import webapp.db


revision = '0004_satisfaction_base'
down_revision = '0003_acknowledgements'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'service_categories',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('name_en', sa.String(length=60), nullable=False),
        sa.Column('sort_order', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_categories')),
        sa.UniqueConstraint('code', name=op.f('uq_service_categories_code')),
    )
    op.create_table(
        'settings',
        sa.Column('key', sa.String(length=60), nullable=False),
        sa.Column('value', sa.JSON(), nullable=True),
        sa.Column('updated_at', webapp.db.UTCDateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_settings_updated_by_id_users')),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_settings')),
    )


def downgrade():
    op.drop_table('settings')
    op.drop_table('service_categories')
