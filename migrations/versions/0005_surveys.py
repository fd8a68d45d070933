"""owner surveys: campaigns, returned forms and their per-category ratings

Revision ID: 0005_surveys
Revises: 0004_satisfaction_base
"""
from alembic import op
import sqlalchemy as sa

import webapp.db


revision = '0005_surveys'
down_revision = '0004_satisfaction_base'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'survey_campaigns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=40), nullable=False),
        sa.Column('slot', sa.String(length=80), nullable=True),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('distributed', sa.Integer(), nullable=False),
        sa.Column('distributed_on', sa.Date(), nullable=True),
        sa.Column('category_ids', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_at', webapp.db.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', webapp.db.UTCDateTime(), nullable=False),
        sa.Column('closed_at', webapp.db.UTCDateTime(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('voided_at', webapp.db.UTCDateTime(), nullable=True),
        sa.Column('voided_by_id', sa.Integer(), nullable=True),
        sa.Column('void_reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_survey_campaigns_created_by_id_users')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_survey_campaigns_project_id_projects')),
        sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_survey_campaigns_voided_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_campaigns')),
        sa.UniqueConstraint('slot', name=op.f('uq_survey_campaigns_slot')),
    )
    with op.batch_alter_table('survey_campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_survey_campaigns_year_project', ['year', 'project_id'], unique=False)

    op.create_table(
        'survey_responses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('room', sa.String(length=40), nullable=False),
        sa.Column('overall', sa.SmallInteger(), nullable=False),
        sa.Column('comments', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('batch', sa.String(length=32), nullable=True),
        sa.Column('entered_at', webapp.db.UTCDateTime(), nullable=False),
        sa.Column('entered_by_id', sa.Integer(), nullable=True),
        sa.Column('voided_at', webapp.db.UTCDateTime(), nullable=True),
        sa.Column('voided_by_id', sa.Integer(), nullable=True),
        sa.Column('void_reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['survey_campaigns.id'],
                                name=op.f('fk_survey_responses_campaign_id_survey_campaigns')),
        sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_survey_responses_entered_by_id_users')),
        sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_survey_responses_voided_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses')),
    )
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_responses_batch'), ['batch'], unique=False)
        batch_op.create_index('ix_survey_responses_campaign_voided_overall', ['campaign_id', 'voided_at', 'overall'],
                              unique=False)

    op.create_table(
        'survey_answers',
        sa.Column('response_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('rating', sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(['category_id'], ['service_categories.id'],
                                name=op.f('fk_survey_answers_category_id_service_categories')),
        sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'],
                                name=op.f('fk_survey_answers_response_id_survey_responses')),
        sa.PrimaryKeyConstraint('response_id', 'category_id', name=op.f('pk_survey_answers')),
    )


def downgrade():
    op.drop_table('survey_answers')
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_responses_campaign_voided_overall')
        batch_op.drop_index(batch_op.f('ix_survey_responses_batch'))
    op.drop_table('survey_responses')
    with op.batch_alter_table('survey_campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_campaigns_year_project')
    op.drop_table('survey_campaigns')
