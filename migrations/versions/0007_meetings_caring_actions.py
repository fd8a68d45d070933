"""meetings, caring services, corrective & preventive actions

Owners'-committee meetings with their issues and staff, caring-service records, and the
corrective/preventive actions (CAPA) with their one-open-action-per-source key.

Revision ID: 0007_meetings_caring_actions
Revises: 0006_complaints
"""
import sqlalchemy as sa
from alembic import op

import webapp.db

revision = '0007_meetings_caring_actions'
down_revision = '0006_complaints'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('caring_services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('served_on', sa.Date(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('household', sa.String(length=60), nullable=False),
    sa.Column('service', sa.String(length=120), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('owner_comment', sa.Text(), nullable=False),
    sa.Column('created_at', webapp.db.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('voided_at', webapp.db.UTCDateTime(), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_caring_services_created_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_caring_services_project_id_projects')),
    sa.ForeignKeyConstraint(['staff_id'], ['users.id'], name=op.f('fk_caring_services_staff_id_users')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_caring_services_voided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caring_services'))
    )
    with op.batch_alter_table('caring_services', schema=None) as batch_op:
        batch_op.create_index('ix_caring_services_project_served', ['project_id', 'served_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_caring_services_served_on'), ['served_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_caring_services_staff_id'), ['staff_id'], unique=False)

    op.create_table('corrective_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('source_type', sa.String(length=30), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('open_key', sa.String(length=60), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('cause_analysis', sa.Text(), nullable=False),
    sa.Column('planned_action', sa.Text(), nullable=False),
    sa.Column('action_taken', sa.Text(), nullable=False),
    sa.Column('responsible_department_id', sa.Integer(), nullable=True),
    sa.Column('responsible_user_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('verification_result', sa.Text(), nullable=False),
    sa.Column('effective', sa.Boolean(), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', webapp.db.UTCDateTime(), nullable=True),
    sa.Column('closed_at', webapp.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', webapp.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided_at', webapp.db.UTCDateTime(), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_corrective_actions_created_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_corrective_actions_project_id_projects')),
    sa.ForeignKeyConstraint(['responsible_department_id'], ['departments.id'], name=op.f('fk_corrective_actions_responsible_department_id_departments')),
    sa.ForeignKeyConstraint(['responsible_user_id'], ['users.id'], name=op.f('fk_corrective_actions_responsible_user_id_users')),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_corrective_actions_verified_by_id_users')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_corrective_actions_voided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_corrective_actions')),
    sa.UniqueConstraint('open_key', name=op.f('uq_corrective_actions_open_key'))
    )
    with op.batch_alter_table('corrective_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_corrective_actions_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_corrective_actions_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_corrective_actions_source', ['source_type', 'source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_corrective_actions_status'), ['status'], unique=False)

    op.create_table('meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('attendees', sa.Text(), nullable=False),
    sa.Column('topics', sa.Text(), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('created_at', webapp.db.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', webapp.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided_at', webapp.db.UTCDateTime(), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_meetings_created_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_meetings_project_id_projects')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_meetings_voided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings'))
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meetings_held_on'), ['held_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_meetings_project_id'), ['project_id'], unique=False)

    op.create_table('meeting_issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['service_categories.id'], name=op.f('fk_meeting_issues_category_id_service_categories')),
    sa.ForeignKeyConstraint(['entry_id'], ['complaints.id'], name=op.f('fk_meeting_issues_entry_id_complaints')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_issues_meeting_id_meetings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_issues'))
    )
    with op.batch_alter_table('meeting_issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_issues_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_issues_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('meeting_staff',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_staff_meeting_id_meetings')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_meeting_staff_user_id_users')),
    sa.PrimaryKeyConstraint('meeting_id', 'user_id', name=op.f('pk_meeting_staff'))
    )


def downgrade():
    op.drop_table('meeting_staff')
    with op.batch_alter_table('meeting_issues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_issues_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_issues_entry_id'))

    op.drop_table('meeting_issues')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meetings_project_id'))
        batch_op.drop_index(batch_op.f('ix_meetings_held_on'))

    op.drop_table('meetings')
    with op.batch_alter_table('corrective_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_corrective_actions_status'))
        batch_op.drop_index('ix_corrective_actions_source')
        batch_op.drop_index(batch_op.f('ix_corrective_actions_project_id'))
        batch_op.drop_index(batch_op.f('ix_corrective_actions_due_on'))

    op.drop_table('corrective_actions')
    with op.batch_alter_table('caring_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caring_services_staff_id'))
        batch_op.drop_index(batch_op.f('ix_caring_services_served_on'))
        batch_op.drop_index('ix_caring_services_project_served')

    op.drop_table('caring_services')
